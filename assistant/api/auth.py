"""The login in front of the API routes: the page's own `user:password` pairs (ui.auth_file, $PAPER_ASSISTANT_AUTH),
sent as HTTP Basic or as a Bearer token `user:password` (what an OpenAI client sends as its api_key).

An ASGI middleware over the paths the API owns; the page under them keeps Gradio's login form. No pairs: no login.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

# Every route of the API lives under one of these (tests/api check it): the login covers them all.
API_PATHS = ("/v1", "/api", "/mcp", "/docs", "/redoc", "/openapi.json")


def owned(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


def _pair(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    user, sep, password = value.partition(":")
    return (user, password) if sep else None


def authorized(header: str | None, pairs: list[tuple[str, str]]) -> bool:
    given = _pair(header or "")
    if given is None:
        return False
    user, password = (s.encode() for s in given)
    ok = False
    for u, p in pairs:  # every pair compared in constant time, so timing tells nothing about which one matched
        ok |= hmac.compare_digest(user, u.encode()) & hmac.compare_digest(password, p.encode())
    return ok


class RequireLogin:
    """401 for any request to an API path without one of `pairs`."""

    def __init__(self, app: ASGIApp, pairs: list[tuple[str, str]]) -> None:
        self.app = app
        self.pairs = pairs

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and owned(scope["path"]):
            headers = dict(scope.get("headers") or [])
            header = headers.get(b"authorization", b"").decode("latin-1")
            if not authorized(header, self.pairs):
                body = json.dumps({"error": {"message": "log in with the page's user:password (HTTP Basic, or "
                                             "Authorization: Bearer user:password)", "type": "authentication_error",
                                             "param": None, "code": "invalid_api_key"}}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Basic realm="Paper Assistant"')]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
