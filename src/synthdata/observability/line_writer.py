"""Log lines that reach their destination whole, however many writers share it.

Many threads (requests, job threads) and several processes (`serve --workers N`,
`synthdata worker`) write log lines to the same stdout and the same log file. A line
stays whole there only if it goes out in one `write()` system call that holds
nothing but whole lines: the kernel never mixes two writes to a file opened for
appending, nor two writes of up to `PIPE_BUF` bytes (4,096 on Linux) to a pipe.
Python's own layers do not promise that: `print` writes a line and its newline
separately, a buffered stream writes a long line in parts, and two loggers with two
locks interleave inside one buffer. So every log line goes through a `LineWriter`,
which writes straight to the file descriptor: whole lines only, at most `PIPE_BUF`
bytes per call when several lines go together, a longer line alone in one call.
"""

from __future__ import annotations

import io
import os
import select
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PIPE_BUF = select.PIPE_BUF


class LineWriter:
    """Writes whole lines to one stream, each `write()` call holding whole lines only."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # a partial write's remainder follows at once

    @classmethod
    def append_to(cls, path: Path) -> LineWriter:
        """A writer appending to the file at `path` (made, with its folder, if missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("ab", buffering=0))

    def write_lines(self, data: bytes) -> None:
        """Write `data`: whole lines, each ending in a newline."""
        if not data:
            return
        with self._lock:
            fd = _fileno(self._stream)
            if fd is None:  # an in-memory stream (tests): no other process shares it
                _write_stream(self._stream, data)
                return
            self._stream.flush()  # what was printed to the stream before goes first
            for piece in _pieces(data):
                _write_all(fd, piece)


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, io.UnsupportedOperation):
        return None


def _write_stream(stream: Any, data: bytes) -> None:
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        stream.write(data)
    else:  # a text stream
        stream.write(data.decode())
    stream.flush()


def _pieces(data: bytes) -> Iterator[bytes]:
    """`data` cut at line ends into pieces of at most PIPE_BUF bytes (a longer line alone)."""
    start, end = 0, len(data)
    while end - start > PIPE_BUF:
        cut = data.rfind(b"\n", start, start + PIPE_BUF)
        if cut < 0:  # the next line alone is longer than PIPE_BUF
            cut = data.find(b"\n", start + PIPE_BUF)
            if cut < 0:
                break
        yield data[start : cut + 1]
        start = cut + 1
    if start < end:
        yield data[start:]


def _write_all(fd: int, data: bytes) -> None:
    """One `write()` for all of `data`, unless the kernel takes only part (a signal)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # a non-blocking pipe that is full: wait until it drains
            select.select([], [fd], [])
