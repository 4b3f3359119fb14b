"""Custom actions of the assistant, one module per business topic, served by rasa_sdk."""
