"""The gateway's OpenAPI 3.1 description, served at /api/openapi.json.

Written next to the routes rather than generated: a test checks that every route of the app is
described here and that nothing described is missing from the app. docs/gateway.md explains
the WebSocket messages, which OpenAPI cannot describe.
"""

from __future__ import annotations

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
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = body
    errors = {"description": "Error, with a Spanish text for the person", "content": {
        "application/json": {"schema": _ref("Error")}}}  # fmt: skip
    operation["responses"].setdefault("default", errors)
    return operation


TEXT = {"text": {"type": "string", "maxLength": 1000}}
WEBSOCKET = "WebSocket (see docs/gateway.md); answers 101 Switching Protocols."

PATHS: dict[str, dict[str, Any]] = {
    "/api/health": {"get": _op("Gateway health and whether Rasa answers", {
        "200": _json(_ref("Health")), "503": _json(_ref("Health"), "Rasa does not answer")},
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
        "Live updates of the conversation", {"101": {"description": WEBSOCKET}})},
    "/api/conversations/{id}/audio": {"get": _op(
        "Browser call audio (16 kHz 16-bit mono PCM both ways)",
        {"101": {"description": WEBSOCKET}})},
    "/api/desk/login": {"post": _op(
        "Agent login; sets the desk_session cookie",
        {"200": _json({"type": "object", "properties": {"agent": _ref("Agent")}})},
        body=_body({"username": {"type": "string"}, "password": {"type": "string"}},
                   ["username", "password"]), tag="desk")},
    "/api/desk/logout": {"post": _op("End the desk session", {"200": _json({"type": "object"})},
        DESK, tag="desk")},
    "/api/desk/me": {"get": _op("The logged-in agent", {"200": _json(_ref("Agent"))}, DESK,
        tag="desk")},
    "/api/desk/queue": {"get": _op(
        "Queues of the agent's departments, their own conversations, open callbacks",
        {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/conversations/{id}": {"get": _op(
        "A conversation with its handoff context and transcript",
        {"200": _json({"type": "object", "properties": {
            "conversation": _ref("Snapshot"), "handoff": {"type": "object"},
            "agent": _ref("Agent")}})}, DESK, tag="desk")},
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
        "Talk with a caller: their voice in, the agent's microphone out",
        {"101": {"description": WEBSOCKET}}, DESK, tag="desk")},
    "/api/desk/callbacks/{id}/done": {"post": _op(
        "Mark a callback as done", {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/supervisor": {"get": _op(
        "Queue lengths, waits, agents online and handoff reasons (supervisors)",
        {"200": _json({"type": "object"})}, DESK, tag="desk")},
    "/api/desk/events": {"get": _op(
        "Live desk updates", {"101": {"description": WEBSOCKET}}, DESK, tag="desk")},
}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
    "Message": {"type": "object", "properties": {
        "id": {"type": "integer"}, "author": {"enum": ["customer", "bot", "agent", "system"]},
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
        "role": {"enum": ["agent", "supervisor"]},
        "departments": {"type": "array", "items": {"type": "string"}}}},
    "Health": {"type": "object", "properties": {
        "status": {"enum": ["ok", "degraded"]}, "rasa": {"enum": ["ok", "down"]},
        "queued": {"type": "integer"}, "agents_online": {"type": "integer"}}},
}  # fmt: skip


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Contact-centre gateway",
            "version": "1.0",
            "description": "Web chat, browser calls, the handoff queue and the agent desk.",
        },
        "paths": PATHS,
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
