"""Request middleware: a request id on every request and response.

This is the hook for observability: metrics, structured logs and tracing attach
here (see `install_middleware`) without touching the routers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

MiddlewareHook = Callable[[FastAPI], None]
"""Called with the app while it is built; adds middleware, routes or handlers."""


class RequestIdMiddleware:
    """Accept a caller's X-Request-ID (if sane) or make one; echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(request: Request) -> str | None:
    """The id `RequestIdMiddleware` gave this request (None outside that middleware)."""
    return getattr(request.state, "request_id", None)


def install_middleware(app: FastAPI, hooks: list[MiddlewareHook] | None = None) -> None:
    """Add whatever the hooks add, then the request-id middleware around all of it.

    The request id is outermost, so every layer, including an injected fault that
    answers before the app, logs and answers with the request's id.
    """
    for hook in hooks or []:
        hook(app)
    app.add_middleware(RequestIdMiddleware)
