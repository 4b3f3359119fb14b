"""The gateway's OpenAPI 3.1 description, served at /api/openapi.json.

Written next to the routes rather than generated: a test checks that every route of the app is
described here and that nothing described is missing from the app. docs/gateway.md explains
the WebSocket messages, which OpenAPI cannot describe.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

BEARER: list[dict[str, list[str]]] = [{"customerToken": []}]
DESK: list[dict[str, list[str]]] = [{"deskSession": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    security: list[dict[str, list[str]]] | None = None,
    body: dict[str, Any] | None = None,
    tag: str = "customer",
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = body
    if parameters is not None:
        operation["parameters"] = parameters
    errors = {"description": "Error, with a Spanish text for the person", "content": {
        "application/json": {"schema": _ref("Error")}}}  # fmt: skip
    operation["responses"].setdefault("default", errors)
    return operation


def _query(name: str, description: str) -> dict[str, Any]:
    schema = {"type": "string"}
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _trainer(
    summary: str,
    responses: dict[str, Any],
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A trainer page operation: the desk session of a trainer or a supervisor."""
    summary = f"{summary} (role trainer or supervisor)"
    return _op(summary, responses, DESK, body, "trainer", parameters)


def _socket(plain_text: bool = False) -> dict[str, Any]:
    """A WebSocket's answers: 101, or 400 to a plain HTTP request (outside /api/, where the
    JSON errors do not reach, aiohttp's own text)."""
    refused = {"description": NO_HANDSHAKE, "content": {"text/plain": {"schema": STRING}}}
    return {
        "101": {"description": WEBSOCKET},
        "400": refused if plain_text else _json(_ref("Error"), NO_HANDSHAKE),
    }


def _path_parameter(path: str, name: str) -> dict[str, Any]:
    """What one `{name}` of a path is: OpenAPI wants every path parameter declared."""
    if name == "uuid":
        about, schema = "The call's UUID, as the dialplan gave it", {"format": "uuid"}
    elif name == "name":
        about, schema = "A model's name, as GET /api/trainer/trainings lists it", {}
    elif path.startswith("/api/desk/callbacks/"):
        about, schema = "The callback's id (404 for any other value)", {"type": "integer"}
    elif path.startswith("/api/trainer/inbox/"):
        about, schema = "The inbox item's id (404 for any other value)", {"type": "integer"}
    else:
        about = "The conversation's public id (404 for an unknown one)"
        schema = {"pattern": "^[0-9a-f]{32}$"}
    return {"name": name, "in": "path", "required": True, "description": about,
            "schema": {"type": "string", **schema}}  # fmt: skip


