"""The NLU training data as trainers edit it, its checks and reports (Rasa's own components live
in bot.rasa_server)."""
