"""The gateway's web app served from a thread of its own, for property tests: hypothesis runs
each example as a plain function, and every example talks to the same running server (its
sockets, its conversations) instead of starting one each time."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from aiohttp import web

from bot.edge.context import Gateway
from bot.gateway.app import build_app
from tests.helpers.phone_gateway import free_port

T = TypeVar("T")


class ServedApp:
    """The app's URL, and a way to run code on the server's own event loop (to look at the
    gateway's state without racing its handlers)."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.loop = loop

    def on_server(self, coroutine: Awaitable[T], timeout: float = 10.0) -> T:
        async def run() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)


@contextlib.contextmanager
def served_in_a_thread(gateway: Gateway) -> Iterator[ServedApp]:
    """Serves `build_app(gateway)` on a free local port until the block ends."""
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(build_app(gateway))
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="served-app", daemon=True)
    thread.start()
    assert started.wait(30), "the app did not start"
    try:
        yield ServedApp(f"http://127.0.0.1:{port}", loop)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
