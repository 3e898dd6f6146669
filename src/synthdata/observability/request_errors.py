"""An unhandled exception in a request: one ERROR line, the request's own access line.

Written apart, the traceback line had no request id, route or customer, and the
access line no exception, so an operator could not tell which request failed how;
and one failure wrote several ERROR lines (the traceback, the access line, and, when
the exception left the app, Starlette's handler and uvicorn's "Exception in ASGI
application" again). So the request-id middleware keeps the exception in the
request's state (`attach`), the access line carries it in the ECS fields
`error.type`, `error.message` and `error.stack_trace`, and every later attempt to log
the same exception is dropped (`already_logged`, `DuplicateExceptionFilter`).
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import MutableMapping
from typing import Any

from synthdata.observability.logging import scrub

STATE_KEY = "error"
_LOGGED = "_synthdata_logged"


def attach(scope: MutableMapping[str, Any], exc: BaseException) -> None:
    """Keep `exc` for the request's access line, and mark it as logged there."""
    scope.setdefault("state", {})[STATE_KEY] = exc
    mark_logged(exc)


def attached(state: dict[str, Any]) -> BaseException | None:
    """The exception a request failed with (from its ASGI state), if any."""
    exc = state.get(STATE_KEY)
    return exc if isinstance(exc, BaseException) else None


def mark_logged(exc: BaseException) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # a type without a __dict__
        setattr(exc, _LOGGED, True)


def already_logged(exc: BaseException | None) -> bool:
    """Whether `exc` is (or will be) on a line already: do not log it again."""
    return exc is not None and getattr(exc, _LOGGED, False) is True


def error_fields(exc: BaseException) -> dict[str, str]:
    """ECS `error.*` fields for `exc`, secrets scrubbed (a message may quote a DSN)."""
    message = str(exc).strip()
    return {
        "error.type": type(exc).__name__,
        "error.message": scrub(message.splitlines()[0] if message else ""),
        "error.stack_trace": scrub("".join(traceback.format_exception(exc)).rstrip()),
    }


class DuplicateExceptionFilter(logging.Filter):
    """Drops a record whose exception is already on a request's line (uvicorn's
    "Exception in ASGI application" for a failure after the response started)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (isinstance(info, tuple) and already_logged(info[1]))
