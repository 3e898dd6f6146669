"""Log lines a person can read on a terminal; JSON when piped, and always in the file."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, base_env, free_port

from synthdata.observability.logging import (
    access_json,
    configure_logging,
    get_logger,
    write_access_lines,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _log_everything() -> None:
    get_logger("test").info("job done", job_id="job_1", api_key="sdk_live_0123456789abcdef")
    logging.getLogger("synthdata.test.stdlib").warning("slow start")
    event = {
        "http.request.method": "GET",
        "url.path": "/api/v1/jobs",
        "http.response.status_code": 401,
        "response_time": 1.25,
        "request_id": "req_1",
    }
    line = access_json("info", event)
    assert line is not None
    write_access_lines([line])


def test_a_terminal_gets_readable_lines_and_the_file_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNTHDATA_LOG_FORMAT", raising=False)
    terminal = Terminal()
    log_file = tmp_path / "synthdata.log"
    try:
        configure_logging("INFO", stream=terminal, log_file=log_file)
        _log_everything()
    finally:
        configure_logging("INFO")
    shown = [ANSI.sub("", line) for line in terminal.getvalue().splitlines()]
    assert len(shown) == 3, shown
    assert not any(line.startswith("{") for line in shown)
    assert "[info     ] job done" in shown[0] and "job_id=job_1" in shown[0]
    assert "sdk_live" not in terminal.getvalue()  # secrets are scrubbed here too
    assert "[warning  ] slow start" in shown[1]
    assert "GET /api/v1/jobs 401 1.2 ms" in shown[2] and "request_id=req_1" in shown[2]
    in_file = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(r["level"], r["message"]) for r in in_file] == [
        ("INFO", "job done"),
        ("WARNING", "slow start"),
        ("INFO", "request"),
    ]
    assert in_file[0]["api_key"] == "[REDACTED]"


def test_json_on_a_terminal_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHDATA_LOG_FORMAT", "json")
    terminal = Terminal()
    try:
        configure_logging("INFO", stream=terminal)
        _log_everything()
    finally:
        configure_logging("INFO")
    lines = [json.loads(line) for line in terminal.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["job done", "slow start", "request"]


def _read_until(fd: int, wanted: str, deadline: float) -> str:
    seen = ""
    while wanted not in ANSI.sub("", seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{wanted!r} not printed:\n{seen}"
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            try:
                seen += os.read(fd, 65536).decode(errors="replace")
            except OSError:  # the other end closed
                break
    return ANSI.sub("", seen)


def test_serve_on_a_terminal_prints_readable_lines(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    env.pop("SYNTHDATA_LOG_FORMAT", None)
    port = free_port()
    leader, follower = pty.openpty()
    server = subprocess.Popen(
        [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    try:
        deadline = time.monotonic() + 90
        started = _read_until(leader, "Application startup complete", deadline)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs", timeout=10).status_code == 401
        shown = started + _read_until(leader, "GET /api/v1/jobs 401", deadline)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        os.close(leader)
    lines = [line for line in shown.splitlines() if line.strip()]
    assert lines and not [line for line in lines if line.lstrip().startswith("{")], shown
    assert re.search(r"\[info\s*\] Application startup complete", shown), shown
