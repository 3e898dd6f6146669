"""JSON logs, one object per line, with the fields the runbook's log queries read.

Fields (docs/metrics.md, "Logs"): `@timestamp`, `log.level`, `level` (upper case,
what the runbook's error query matches), `message`, `service.name`, `trace.id`,
`span.id`, `request_id`, and for requests `http.request.method`, `url.path`,
`http.response.status_code`, `response_time` (ms), `customer_id`, `source.ip`.
Secrets are scrubbed from every line before it is written.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog

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


class _Tee:
    """A text stream that writes to the console stream and appends to a log file.

    The file is opened in append mode and line-buffered, so lines from several
    processes (API workers, job workers) interleave whole, never torn.
    """

    def __init__(self, stream: Any, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = stream
        self._file = path.open("a", encoding="utf-8", buffering=1)

    def write(self, text: str) -> int:
        self._file.write(text)
        return int(self._stream.write(text))

    def flush(self) -> None:
        self._file.flush()
        self._stream.flush()


class _AccessSink:
    """Where `access_line` writes, and from which level: set by `configure_logging`."""

    stream: Any = sys.stdout
    level: int = logging.INFO


_LEVELS = logging.getLevelNamesMapping()


def access_line(level: str, fields: dict[str, Any]) -> None:
    """Write one access-log line: the same JSON object the processor chain would make.

    Every request writes one, so it skips structlog's generic chain (context merging,
    renaming, the level filter's proxy) and builds the final object directly; the
    values still pass the secret scrubber and carry the trace ids.
    """
    if _LEVELS.get(level.upper(), logging.INFO) < _AccessSink.level:
        return
    event: dict[str, Any] = dict(fields)
    event["message"] = "request"
    event["log.level"] = level.lower()
    event["level"] = level.upper()
    event["@timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    event["service.name"] = SERVICE_NAME
    _trace_ids(None, "", event)
    _redact(None, "", event)
    stream = _AccessSink.stream
    stream.write(_dumps(event) + "\n")
    stream.flush()


def configure_logging(
    level: str = "INFO", stream: Any = None, log_file: Path | None = None
) -> None:
    """Send structlog and standard-library logging to `stream` as JSON lines.

    With `log_file`, every line is also appended to that file (read by
    `synthdata ops check-error-logs` where no Elasticsearch is configured).
    """
    stream = stream or sys.stdout
    if log_file is not None:
        stream = _Tee(stream, log_file)
    _AccessSink.stream = stream
    _AccessSink.level = _LEVELS.get(level.upper(), logging.INFO)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_ids,
        structlog.processors.format_exc_info,
        _rename,
        _redact,
        structlog.processors.JSONRenderer(serializer=_dumps),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through `logging` (uvicorn, sqlalchemy, huey) join the same stream.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer(serializer=_dumps),
            foreign_pre_chain=[
                # Context bound with structlog (a job's `job_id`, `request_id`) also
                # reaches lines written through `logging`, such as the job runner's.
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _trace_ids,
                _rename,
                _redact,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; bind request or job context with `.bind(...)`."""
    return structlog.get_logger(name)
