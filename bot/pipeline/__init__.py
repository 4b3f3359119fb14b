"""The voice pipeline of a call: VAD, recognition, turn-taking, dialogue, synthesis."""
