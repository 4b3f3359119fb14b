"""Business services behind the actions: plain classes, no Rasa imports."""
