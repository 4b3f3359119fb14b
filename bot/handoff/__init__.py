"""Handing conversations to people: the conversation router, the queue, agent accounts, the hub
of live updates and what customers are told. No HTTP: the gateway serves it."""
