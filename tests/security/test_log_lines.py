"""Log lines stay whole when many threads in several processes write them at once.

Issue 13, item 17: JSON lines used to tear (24-33 merged lines in 8,127) because a
line could reach the file or pipe in more than one write(): structlog printed the
line and its newline separately, the log-file tee passed both on as two writes, the
standard-library handler and structlog held different locks, and a buffered stream
wrote long lines in parts. Here real processes, each with many threads, log through
every path the service uses (structlog, the standard `logging` module, access lines
alone and in batches) into one pipe and one file; every line must parse as JSON and
every line written must be there exactly once.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

PROCESSES = 4
THREADS = 8
LINES_PER_THREAD = 240
PIPE_BUF = select.PIPE_BUF  # writes up to this size are atomic on a pipe

# One writer process: THREADS threads start together and log LINES_PER_THREAD lines
# each, rotating between the three ways the service writes a log line. `pad` makes
# the line lengths vary up to `max_pad` bytes. argv: process number, max_pad, log file.
WRITER = r"""
import logging, sys, threading
from pathlib import Path
from synthdata.observability.logging import (
    access_json, configure_logging, get_logger, write_access_lines,
)

proc, max_pad, log_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
threads, lines = int(sys.argv[4]), int(sys.argv[5])
configure_logging("INFO", log_file=Path(log_file) if log_file else None)
start = threading.Barrier(threads)


def access_line(ident, pad):
    event = {"request_id": ident, "url.path": "/" + pad, "http.request.method": "GET",
             "http.response.status_code": 200, "response_time": 1.0}
    return access_json("info", event)


def run(thread):
    structured, standard = get_logger("tear-test"), logging.getLogger("tear-test.stdlib")
    start.wait()
    i = 0
    while i < lines:
        ident = f"{proc}-{thread}-{i}"
        pad = "x" * ((i * 7919 + thread * 104729 + proc * 31) % max_pad)
        kind = i % 4
        if kind == 0:
            structured.info("structlog", ident=ident, pad=pad)
        elif kind == 1:
            standard.warning("stdlib %s %s", ident, pad)
        elif kind == 2:
            write_access_lines([access_line(ident, pad)])
        else:  # a batch, as the server writes the requests of one event-loop pass
            count = min(3, lines - i)
            batch = [access_line(f"{proc}-{thread}-{i + k}", pad[: 300 * k]) for k in range(count)]
            write_access_lines(batch)
            i += count - 1
        i += 1


workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
"""


def _start_writers(
    stdout: int, max_pad: int, log_file: Path | None
) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHDATA_")}
    env["SYNTHDATA_LOG_FORMAT"] = "json"
    args = [str(max_pad), str(log_file or ""), str(THREADS), str(LINES_PER_THREAD)]
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(proc), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
        )
        for proc in range(PROCESSES)
    ]


def _wait(writers: list[subprocess.Popen[bytes]]) -> None:
    for writer in writers:
        _, errors = writer.communicate(timeout=180)
        assert writer.returncode == 0, errors.decode(errors="replace")


def _identity(record: dict[str, object]) -> str:
    message = str(record["message"])
    if message == "structlog":
        return str(record["ident"])
    if message.startswith("stdlib "):
        return message.split(" ")[1]
    assert message == "request", record
    return str(record["request_id"])


def _assert_whole(data: bytes, where: str) -> None:
    """Every line is one JSON object, and each line written is there exactly once."""
    torn, seen = [], Counter[str]()
    for line in data.split(b"\n")[:-1]:
        try:
            seen[_identity(json.loads(line))] += 1
        except (ValueError, KeyError):
            torn.append(line[:120])
    assert data.endswith(b"\n"), f"{where}: the last line is unfinished"
    assert not torn, f"{where}: {len(torn)} torn lines, e.g. {torn[:3]}"
    expected = {
        f"{p}-{t}-{i}"
        for p in range(PROCESSES)
        for t in range(THREADS)
        for i in range(LINES_PER_THREAD)
    }
    assert set(seen) == expected, f"{where}: {len(expected - set(seen))} lines missing"
    assert max(seen.values()) == 1, f"{where}: lines written twice"


def _read_pipe(reader: int) -> bytes:
    """Everything written to the pipe until every writer has closed it."""
    chunks, deadline = [], time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline, "the writers did not finish"
        ready, _, _ = select.select([reader], [], [], 1.0)
        if ready:
            chunk = os.read(reader, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_lines_stay_whole_in_a_shared_pipe_and_log_file(tmp_path: Path) -> None:
    """Lines under PIPE_BUF (a pipe's atomic size), to stdout (one pipe) and a log file."""
    log_file = tmp_path / "synthdata.log"
    reader, writer_end = os.pipe()
    try:
        writers = _start_writers(writer_end, PIPE_BUF - 1000, log_file)
        os.close(writer_end)
        writer_end = -1
        piped = _read_pipe(reader)
        _wait(writers)
    finally:
        os.close(reader)
        if writer_end >= 0:
            os.close(writer_end)
    _assert_whole(piped, "pipe")
    _assert_whole(log_file.read_bytes(), "log file")


def test_long_lines_stay_whole_in_shared_files(tmp_path: Path) -> None:
    """Lines up to several times a stream's buffer, to one appended stdout file and a log file."""
    stdout_file, log_file = tmp_path / "stdout.log", tmp_path / "synthdata.log"
    with stdout_file.open("ab") as shared_stdout:
        writers = _start_writers(shared_stdout.fileno(), 5 * 8192, log_file)
        _wait(writers)
    _assert_whole(stdout_file.read_bytes(), "stdout file")
    _assert_whole(log_file.read_bytes(), "log file")
