"""The one error every layer may raise for the person asking: its text is Spanish for them."""

from __future__ import annotations


class RequestError(Exception):
    """A request that cannot be done as asked; `text` is for the person who asked.

    Attributes:
        status: the HTTP status that says it (400, 401, 403, 404, 409, 413, 422, 429, 502); the
            gateway answers with it, a WebSocket closes or replies with the text.
    """

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
