"""The OpenAPI description and the app's routes describe the same API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.gateway import openapi
from bot.gateway.app import PAGES, build_app, static_file
from tests.helpers.gateway_fakes import FakeAssistant, make_gateway, run_api


@pytest.fixture
def app(tmp_path: Path) -> web.Application:
    return build_app(make_gateway(tmp_path / "gw.db", FakeAssistant()))


NOT_API = {*PAGES, "/favicon.ico"}  # the static pages and the browser's icon request


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route but the static pages, HEAD and the static catch-all."""
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.handler is not static_file
        and route.resource.canonical not in NOT_API
    }


def documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in spec["paths"].items() for method in item}


def test_every_route_is_documented(app: web.Application):
    missing = api_routes(app) - documented(openapi.spec())

    assert missing == set()


def test_every_documented_operation_exists(app: web.Application):
    extra = documented(openapi.spec()) - api_routes(app)

    assert extra == set()


def test_the_comparison_sees_the_whole_api(app: web.Application):
    routes = api_routes(app)

    assert ("post", "/api/conversations/{id}/messages") in routes
    assert ("get", "/api/desk/events") in routes
    assert not any(path in NOT_API for _, path in routes)
    assert len(routes) >= 20


def test_every_reference_points_to_a_schema():
    spec = openapi.spec()
    text = json.dumps(spec)
    references = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}

    assert references and references <= set(spec["components"]["schemas"])


def test_every_operation_has_responses_and_known_security():
    spec = openapi.spec()
    schemes = set(spec["components"]["securitySchemes"])

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            for requirement in operation.get("security", []):
                assert set(requirement) <= schemes, (method, path)


def test_desk_operations_need_the_session_but_login_and_logout(app: web.Application):
    for path, item in openapi.spec()["paths"].items():
        if path.startswith("/api/desk/") and path not in ("/api/desk/login", "/api/desk/logout"):
            for operation in item.values():
                assert operation.get("security") == [{"deskSession": []}], path
    # logging out without a session answers 200 too (there is nothing to end): optional
    logout = openapi.spec()["paths"]["/api/desk/logout"]["post"]
    assert logout["security"] == [{"deskSession": []}, {}]


def test_every_path_parameter_is_declared():
    """Clients and schemathesis can only fill in the parameters the document declares."""
    for path, item in openapi.spec()["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            in_the_path = [p for p in operation.get("parameters", []) if p["in"] == "path"]
            assert {p["name"] for p in in_the_path} == in_path, (method, path)
            assert all(p["required"] and p["schema"] for p in in_the_path), (method, path)


def test_websockets_document_their_answer_to_a_plain_request():
    for path, item in openapi.spec()["paths"].items():
        for operation in item.values():
            if "101" in operation["responses"]:
                assert "400" in operation["responses"], path


def test_the_description_is_served(tmp_path: Path):
    async def scenario(api: Any) -> None:
        answer = await api.get("/api/openapi.json")
        assert answer.status == 200
        assert answer.body == json.loads(json.dumps(openapi.spec()))
        assert answer.body["openapi"].startswith("3.1")

    run_api(make_gateway(tmp_path / "gw.db", FakeAssistant()), scenario)
