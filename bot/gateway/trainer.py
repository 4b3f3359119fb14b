"""The trainer pages' API: the inbox, the training data, trainings and models, and quality.

Trainers log in like agents (the `desk_session` cookie); the role `trainer` (or `supervisor`)
opens these endpoints. The contract is in docs/gateway.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.edge.context import GATEWAY, Gateway
from bot.edge.http import cookie, read_json
from bot.errors import RequestError
from bot.gateway.desk import COOKIE
from bot.nlu.checks import check_project
from bot.nlu.data import (
    Example,
    NluDataError,
    StaleEdit,
    iter_intents,
)
from bot.nlu.labels import intent_descriptions
from bot.nlu.problems import Problem
from bot.training.job import TrainingBusy
from bot.training.masking import given_names, mask_with_names, scrub
from bot.training.models import ActivationError

TRAINER_ROLES = ("trainer", "supervisor")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/trainer/intents", intents)
    app.router.add_get("/api/trainer/inbox", inbox)
    app.router.add_get("/api/trainer/inbox/{id}", inbox_item)
    app.router.add_post("/api/trainer/inbox/{id}/label", label)
    app.router.add_post("/api/trainer/inbox/{id}/discard", discard)
    app.router.add_get("/api/trainer/examples", examples)
    app.router.add_post("/api/trainer/examples", add_example)
    app.router.add_put("/api/trainer/examples", edit_example)
    app.router.add_delete("/api/trainer/examples", delete_example)
    app.router.add_post("/api/trainer/trainings", start_training)
    app.router.add_get("/api/trainer/trainings", trainings)
    app.router.add_post("/api/trainer/models/{name}/activate", activate)
    app.router.add_get("/api/trainer/quality", quality)
    app.router.add_get("/api/trainer/quality/confusion.png", confusion_picture)


def trainer_gateway(request: web.Request) -> Gateway:
    gateway = request.app[GATEWAY]
    agent = gateway.accounts.session_agent(cookie(request, COOKIE))
    if agent is None:
        raise RequestError(401, "Inicie sesión para entrar en las páginas de entrenamiento.")
    if agent.role not in TRAINER_ROLES:
        raise RequestError(403, "Estas páginas son para quienes entrenan al asistente.")
    return gateway


async def problems_of(gateway: Gateway) -> list[dict[str, object]]:
    found: list[Problem] = await asyncio.to_thread(check_project, gateway.trainer.paths.project)
    return [problem.to_json() for problem in found]


# intents


async def intents(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    data = gateway.nlu_data
    described = intent_descriptions(gateway.trainer.paths.project)
    listed = [
        {
            "name": intent,
            "label": described.get(intent, {}).get("label", intent),
            "description": described.get(intent, {}).get("description", ""),
            "topic": Path(found[0].file).stem,
            "examples": len(found),
        }
        for intent, found in iter_intents(data.examples())
    ]
    return web.json_response(
        {"intents": listed, "topics": data.topics(), "entities": await _entities(gateway)}
    )


async def _entities(gateway: Gateway) -> list[str]:
    names: set[str] = set()
    for path in (gateway.trainer.paths.project / "domain").glob("*.yml"):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entity in domain.get("entities") or []:
            names.add(next(iter(entity)) if isinstance(entity, dict) else str(entity))
    return sorted(names)


# inbox


async def inbox(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    items, total = gateway.trainer_store.open_items()
    return web.json_response({"items": [item.to_json() for item in items], "total": total})


async def inbox_item(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    item = _item(gateway, request)
    lines = [
        m for m in gateway.store.messages(item.conversation_id)
        if m.author in ("customer", "bot", "agent")
    ]  # fmt: skip
    names = given_names([m.text for m in lines if m.author == "customer"])
    context = [
        {"role": m.author, "text": mask_with_names(m.text, names), "at": m.at,
         "current": m.id == item.message_id}
        for m in lines
    ]  # fmt: skip
    return web.json_response({"item": item.to_json(), "context": context})


async def label(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    body = await read_json(request)
    item = _item(gateway, request)
    # taken first: two trainers saving the same sentence must not add it twice
    if not gateway.trainer_store.close_item(item.id, "labelled"):
        raise RequestError(404, GONE)
    try:
        example = await _save_example(
            gateway, body.get("intent"), body.get("text"), body.get("topic")
        )
    except Exception:
        gateway.trainer_store.reopen_item(item.id)
        raise
    return await _saved(gateway, example)


async def discard(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    item = _item(gateway, request)
    gateway.trainer_store.close_item(item.id, "discarded")
    return web.json_response({"ok": True})


GONE = "Ese mensaje ya no está en la bandeja: quizá otra persona lo ha revisado."


def _item(gateway: Gateway, request: web.Request) -> Any:
    number = request.match_info["id"]
    item = None
    if number.isdigit() and len(number) <= 18:  # SQLite integers are 64-bit
        item = gateway.trainer_store.item(int(number))
    if item is None or item.status != "open":
        raise RequestError(404, GONE)
    return item


# data


async def examples(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    intent = request.query.get("intent") or None
    query = (request.query.get("q") or "")[:200] or None
    found = gateway.nlu_data.search(intent, query)
    return web.json_response(
        {"examples": [e.to_json() for e in found[:2000]], "problems": await problems_of(gateway)}
    )


async def add_example(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    body = await read_json(request)
    example = await _save_example(gateway, body.get("intent"), body.get("text"), body.get("topic"))
    return await _saved(gateway, example)


async def edit_example(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    body = await read_json(request)
    file, line, old, new, intent = (
        body.get(k) for k in ("file", "line", "text", "new_text", "intent")
    )
    if not (isinstance(file, str) and isinstance(line, int) and isinstance(old, str)
            and isinstance(new, str) and isinstance(intent, str)):  # fmt: skip
        raise RequestError(422, "Faltan datos del ejemplo que quiere cambiar.")
    with _data_errors():
        example = gateway.nlu_data.update(file, line, old, scrub(new), intent)
    return await _saved(gateway, example)


async def delete_example(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    body = await read_json(request)
    file, line, text = body.get("file"), body.get("line"), body.get("text")
    if not (isinstance(file, str) and isinstance(line, int) and isinstance(text, str)):
        raise RequestError(422, "Faltan datos del ejemplo que quiere eliminar.")
    with _data_errors():
        gateway.nlu_data.delete(file, line, text)
    return web.json_response({"problems": await problems_of(gateway)})


async def _save_example(gateway: Gateway, intent: Any, text: Any, topic: Any) -> Example:
    if not isinstance(intent, str) or not isinstance(text, str):
        raise RequestError(422, "Elija una intención y escriba la frase.")
    topic = topic if isinstance(topic, str) else None
    with _data_errors():
        return gateway.nlu_data.add(intent, scrub(text), topic)


async def _saved(gateway: Gateway, example: Example) -> web.Response:
    return web.json_response({"example": example.to_json(), "problems": await problems_of(gateway)})


class _data_errors:  # noqa: N801 - used as a `with` statement
    """NluDataError -> 422 (StaleEdit -> 409) with the trainer's message."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        if isinstance(error, StaleEdit):
            raise RequestError(409, str(error)) from error
        if isinstance(error, NluDataError):
            raise RequestError(422, str(error)) from error


