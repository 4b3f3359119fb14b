"""The assistant's contract (replies, resuming, the apology and error handoff) and its one async
client."""
