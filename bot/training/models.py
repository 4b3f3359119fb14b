"""The trained models the running assistant can use, and switching between them.

The models folder is what `rasa run --model models/` reads at start (its newest file), and the
running Rasa servers switch with `PUT /model`. Activating a model does both, in an order that
never leaves them disagreeing: every server first, the folder only once all of them took it; if
one fails, the ones that switched go back to the previous model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

from bot.assistant.client import AssistantClient
from bot.assistant.contract import DialogueUnavailable

logger = logging.getLogger(__name__)
LOAD_TIMEOUT_S = 300.0  # loading a model into a Rasa server takes a few seconds here


class ActivationError(RuntimeError):
    """The Rasa servers could not load the model; the previous one stays active."""


class ModelShelf:
    """The activatable models of `folder`, for the Rasa servers at `rasa_urls`.

    Args:
        folder: the live models folder.
        rasa_urls / token: the running Rasa servers and their API token.
    """

    def __init__(self, folder: Path, rasa_urls: list[str], token: str) -> None:
        self.folder = folder
        self._rasa_urls = rasa_urls
        self._token = token
        self._lock = asyncio.Lock()  # one switch at a time: servers never end up split

    def models(self) -> list[Path]:
        """Newest first."""
        return sorted(self.folder.glob("*.tar.gz"), key=os.path.getmtime, reverse=True)

    async def active(self) -> Path | None:
        """The model the first Rasa server has loaded (the folder's newest if it does not say)."""
        client = AssistantClient(self._rasa_urls, self._token, timeout=5)
        try:
            loaded = await client.loaded_model(self._rasa_urls[0])
        except DialogueUnavailable:
            loaded = ""
        finally:
            await client.close()
        candidates = [self.folder / loaded] if loaded else []
        return next((path for path in [*candidates, *self.models()] if path.is_file()), None)

    async def activate(self, name: str, source: Path | None = None) -> Path:
        """Makes `name` (copied from `source` when given) the model of every Rasa server and the
        newest of the folder. Raises FileNotFoundError for an unknown model, ActivationError
        when a server refuses it."""
        target = self.folder / f"{name}.tar.gz"
        async with self._lock:
            if source is not None and source != target:
                await asyncio.to_thread(shutil.copy2, source, target)
            if not target.is_file() or target.parent != self.folder:
                raise FileNotFoundError(name)
            previous = await self.active()
            switched = await self._load_everywhere(target)
            if switched < len(self._rasa_urls):
                if previous is not None:
                    await self._load_everywhere(previous, self._rasa_urls[:switched])
                raise ActivationError(f"{len(self._rasa_urls) - switched} Rasa server(s) failed")
            os.utime(target)  # the newest: what the servers load after a restart
        logger.info("training.model_activated model=%s", name)
        return target

    async def _load_everywhere(self, model: Path, urls: list[str] | None = None) -> int:
        """How many servers, in order, loaded `model` before one failed."""
        client = AssistantClient(self._rasa_urls, self._token, timeout=LOAD_TIMEOUT_S)
        loaded = 0
        try:
            for url in self._rasa_urls if urls is None else urls:
                try:
                    await client.load_model(url, model)
                except DialogueUnavailable as error:
                    logger.error("training.model_load_failed error=%s", error)
                    return loaded
                loaded += 1
        finally:
            await client.close()
        return loaded
