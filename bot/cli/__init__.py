"""Every command of `python -m bot`: run, serve, chat, call, talk, transcribe, agents, eval, nlu."""
