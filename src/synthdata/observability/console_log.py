"""Human-readable log lines for a terminal; JSON everywhere else.

The usual convention: a process whose log stream is a terminal (`make run` in a
shell) prints aligned, coloured lines a person can read; piped or redirected (a
container, systemd, a test), it prints the JSON lines the log pipeline and the
runbook's queries read. `SYNTHDATA_LOG_FORMAT=json` or `console` overrides the
guess. The log file (`SYNTHDATA_LOG_FILE`) is JSON in both cases.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson
import structlog

FORMAT_VARIABLE = "SYNTHDATA_LOG_FORMAT"
FORMATS = ("json", "console")


def wants_console(stream: Any) -> bool:
    """Whether lines written to `stream` should be the human-readable kind."""
    chosen = os.environ.get(FORMAT_VARIABLE, "").strip().lower()
    if chosen in FORMATS:
        return chosen == "console"
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ConsoleLines:
    """The last processor of console mode: a line for the terminal, JSON for the file.

    `to_record` turns structlog's event into the JSON object the JSON mode writes
    (the same field names), for the log file; `write_file` writes whole lines to that
    file (a `LineWriter`'s `write_lines`).
    """

    def __init__(
        self,
        to_record: Callable[[MutableMapping[str, Any]], MutableMapping[str, Any]],
        write_file: Callable[[bytes], None] | None,
        colors: bool,
    ) -> None:
        self._to_record = to_record
        self._write_file = write_file
        # Plain tracebacks: rich's would print local variables, and they may hold data.
        self._render = structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> str:
        if self._write_file is not None:
            record = self._to_record(dict(event))
            self._write_file(orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE))
        return str(self._render(logger, name, event))

    def access_writer(self, write_terminal: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """Where access lines (already JSON) go: the file as they are, the terminal as
        one readable line each, e.g. `GET /api/v1/jobs 401 1.2 ms`."""

        def write(data: bytes) -> None:
            if self._write_file is not None:
                self._write_file(data)
            lines = [self._access_line(line) for line in data.splitlines() if line.strip()]
            write_terminal("".join(f"{line}\n" for line in lines).encode(errors="replace"))

        return write

    def _access_line(self, line: bytes) -> str:
        record = orjson.loads(line)
        method = record.pop("http.request.method", "")
        path = record.pop("url.path", "")
        status = record.pop("http.response.status_code", "")
        took = record.pop("response_time", None)
        timing = f" {took:.1f} ms" if isinstance(took, int | float) else ""
        event: dict[str, Any] = {
            "timestamp": record.pop("@timestamp", ""),
            "level": record.pop("log.level", "info"),
            "event": f"{method} {path} {status}{timing}",
        }
        for noise in ("message", "level", "service.name"):
            record.pop(noise, None)
        stack = record.pop("error.stack_trace", None)
        if stack:  # a request that raised: its traceback below the line, as a traceback
            event["exception"] = stack
        event.update(record)  # request_id, customer_id, source.ip, trace ids, error.*
        return str(self._render(None, event["level"], event))
