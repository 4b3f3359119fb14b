"""NLU components loaded by the Rasa server; with bot/channels, the only code importing rasa."""
