"""The voice pipeline of a call: VAD, recognition, turn-taking, dialogue, synthesis, and the
engines it is built from."""
