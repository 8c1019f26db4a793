"""Small HTTP helpers shared by the server and the verb handlers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.store import encode


def json_response(obj: Any, status: int = 200) -> web.Response:
    """A JSON body as the API server sends it."""
    return web.Response(body=encode(obj), status=status, content_type="application/json")


def bytes_response(body: bytes, status: int = 200) -> web.Response:
    """Already encoded JSON."""
    return web.Response(body=body, status=status, content_type="application/json")


def status_response(error: ApiError) -> web.Response:
    """The Status object of an error, with its HTTP code."""
    return json_response(error.status(), status=error.code)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; 400 with the API server's wording if it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, "BadRequest", "the request body is empty")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            400,
            "BadRequest",
            f"couldn't get version/kind; json parse error: {error}",
        ) from None
