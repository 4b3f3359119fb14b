"""The trainers' loop: real conversations collected, labelled, trained on and checked. No HTTP:
the gateway's trainer routes serve it."""
