"""The gateway: channels, terminal chat, process launcher (later: voice pipeline, handoff desk)."""
