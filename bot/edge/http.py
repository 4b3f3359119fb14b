"""Reading requests at the gateway's edge: JSON and form bodies, cookies and the client's
address."""

from __future__ import annotations

import json
from http.cookies import CookieError
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


async def read_form(request: web.Request) -> dict[str, str]:
    """The request's form fields (url-encoded or multipart; an uploaded file reads as ""), or
    a 400 when the body cannot be read as a form (a multipart type without its boundary, an
    unknown charset, broken parts)."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (ValueError, LookupError) as error:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, "El cuerpo de la petición debe ser un formulario.") from error
    return {name: value if isinstance(value, str) else "" for name, value in form.items()}


def cookie(request: web.Request, name: str) -> str | None:
    """The cookie's value; None when it is missing or the Cookie header cannot be read at all
    (aiohttp raises on some malformed headers: that browser has no session here)."""
    try:
        return request.cookies.get(name)
    except CookieError:
        return None


def client_address(request: web.Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """Who sent the request: the peer, or, when the peer is a trusted load balancer, the
    address it says it forwards (the last one in X-Forwarded-For: those before it could have
    been written by the client itself)."""
    peer = request.remote or "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    return forwarded[-1] if forwarded and forwarded[-1] else peer
