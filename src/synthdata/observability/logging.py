"""JSON logs, one object per line, with the fields the runbook's log queries read.

Fields (docs/metrics.md, "Logs"): `@timestamp`, `log.level`, `level` (upper case,
what the runbook's error query matches), `message`, `service.name`, `trace.id`,
`span.id`, `request_id`, and for requests `http.request.method`, `url.path`,
`http.response.status_code`, `response_time` (ms), `customer_id`, `source.ip`, and
for a request that raised, `error.type`, `error.message`, `error.stack_trace`
(one ERROR line per failed request: see `request_errors`).
Secrets are scrubbed from every line before it is written. Every line reaches the
stream (and the log file) whole, in one write, however many threads and processes
share them (see `line_writer`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog

from synthdata.observability.line_writer import LineWriter
from synthdata.observability.tracing import is_configured

SERVICE_NAME = "synthdata"

# Values that must never reach a log line, whatever key they hide under.
_SECRET_PATTERNS = [
    re.compile(r"\b(?:sdk|sk)_[A-Za-z0-9_\-]{8,}"),  # API keys (ours start with sdk_)
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(@)"),  # passwords inside DSNs
]
_SECRET_KEYS = re.compile(r"(?i)(password|secret|token|api[_-]?key|authorization|dsn)")
REDACTED = "[REDACTED]"


# Every pattern above needs one of these substrings: a cheap test skips the regexes
# for the vast majority of values (route templates, ids, addresses).
_MARKERS = re.compile(r"k_|://|earer|EARER")


def scrub(text: str) -> str:
    """Replace anything that looks like a secret in `text`."""
    if _MARKERS.search(text) is None:
        return text
    text = _SECRET_PATTERNS[0].sub(REDACTED, text)
    text = _SECRET_PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PATTERNS[2].sub(lambda m: m.group(1) + REDACTED + m.group(2), text)


@functools.lru_cache(maxsize=1024)
def _secret_key(key: str) -> bool:
    return key != "request_id" and _SECRET_KEYS.search(key) is not None


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if _secret_key(key):
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


def _rename(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["message"] = event.pop("event", "")
    level = str(event.pop("level", "info"))
    event["log.level"] = level.lower()
    event["level"] = level.upper()
    event["@timestamp"] = event.pop("timestamp", None)
    event.setdefault("service.name", SERVICE_NAME)
    return event


def _trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    try:
        from opentelemetry import trace
    except ImportError:  # tracing is optional
        return event
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace.id", format(context.trace_id, "032x"))
        event.setdefault("span.id", format(context.span_id, "016x"))
    return event


def _dumps(event: Any, **_: Any) -> str:
    """One JSON object on one line; orjson, as every request writes an access line."""
    return orjson.dumps(event, default=str).decode()


class _LineLogger:
    """structlog's logger: each rendered line goes out with its newline in one write."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write

    def msg(self, message: str) -> None:
        self._write(_line_bytes(message))

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _LineHandler(logging.Handler):
    """The handler for standard-library logging: one whole line per record, like structlog's."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        super().__init__()
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write(_line_bytes(self.format(record)))
        except Exception:
            self.handleError(record)


def _line_bytes(text: str) -> bytes:
    return (text + "\n").encode(errors="backslashreplace")


def _to_both(first: LineWriter, second: LineWriter) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        first.write_lines(data)
        second.write_lines(data)

    return write


class _AccessSink:
    """Where access lines go, and from which level: set by `configure_logging`."""

    write: Callable[[bytes], None] = LineWriter(sys.stdout).write_lines
    level: int = logging.INFO
    batched: bool = False


# level name -> (number, `log.level`, `level`)
_ACCESS_LEVELS = {
    name: (logging.getLevelNamesMapping()[name.upper()], name, name.upper())
    for name in ("info", "warning", "error")
}
# Access-line fields a client chooses; the rest are ours (route template, status,
# timing, customer id, address) and cannot carry a secret.
_CLIENT_FIELDS = ("request_id", "url.path", "http.request.method")
_ACCESS_JSON = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


def access_json(level: str, event: dict[str, Any]) -> bytes | None:
    """One access-log line (`level`: info, warning or error), or None if filtered out.

    The same JSON object the processor chain would make, but built directly, as
    every request writes one: the fields a client chose pass the secret scrubber.
    `event` is completed in place; trace ids are the caller's (`trace_fields`).
    """
    number, lower, upper = _ACCESS_LEVELS[level]
    if number < _AccessSink.level:
        return None
    for name in _CLIENT_FIELDS:
        value = event.get(name)
        if isinstance(value, str):
            event[name] = scrub(value)
    event["message"] = "request"
    event["log.level"] = lower
    event["level"] = upper
    event["@timestamp"] = datetime.now(UTC)  # orjson writes ISO 8601 with a Z
    event["service.name"] = SERVICE_NAME
    return orjson.dumps(event, default=str, option=_ACCESS_JSON)


def write_access_lines(lines: list[bytes]) -> None:
    """Write finished access lines together (in as few whole-line writes as may be)."""
    if lines:
        _AccessSink.write(b"".join(lines))


def trace_fields() -> dict[str, str] | None:
    """The current span's `trace.id` and `span.id`, if this process exports traces."""
    if not is_configured():
        return None
    return dict(_trace_ids(None, "", {}))


