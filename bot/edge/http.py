"""Reading requests at the gateway's edge: JSON bodies and the client's address."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.errors import RequestError


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/413 with a clear message."""
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, "El cuerpo de la petición debe ser JSON.") from error
    if not isinstance(body, dict):
        raise RequestError(400, "El cuerpo de la petición debe ser un objeto JSON.")
    return body


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
