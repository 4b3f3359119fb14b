"""A web-chat customer through the gateway's HTTP API, for tests on the live system."""

from __future__ import annotations

import time
from typing import Any

import requests


class Chat:
    """A web-chat customer through the gateway's API."""

    def __init__(self, url: str) -> None:
        self.url = url
        started = requests.post(f"{url}/api/conversations", json={}, timeout=10)
        assert started.status_code == 201, started.text
        body = started.json()
        self.id, self.token = body["id"], body["token"]

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def say(self, text: str) -> tuple[list[str], dict[str, Any], float]:
        """The texts that came back, the conversation, and how long the customer waited."""
        started = time.monotonic()
        answer = requests.post(
            f"{self.url}/api/conversations/{self.id}/messages",
            json={"text": text},
            headers=self._auth,
            timeout=30,
        )
        waited = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return [m["text"] for m in body["messages"]], body["conversation"], waited

    def snapshot(self) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/api/conversations/{self.id}", headers=self._auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ask_callback(self, phone: str) -> None:
        answer = requests.post(
            f"{self.url}/api/conversations/{self.id}/callback",
            json={"phone": phone, "when": "mañana por la mañana"},
            headers=self._auth,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
