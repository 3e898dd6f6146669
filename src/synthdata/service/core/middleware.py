"""Request middleware: a request id on every request and response.

This is the hook for observability: metrics, structured logs and tracing attach
here (see `install_middleware`) without touching the routers. The metrics and the
access log do not add a middleware layer of their own: they are a `RequestObserver`
this middleware calls once per finished request, because every ASGI layer costs a
coroutine and a wrapped `send` on every request.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synthdata.observability.request_errors import attach as attach_error
from synthdata.observability.tracing import record_exception
from synthdata.service.core.nul_guard import nul_refusal
from synthdata.service.core.problems import internal_error_response

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

MiddlewareHook = Callable[[FastAPI], None]
"""Called with the app while it is built; adds middleware, routes or handlers."""

RequestObserver = Callable[[Scope, int, float], None]
"""Told of each finished HTTP request: its scope, status and seconds taken.

A hook sets one as `app.state.request_observer`; it runs on the event loop, so it
must not block.
"""


class RequestIdMiddleware:
    """Accept a caller's X-Request-ID (if sane) or make one; echo it on the response.

    With an `observer`, also time each request and report it when it ends (status
    500 if the app failed before answering). Being outermost, it is also the edge:
    a NUL character in the path or query is refused with 422 (`nul_guard`), and an
    unhandled exception is answered 500 here, on a connection that stays open.
    """

    def __init__(self, app: ASGIApp, observer: RequestObserver | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        id_header = (REQUEST_ID_HEADER.encode(), request_id.encode())
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = int(message["status"]), True
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        # A NUL in the path or query is refused here, before any route reads it.
        refusal = nul_refusal(scope)
        app: ASGIApp = self.app if refusal is None else refusal
        start = time.perf_counter()
        try:
            await app(scope, receive, send_with_id)
        except Exception as exc:
            if self.observer is not None:  # logged once: on the request's access line
                attach_error(scope, exc)
            if started:  # a response is under way: only closing the connection ends it
                raise
            record_exception(exc)
            # Answered here, not re-raised: Starlette's error middleware would answer
            # and re-raise, and uvicorn would then close the client's connection.
            response = internal_error_response(scope.get("method", ""), scope.get("path", ""), exc)
            await response(scope, receive, send_with_id)
        finally:
            if self.observer is not None:
                self.observer(scope, status, time.perf_counter() - start)


def request_id_of(request: Request) -> str | None:
    """The id `RequestIdMiddleware` gave this request (None outside that middleware)."""
    return getattr(request.state, "request_id", None)


def install_middleware(app: FastAPI, hooks: list[MiddlewareHook] | None = None) -> None:
    """Add whatever the hooks add, then the request-id middleware around all of it.

    The request id is outermost, so every layer, including an injected fault that
    answers before the app, logs and answers with the request's id, and is timed and
    counted by the request observer a hook may have set.
    """
    for hook in hooks or []:
        hook(app)
    app.add_middleware(RequestIdMiddleware, observer=getattr(app.state, "request_observer", None))