# trainings and models


async def start_training(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    try:
        training = gateway.trainer.start()
    except TrainingBusy as error:
        raise RequestError(409, str(error)) from error
    return web.json_response({"training": training.to_json()}, status=202)


async def trainings(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    service = gateway.trainer
    history = service.store.trainings()
    current = service.current if service.running else None
    active = await service.shelf.active()
    scores = {t.model: (t.scores or {}).get("macro_f1") for t in history if t.model}
    models = [
        {"name": path.name.removesuffix(".tar.gz"), "created_at": path.stat().st_mtime,
         "macro_f1": scores.get(path.name.removesuffix(".tar.gz")), "active": path == active}
        for path in service.shelf.models()
    ]  # fmt: skip
    return web.json_response({
        "current": current.to_json() if current else None,
        "history": [t.to_json() for t in history],
        "active_model": active.name.removesuffix(".tar.gz") if active else None,
        "models": models,
    })  # fmt: skip


async def activate(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    name = request.match_info["name"]
    if "/" in name or name.startswith("."):
        raise RequestError(404, "No existe ese modelo.")
    try:
        await gateway.trainer.activate(name)
    except FileNotFoundError as error:
        raise RequestError(404, "No existe ese modelo.") from error
    except TrainingBusy as error:
        raise RequestError(409, str(error)) from error
    except ActivationError as error:
        raise RequestError(
            502, "El asistente no ha podido cargar ese modelo; sigue con el anterior."
        ) from error
    return web.json_response({"active_model": name})


# quality


async def quality(request: web.Request) -> web.Response:
    gateway = trainer_gateway(request)
    history = gateway.trainer.store.trainings(limit=30)
    with_report = [t for t in history if t.report]
    latest = None
    if with_report:
        newest = with_report[0]
        labels = {
            k: v["label"] for k, v in intent_descriptions(gateway.trainer.paths.project).items()
        }
        report = newest.report or {}
        latest = {
            "training_id": newest.id, "at": newest.finished_at or newest.started_at,
            "model": newest.model, "status": newest.status,
            "macro_f1": report.get("macro_f1"), "accuracy": report.get("accuracy"),
            "intents": [{**i, "label": labels.get(i["intent"], i["intent"])}
                        for i in report.get("intents", [])],
            "confusions": report.get("confusions", []),
        }  # fmt: skip
    points = [
        {"training_id": t.id, "at": t.finished_at or t.started_at, "status": t.status,
         "macro_f1": (t.scores or {}).get("macro_f1"), "accuracy": (t.scores or {}).get("accuracy")}
        for t in reversed(with_report)
    ]  # fmt: skip
    return web.json_response({"latest": latest, "history": points})


async def confusion_picture(request: web.Request) -> web.StreamResponse:
    gateway = trainer_gateway(request)
    with_report = [t for t in gateway.trainer.store.trainings(limit=30) if t.report]
    if not with_report:
        raise RequestError(404, "Todavía no hay ningún informe.")
    picture = gateway.trainer.paths.report_dir(with_report[0].id) / "confusion.png"
    if not picture.is_file():
        raise RequestError(404, "Todavía no hay ningún informe.")
    return web.FileResponse(picture, headers={"Cache-Control": "no-store"})
