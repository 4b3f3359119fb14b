"""Requests whose headers or bodies cannot be read at all get a clear 4xx, never a 500 (found by
fuzzing the gateway against its OpenAPI document: tests/integration/test_api_schema.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.settings import TelephonySettings
from tests.helpers.gateway_fakes import FakeAssistant, add_agent, make_gateway, run_api

# `$name` attributes are kept for the cookie before them; an unknown one breaks the whole
# header for Python's cookie parser (aiohttp's `request.cookies` raises then)
UNREADABLE_COOKIES = ["a=1; $eli=2", "desk_session=x; $nope=1"]


def gateway(tmp_path: Path) -> Any:
    return make_gateway(
        tmp_path / "gw.db", FakeAssistant(), telephony=TelephonySettings(audiosocket_port=0)
    )


@pytest.mark.parametrize("cookie", UNREADABLE_COOKIES)
def test_a_cookie_header_that_cannot_be_read_is_no_session(tmp_path: Path, cookie: str):
    async def scenario(api: Any) -> None:
        for path in ("/api/desk/me", "/api/desk/queue", "/api/trainer/intents"):
            answer = await api.request("GET", path, headers={"Cookie": cookie})
            assert answer.status == 401, (path, answer.body)
            assert answer.body["error"].startswith("Inicie sesión")
        logout = await api.request("POST", "/api/desk/logout", headers={"Cookie": cookie})
        assert logout.status == 200

    run_api(gateway(tmp_path), scenario)


def test_a_readable_session_cookie_is_read_as_before(tmp_path: Path):
    """Only a header the parser refuses is no session: a valid one is read as before."""
    built = gateway(tmp_path)
    add_agent(built, "lucia", "Lucía")

    async def scenario(api: Any) -> None:
        desk = await api.login("lucia")
        answer = await api.request("GET", "/api/desk/me", headers={"Cookie": desk.auth["Cookie"]})
        assert answer.status == 200 and answer.body["username"] == "lucia"

    run_api(built, scenario)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",  # no boundary
        "application/x-www-form-urlencoded; charset=no-such-charset",
    ],
)
@pytest.mark.parametrize("path", ["/telephony/twilio/voice", "/telephony/asterisk/calls"])
def test_a_webhook_body_that_is_no_form_is_a_clear_400(
    tmp_path: Path, path: str, content_type: str
):
    async def scenario(api: Any) -> None:
        answer = await api.request(
            "POST", path, data="uuid=1&From=2", headers={"Content-Type": content_type}
        )
        assert answer.status == 400, answer.body
        assert answer.body == {"error": "El cuerpo de la petición debe ser un formulario."}

    run_api(gateway(tmp_path), scenario)


def test_the_webhooks_still_read_their_forms(tmp_path: Path):
    async def scenario(api: Any) -> None:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        registered = await api.request(
            "POST",
            "/telephony/asterisk/calls",
            data="uuid=0b3d2a4e-3f9a-4c3e-9a55-2c7d1c8e9f00&caller=%2B34600111222",
            headers=form,
        )
        assert registered.status == 200 and registered.body == "ok"
        voice = await api.request("POST", "/telephony/twilio/voice", data="From=1", headers=form)
        assert voice.status == 200 and "<Response>" in voice.body

    run_api(gateway(tmp_path), scenario)
