"""The trainers' loop: real conversations collected, labelled, trained on and checked."""
