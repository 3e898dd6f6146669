"""A ceiling on every request body, declared (Content-Length) or streamed (chunked).

Without it a JSON route reads whatever arrives into memory, and a chunked body
has no length to check up front. A body whose declared length is over the limit
is refused before it is read; a streamed one as soon as the bytes received pass
it. The upload route has its own, larger ceiling (the upload limit plus room for
the form around the file); everything else gets `SYNTHDATA_MAX_REQUEST_BODY_BYTES`.

Starlette's own `RequestBodyLimitMiddleware` (1.x) answers in plain text from
outside the app, past our problem documents and request ids; this one answers
with a problem document like every other error.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synthdata.service.core.problems import problem_response


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit.

    An `HTTPException`, so that FastAPI's body parsing passes it on instead of
    turning it into a 400; its own handler renders the 413 problem document.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit:,} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies over `default` bytes, or over `routes[(method, path)]`."""

    def __init__(self, app: ASGIApp, default: int, routes: Mapping[tuple[str, str], int]) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get((scope["method"], scope["path"]), self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = _too_large(BodyTooLarge(limit))
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


def install_body_limit(app: FastAPI, default: int, routes: Mapping[tuple[str, str], int]) -> None:
    """Add the middleware and the handler of its 413."""

    async def handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)
        return _too_large(exc)

    app.add_exception_handler(BodyTooLarge, handler)
    app.add_middleware(BodyLimitMiddleware, default=default, routes=routes)


def _too_large(exc: BodyTooLarge) -> JSONResponse:
    return problem_response(413, str(exc.detail), kind="payload-too-large")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