def batching_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop, when access lines are written once per loop pass.

    In the server (`configure_logging(batch_access_lines=True)`) the work of
    recording a finished request is queued on the loop and done for all the
    requests of one pass together; elsewhere (tests, one-off tools) it is done at
    once, so a line is written before its request ends.
    """
    if not _AccessSink.batched:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def configure_logging(
    level: str = "INFO",
    stream: Any = None,
    log_file: Path | None = None,
    batch_access_lines: bool = False,
    console: bool | None = None,
) -> None:
    """Send structlog and standard-library logging to `stream` as JSON lines.

    With `log_file`, every line is also appended to that file (read by
    `synthdata ops check-error-logs` where no Elasticsearch is configured). With
    `batch_access_lines` (the server), the access lines of one event-loop pass are
    written together, one pass after their responses; otherwise each is written
    before its request ends. With `console` (default: when `stream` is a terminal,
    see `console_log`), `stream` gets human-readable lines instead; the file
    stays JSON.
    """
    from synthdata.observability import console_log

    stream = stream or sys.stdout
    if console is None:
        console = console_log.wants_console(stream)
    threshold = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    _AccessSink.batched = batch_access_lines
    _AccessSink.level = threshold
    # Before rendering: the same for both forms, secrets scrubbed in both.
    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_ids,
        structlog.processors.format_exc_info,  # `exception`: the traceback text
        _redact,
    ]
    renderer: Any
    console_stream = LineWriter(stream)
    log_writer = LineWriter.append_to(log_file) if log_file is not None else None
    write: Callable[[bytes], None] = console_stream.write_lines
    if console:
        lines = console_log.ConsoleLines(
            lambda event: _rename(None, "", event),
            log_writer.write_lines if log_writer is not None else None,
            colors=bool(getattr(stream, "isatty", lambda: False)()),
        )
        renderer = lines
        _AccessSink.write = lines.access_writer(console_stream.write_lines)
    else:
        if log_writer is not None:
            write = _to_both(log_writer, console_stream)
        _AccessSink.write = write
        chain.insert(-1, _rename)  # the JSON field names, before scrubbing
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    structlog.configure(
        processors=[
            chain[0],
            structlog.processors.add_log_level,
            *chain[1:],
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *_: _LineLogger(write),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through `logging` (uvicorn, sqlalchemy, huey) join the same stream.
    handler = _LineHandler(write)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            # Context bound with structlog (a job's `job_id`, `request_id`) also
            # reaches lines written through `logging`, such as the job runner's.
            foreign_pre_chain=[chain[0], structlog.stdlib.add_log_level, *chain[1:]],
        )
    )
    # A request's exception is on its access line; uvicorn must not log it again.
    from synthdata.observability.request_errors import DuplicateExceptionFilter

    handler.addFilter(DuplicateExceptionFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; bind request or job context with `.bind(...)`."""
    return structlog.get_logger(name)
