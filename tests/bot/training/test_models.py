"""Switching the running Rasa servers' model: all or none, and the folder follows only then."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.training.models import ActivationError, ModelShelf


class FakeRasa:
    """A Rasa server's /status and PUT /model; `broken` refuses to load new models."""

    def __init__(self, loaded: str, broken: bool = False) -> None:
        self.loaded, self.broken, self.puts = loaded, broken, []
        self.app = web.Application()
        self.app.router.add_get("/status", self.status)
        self.app.router.add_put("/model", self.load)

    async def status(self, request: web.Request) -> web.Response:
        assert request.query["token"] == "t"
        return web.json_response({"model_file": self.loaded})

    async def load(self, request: web.Request) -> web.Response:
        model = (await request.json())["model_file"]
        self.puts.append(Path(model).name)
        if self.broken and Path(model).name != Path(self.loaded).name:
            return web.Response(status=500)
        self.loaded = model
        return web.Response(status=204)


def models_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for age, name in enumerate(["new", "old"]):
        model = folder / f"{name}.tar.gz"
        model.write_bytes(b"model")
        os.utime(model, (1000 - age * 100, 1000 - age * 100))
    return folder


def run(servers: list[FakeRasa], scenario) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        started = [TestServer(s.app) for s in servers]
        for server in started:
            await server.start_server()
        try:
            await scenario([str(server.make_url("")).rstrip("/") for server in started])
        finally:
            for server in started:
                await server.close()

    asyncio.run(main())


def test_a_rollback_reaches_every_server_and_becomes_the_newest(tmp_path: Path):
    folder = models_folder(tmp_path)
    servers = [FakeRasa("new.tar.gz"), FakeRasa("new.tar.gz")]

    async def scenario(urls: list[str]) -> None:
        shelf = ModelShelf(folder, urls, "t")
        assert (await shelf.active()) == folder / "new.tar.gz"
        await shelf.activate("old")
        assert shelf.models()[0].name == "old.tar.gz"
        with pytest.raises(FileNotFoundError):
            await shelf.activate("missing")

    run(servers, scenario)
    assert [s.puts for s in servers] == [["old.tar.gz"], ["old.tar.gz"]]


def test_a_server_that_refuses_leaves_every_server_and_the_folder_as_they_were(tmp_path: Path):
    folder = models_folder(tmp_path)
    servers = [FakeRasa(str(folder / "new.tar.gz")), FakeRasa("new.tar.gz", broken=True)]

    async def scenario(urls: list[str]) -> None:
        shelf = ModelShelf(folder, urls, "t")
        with pytest.raises(ActivationError):
            await shelf.activate("old")
        assert shelf.models()[0].name == "new.tar.gz"

    run(servers, scenario)
    assert servers[0].puts == ["old.tar.gz", "new.tar.gz"]  # switched, then switched back
    assert Path(servers[0].loaded).name == "new.tar.gz"
