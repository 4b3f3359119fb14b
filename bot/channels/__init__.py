"""Channels. Only `rasa_channels` imports rasa: it runs inside the Rasa server."""
