"""Handing conversations to people: the conversation router, the queue, agent accounts, the desk."""
