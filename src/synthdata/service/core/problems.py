"""Every error as a JSON problem document (RFC 9457: type, title, status, detail).

Routing errors (404, 405), validation errors (422), the engine's `InputError`
and our own `Problem` all come out in the same shape; anything else is a bug
and becomes a 500 whose detail reveals nothing internal.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from synthdata.engine.errors import InputError, ModelFormatError
from synthdata.observability.logging import scrub
from synthdata.observability.request_errors import already_logged

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("synthdata.service")


class ProblemDoc(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class Problem(Exception):
    """Raise to answer with a problem document, e.g. ``Problem(404, "job not found")``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        shed: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _slug(status)
        self.headers = headers or {}
        self.extra = extra or {}
        # Why the request was refused on purpose to shed load (e.g. "circuit_breaker"):
        # the access log and metrics then keep it apart from failures (observability/http.py).
        self.shed = shed


def not_found(what: str, ident: str) -> Problem:
    """The one answer for both "does not exist" and "belongs to someone else"."""
    return Problem(404, f"{what} {ident!r} not found", kind="not-found")


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "error"


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build the JSON response for a problem."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": f"urn:synthdata:problem:{kind or _slug(status)}",
        "title": title,
        "status": status,
        # A detail may quote the request (an id from the path): never echo a secret.
        "detail": scrub(detail),
    }
    body.update(extra or {})
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Starlette's 405 names only the methods of the first route whose path matched, and
    `GET /jobs` and `POST /jobs` are two routes: RFC 9110 wants all of them in `Allow`.
    Each method is tried against the routes as routing itself would (FastAPI keeps
    included routers as opaque route groups, so there is no list to read).
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 with each error's `loc`, `msg` and `type`; the detail names the first one."""
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    return problem_response(422, detail, kind="validation-error", extra={"errors": errors})


def internal_error_response(
    method: str, path: str, exc: BaseException | None = None
) -> JSONResponse:
    """Log the exception being handled, with its traceback, and answer 500.

    A bug: the answer says nothing about it, the log line says everything. An
    exception already kept for its request's access line is not logged again.
    """
    if not already_logged(exc):
        log.exception("unhandled error on %s %s", method, path)
    return problem_response(500, "internal error; it has been logged", kind="internal-error")


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error path of `app` answer with a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.shed:
            request.state.load_shed = exc.shed
        return problem_response(
            exc.status, exc.detail, kind=exc.kind, headers=exc.headers, extra=exc.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(
            [
                {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
                for e in exc.errors()
            ]
        )

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return problem_response(422, str(exc), kind="invalid-input")

    @app.exception_handler(ModelFormatError)
    async def _model_format(_: Request, exc: ModelFormatError) -> JSONResponse:
        return problem_response(422, str(exc), kind="invalid-model")

    # Unhandled exceptions are answered by the request-id middleware, which keeps the
    # connection (Starlette's error middleware, where this handler runs, re-raises
    # after answering, and uvicorn then closes the connection): this one is for a
    # failure outside that middleware.
    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(request.method, request.url.path, exc)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ProblemDoc,
        "content": {MEDIA_TYPE: {}},
        "description": HTTPStatus(status).phrase,
    }
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
"""OpenAPI `responses=` documenting the problem shape for the usual error statuses."""