def _with_path_parameters(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """PATHS with each operation's path parameters declared (before its own parameters)."""
    declared: dict[str, dict[str, Any]] = {}
    for path, item in paths.items():
        names = re.findall(r"{(\w+)}", path)
        declared[path] = {
            method: {**operation, "parameters": [_path_parameter(path, name) for name in names]
                     + operation.get("parameters", [])} if names else operation
            for method, operation in item.items()
        }  # fmt: skip
    return declared


TEXT = {"text": {"type": "string", "maxLength": 1000}}
WEBSOCKET = "WebSocket (see docs/gateway.md); answers 101 Switching Protocols."
NO_HANDSHAKE = "Not a WebSocket handshake (no Upgrade header)"
STRING = {"type": "string"}
PROBLEMS = {"type": "array", "items": _ref("Problem")}
SAVED = _json(
    {"type": "object", "properties": {"example": _ref("Example"), "problems": PROBLEMS}},
    "Saved; the problems are what the checks say about the whole data",
)
NOT_SAVED = _json(_ref("Error"), "Not saved: empty text, bad intent name, annotation error…")
STALE = _json(_ref("Error"), "The file changed since the list was read: reload it")
EXAMPLE_TEXT = {"type": "string", "description": "May carry entity marks: [Madrid](city)"}
TOPIC = {"type": "string", "description": "The topic (file) of a new intent; only for one"}

PATHS: dict[str, dict[str, Any]] = {
    "/api/health": {"get": _op("Readiness: each dependency with its status and latency", {
        "200": _json(_ref("Health"), "The chat can serve customers (status ok or degraded)"),
        "503": _json(_ref("Health"), "Rasa, the action server or the database fails")},
        tag="operations")},
    "/api/health/live": {"get": _op("Liveness: the gateway's process serves requests", {
        "200": _json({"type": "object", "properties": {"status": {"const": "ok"}}})},
        tag="operations")},
    "/metrics": {"get": _op("Prometheus metrics (text exposition format, docs/operations.md)", {
        "200": {"description": "Metrics", "content": {"text/plain": {"schema": STRING}}}},
        tag="operations")},
    "/api/openapi.json": {"get": _op("This description", {"200": _json({"type": "object"})},
        tag="operations")},
    "/api/conversations": {"post": _op(
        "Start a conversation (web chat or browser call)",
        {"201": _json({"type": "object", "properties": {
            "id": {"type": "string"}, "token": {"type": "string"},
            "conversation": _ref("Snapshot")}}, "Created")},
        body=_body({"channel": {"enum": ["webchat", "voice"]}}, []))},
    "/api/conversations/{id}": {"get": _op(
        "The conversation: state, queue place, offers, messages",
        {"200": _json(_ref("Snapshot"))}, BEARER)},
    "/api/conversations/{id}/messages": {"post": _op(
        "Send a customer message; returns the replies it produced",
        {"200": _json({"type": "object", "properties": {
            "messages": {"type": "array", "items": _ref("Message")},
            "conversation": _ref("Snapshot")}})},
        BEARER, _body(TEXT, ["text"]))},
    "/api/conversations/{id}/callback": {"post": _op(
        "Leave a phone number to be called back instead of waiting",
        {"201": _json({"type": "object", "properties": {
            "callback": _ref("Callback"), "conversation": _ref("Snapshot")}}, "Created")},
        BEARER, _body({"phone": {"type": "string"}, "when": {"type": "string"}}, ["phone"]))},
    "/api/conversations/{id}/bot": {"post": _op(
        "Leave the queue and go on with the assistant", {"200": _json(_ref("Snapshot"))},
        BEARER)},
    "/api/conversations/{id}/events": {"get": _op(
        "Live updates of the conversation", _socket())},
    "/api/conversations/{id}/audio": {"get": _op(
        "Browser call audio (16 kHz 16-bit mono PCM both ways)", _socket())},
    "/telephony/twilio/voice": {"post": _op(
        "Twilio's voice webhook (form-encoded, X-Twilio-Signature): TwiML connecting the call "
        "to a bidirectional Media Stream",
        {"200": {"description": "TwiML", "content": {"text/xml": {"schema": STRING}}},
         "403": {"description": "The signature does not match BOT_TWILIO_AUTH_TOKEN"}},
        tag="telephony")},
    "/telephony/twilio/stream": {"get": _op(
        "Twilio Media Stream (connected, start, media, dtmf, mark, stop; we send media, mark, "
        "clear)", _socket(plain_text=True), tag="telephony")},
    "/telephony/asterisk/calls": {"post": _op(
        "The dialplan registers a call's caller number before AudioSocket() (form: uuid, caller)",
        {"200": {"description": "ok", "content": {"text/plain": {"schema": STRING}}},
         "422": {"description": "uuid is not a UUID"}}, tag="telephony")},
    "/telephony/asterisk/calls/{uuid}/route": {"get": _op(
        "After AudioSocket() returns: where the dialplan sends a handed-off call (empty: hang up)",
        {"200": {"description": "BOT_ASTERISK_TRANSFER_TO or empty",
                 "content": {"text/plain": {"schema": STRING}}}}, tag="telephony")},
    "/api/desk/login": {"post": _op(
        "Agent login; sets the desk_session cookie",
        {"200": _json({"type": "object", "properties": {"agent": _ref("Agent")}})},
        body=_body({"username": {"type": "string"}, "password": {"type": "string"}},
                   ["username", "password"]), tag="desk")},
    "/api/desk/logout": {"post": _op(
        "End the desk session (also answers 200 without one: there is nothing to end)",
        {"200": _json({"type": "object", "properties": {"ok": {"const": True}}})},
        [*DESK, {}], tag="desk")},
    "/api/desk/me": {"get": _op("The logged-in agent", {"200": _json(_ref("Agent"))}, DESK,
        tag="desk")},
    "/api/desk/queue": {"get": _op(
        "Queues of the agent's departments, their own conversations, open callbacks",
        {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/conversations/{id}": {"get": _op(
        "A conversation with its handoff context and transcript",
        {"200": _json({"type": "object", "properties": {
            "conversation": _ref("Snapshot"), "handoff": {"type": "object"},
            "agent": {"oneOf": [_ref("Agent"), {"type": "null"}],
                      "description": "Who has it now; null unless an agent has it"}}})},
        DESK, tag="desk")},
    "/api/desk/conversations/{id}/accept": {"post": _op(
        "Take a waiting conversation", {"200": _json(_ref("Snapshot")),
        "409": _json(_ref("Error"), "Someone else took it")}, DESK, tag="desk")},
    "/api/desk/conversations/{id}/messages": {"post": _op(
        "Write to the customer", {"200": _json({"type": "object", "properties": {
            "message": _ref("Message")}})}, DESK, _body(TEXT, ["text"]), tag="desk")},
    "/api/desk/conversations/{id}/bot": {"post": _op(
        "Hand the conversation back to the assistant", {"200": _json(_ref("Snapshot"))}, DESK,
        tag="desk")},
    "/api/desk/conversations/{id}/close": {"post": _op(
        "Close the conversation", {"200": _json(_ref("Snapshot"))}, DESK, tag="desk")},
    "/api/desk/conversations/{id}/audio": {"get": _op(
        "Talk with a caller: their voice in, the agent's microphone out", _socket(), DESK,
        tag="desk")},
    "/api/desk/callbacks/{id}/done": {"post": _op(
        "Mark a callback as done", {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/supervisor": {"get": _op(
        "Queue lengths, waits, agents online and handoff reasons (supervisors)",
        {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/events": {"get": _op(
        "Live desk updates", _socket(), DESK, tag="desk")},
    "/api/desk/intents": {"get": _op(
        "What the assistant understands, with the trainers' labels, for a correction",
        {"200": _json({"type": "object", "properties": {"intents": {"type": "array", "items": {
            "type": "object", "properties": {"name": STRING, "label": STRING}}}}})},
        DESK, tag="desk")},
    "/api/desk/conversations/{id}/corrections": {"post": _op(
        "Say what a customer's message meant; it goes to the trainers' inbox",
        {"200": _json({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
         "404": _json(_ref("Error"), "No such customer message in the conversation"),
         "422": _json(_ref("Error"), "Not one of the listed intents")},
        DESK, _body({"message_id": {"type": "integer"}, "intent": STRING},
                    ["message_id", "intent"]), tag="desk")},
    "/api/trainer/intents": {"get": _trainer(
        "The intents with their labels, the topics (data files) and the entities",
        {"200": _json({"type": "object", "properties": {
            "intents": {"type": "array", "items": _ref("TrainerIntent")},
            "topics": {"type": "array", "items": STRING},
            "entities": {"type": "array", "items": STRING}}})})},
    "/api/trainer/inbox": {"get": _trainer(
        "Open inbox: customer sentences the assistant was unsure about, newest first",
        {"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("InboxItem")},
            "total": {"type": "integer"}}})})},
    "/api/trainer/inbox/{id}": {"get": _trainer(
        "An inbox sentence with the conversation around it (personal data masked)",
        {"200": _json({"type": "object", "properties": {
            "item": _ref("InboxItem"), "context": {"type": "array", "items": {
                "type": "object", "properties": {
                    "role": {"enum": ["customer", "bot", "agent"]}, "text": STRING,
                    "at": {"type": "number", "description": "Epoch seconds"},
                    "current": {"type": "boolean"}}}}}}),
         "404": _json(_ref("Error"), "Not (or no longer) in the inbox")})},
    "/api/trainer/inbox/{id}/label": {"post": _trainer(
        "Save the sentence as an example of an intent and close the inbox item",
        {"200": SAVED, "404": _json(_ref("Error"), "Not (or no longer) in the inbox"),
         "422": NOT_SAVED},
        _body({"intent": STRING, "text": EXAMPLE_TEXT, "topic": TOPIC}, ["intent", "text"]))},
    "/api/trainer/inbox/{id}/discard": {"post": _trainer(
        "Close the inbox item without saving an example",
        {"200": _json({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
         "404": _json(_ref("Error"), "Not (or no longer) in the inbox")})},
    "/api/trainer/examples": {
        "get": _trainer(
            "Training examples, filtered, and the problems of the whole data",
            {"200": _json({"type": "object", "properties": {
                "examples": {"type": "array", "items": _ref("Example"), "maxItems": 2000},
                "problems": PROBLEMS}})},
            parameters=[_query("intent", "Only this intent's examples"),
                        _query("q", "Text search, accent and case insensitive")]),
        "post": _trainer(
            "Add an example (a new intent needs its topic)", {"200": SAVED, "422": NOT_SAVED},
            _body({"intent": STRING, "text": EXAMPLE_TEXT, "topic": TOPIC}, ["intent", "text"])),
        "put": _trainer(
            "Change an example's text and/or intent (file, line and old text identify it)",
            {"200": SAVED, "409": STALE, "422": NOT_SAVED},
            _body({"file": STRING, "line": {"type": "integer"}, "text": STRING,
                   "new_text": EXAMPLE_TEXT, "intent": STRING},
                  ["file", "line", "text", "new_text", "intent"])),
        "delete": _trainer(
            "Delete an example (file, line and text identify it)",
            {"200": _json({"type": "object", "properties": {"problems": PROBLEMS}}),
             "409": STALE, "422": _json(_ref("Error"), "Missing file, line or text")},
            _body({"file": STRING, "line": {"type": "integer"}, "text": STRING},
                  ["file", "line", "text"]))},
    "/api/trainer/trainings": {
        "post": _trainer(
            "Train, test and (if no worse) activate a new model, in the background",
            {"202": _json({"type": "object", "properties": {"training": _ref("Training")}},
                          "Started"),
             "409": _json(_ref("Error"), "A training is already running")}),
        "get": _trainer(
            "The running training, the history (newest first) and the models",
            {"200": _json({"type": "object", "properties": {
                "current": {"oneOf": [_ref("Training"), {"type": "null"}]},
                "history": {"type": "array", "items": _ref("Training"), "maxItems": 20},
                "active_model": {"type": ["string", "null"]},
                "models": {"type": "array", "items": _ref("Model")}}})})},
    "/api/trainer/models/{name}/activate": {"post": _trainer(
        "Make this model the assistant's (roll back or forward)",
        {"200": _json({"type": "object", "properties": {"active_model": STRING}}),
         "404": _json(_ref("Error"), "No such model"),
         "409": _json(_ref("Error"), "A training is running; it may activate its own model"),
         "502": _json(_ref("Error"), "A Rasa server refused it; every server keeps the "
                      "previous model")})},
    "/api/trainer/quality": {"get": _trainer(
        "The latest test report and the scores of past trainings (oldest first)",
        {"200": _json({"type": "object", "properties": {
            "latest": {"oneOf": [_ref("QualityReport"), {"type": "null"}]},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "training_id": {"type": "integer"}, "at": {"type": "number"},
                "status": STRING, "macro_f1": {"type": ["number", "null"]},
                "accuracy": {"type": ["number", "null"]}}}}}})})},
    "/api/trainer/quality/confusion.png": {"get": _trainer(
        "The confusion matrix picture of the latest report",
        {"200": {"description": "PNG picture", "content": {"image/png": {
            "schema": {"type": "string", "format": "binary"}}}},
         "404": _json(_ref("Error"), "No report yet")})},
}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
    "Message": {"type": "object", "properties": {
        "id": {"type": ["integer", "null"], "description": (
            "null: not saved yet (held while the database refuses writes)")},
        "author": {"enum": ["customer", "bot", "agent", "system"]},
        "text": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "agent": {"type": ["string", "null"]},
        "buttons": {"type": "array", "items": {"type": "object", "properties": {
            "title": {"type": "string"}, "payload": {"type": "string"}}}}}},
    "Queue": {"type": ["object", "null"], "properties": {
        "department": {"type": "string"}, "position": {"type": "integer"},
        "ahead": {"type": "integer"}, "wait_minutes": {"type": ["integer", "null"]},
        "agents_online": {"type": "integer"}}},
    "Snapshot": {"type": "object", "properties": {
        "id": {"type": "string"}, "channel": {"enum": ["webchat", "voice"]},
        "state": {"enum": ["bot", "queued", "agent", "closed"]}, "queue": _ref("Queue"),
        "offers": {"type": "array", "items": {"enum": ["callback", "bot"]}},
        "agent": {"type": ["string", "null"]},
        "messages": {"type": "array", "items": _ref("Message")}}},
    "Callback": {"type": "object", "properties": {
        "id": {"type": "integer"}, "conversation": {"type": "string"},
        "phone": {"type": "string"}, "when": {"type": "string"},
        "department_name": {"type": "string"}, "created_at": {"type": "string"},
        "done": {"type": "boolean"}}},
    "Agent": {"type": "object", "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"},
        "role": {"enum": ["agent", "supervisor", "trainer"]},
        "departments": {"type": "array", "items": {"type": "string"}}}},
    "Problem": {"type": "object", "properties": {
        "file": {"type": "string", "description": "Relative to the project; empty: no file"},
        "line": {"type": "integer", "description": "From 1; 0: the whole file or intent"},
        "level": {"enum": ["error", "warning"]}, "message": {"type": "string"}}},
    "Example": {"type": "object", "properties": {
        "file": {"type": "string"}, "line": {"type": "integer"}, "intent": {"type": "string"},
        "text": {"type": "string", "description": "May carry entity marks: [Madrid](city)"}}},
    "TrainerIntent": {"type": "object", "properties": {
        "name": {"type": "string"}, "label": {"type": "string"},
        "description": {"type": "string"}, "topic": {"type": "string"},
        "examples": {"type": "integer"}}},
    "InboxItem": {"type": "object", "properties": {
        "id": {"type": "integer"},
        "text": {"type": "string", "description": "Personal data masked: «teléfono», «correo»…"},
        "intent": {"type": ["string", "null"], "description": "Predicted; may be nlu_fallback"},
        "confidence": {"type": "number"},
        "reason": {"enum": ["low_confidence", "fallback", "handoff", "agent"]},
        "reason_text": {"type": "string"},
        "suggested_intent": {"type": ["string", "null"], "description": "An agent's correction"},
        "channel": {"enum": ["webchat", "voice"]},
        "at": {"type": "number", "description": "Epoch seconds"}}},
    "Scores": {"type": ["object", "null"], "properties": {
        "macro_f1": {"type": "number"}, "accuracy": {"type": "number"},
        "conversations_passed": {"type": "integer"}, "conversations_total": {"type": "integer"}}},
    "Training": {"type": "object", "properties": {
        "id": {"type": "integer"}, "started_at": {"type": "number"},
        "finished_at": {"type": ["number", "null"]},
        "status": {"enum": ["training", "testing", "activated", "rejected", "failed"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "step": {"type": "string"}, "model": {"type": ["string", "null"]},
        "summary": {"type": "string"},
        "regressions": {"type": "array", "items": {"type": "string"}},
        "scores": _ref("Scores"), "baseline": _ref("Scores")}},
    "Model": {"type": "object", "properties": {
        "name": {"type": "string"}, "created_at": {"type": "number"},
        "macro_f1": {"type": ["number", "null"]}, "active": {"type": "boolean"}}},
    "QualityReport": {"type": "object", "properties": {
        "training_id": {"type": "integer"}, "at": {"type": "number"},
        "model": {"type": ["string", "null"]}, "status": {"type": "string"},
        "macro_f1": {"type": ["number", "null"]}, "accuracy": {"type": ["number", "null"]},
        "intents": {"type": "array", "items": {"type": "object", "properties": {
            "intent": {"type": "string"}, "label": {"type": "string"},
            "precision": {"type": "number"}, "recall": {"type": "number"},
            "f1": {"type": "number"}, "support": {"type": "integer"}}}},
        "confusions": {"type": "array", "items": {"type": "object", "properties": {
            "expected": {"type": "string"}, "predicted": {"type": "string"},
            "count": {"type": "integer"},
            "examples": {"type": "array", "items": {"type": "string"}}}}}}},
    "Health": {"type": "object", "required": ["status", "checks"], "properties": {
        "status": {"enum": ["ok", "degraded", "down"]},
        "checks": {"type": "object", "additionalProperties": _ref("Check"), "properties": {
            name: _ref("Check") for name in ("rasa", "actions", "database", "speech_model")}},
        "queued": {"type": "integer"}, "agents_online": {"type": "integer"},
        "held_conversations": {"type": "integer", "description": (
            "conversations answered while the database refused writes, not saved yet")}}},
    "Check": {"type": "object", "required": ["status", "latency_ms"], "properties": {
        "status": {"type": "string", "description": "ok, or what failed (down, timeout…)"},
        "latency_ms": {"type": "number"}}},
}  # fmt: skip


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Contact-centre gateway",
            "version": "1.0",
            "description": (
                "Web chat, browser calls, the handoff queue, the agent desk and the trainer pages."
            ),
        },
        "paths": _with_path_parameters(PATHS),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "customerToken": {"type": "http", "scheme": "bearer"},
                "deskSession": {"type": "apiKey", "in": "cookie", "name": "desk_session"},
            },
        },
    }


async def openapi_json(_: web.Request) -> web.Response:
    return web.json_response(spec())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
