"""Receiving a multipart upload straight into the artifact store, with a size limit
enforced while streaming.

FastAPI's `UploadFile` spools the whole body before the view runs, so a limit
checked there comes after the bytes were taken; here the body is parsed as it
arrives, written as it comes to the writer the caller opens for the file part (a
store's `open_write`: a local temporary file, or an S3 multipart upload), and refused
with 413 as soon as the file part passes the limit. Nothing is copied in full to
memory or local disk first; a failed upload aborts the writer, so no object is left.
The parser runs on the event loop and only collects the file's bytes; they go to the
writer `FLUSH_BYTES` at a time on a thread, as do the commit and the abort, because
on S3 each may wait for the network (a part upload) and must not stall other requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from synthdata.observability.metrics import data_processed_bytes_total
from synthdata.service.core.problems import Problem

FILE_FIELD = "file"
_MAX_TEXT_FIELD = 1024
# The form has two parts (`file`, `name`): room for clients that add a few. The
# headers of each part are bounded by python-multipart (8 lines of at most 4 KiB).
_MAX_PARTS = 8
MAX_PARTS = _MAX_PARTS  # public: the upload's OpenAPI schema states it (views.py)
OVERHEAD = 128 * 1024  # room for the other parts, headers and boundaries around the file
FLUSH_BYTES = 1024 * 1024  # file bytes handed to the writer at a time (one thread hop)


@dataclass
class Upload:
    """What arrived: the file's original name and size, and the small text fields."""

    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


OpenTarget = Callable[[str], AbstractContextManager[BinaryIO]]
"""Opens the writer of the file part, given the file's (cleaned) name; may refuse it."""


class _Aborted(Exception):
    """Thrown into the writer of a failed upload, so that it keeps nothing."""


class _Receiver:
    def __init__(self, open_target: OpenTarget, max_bytes: int) -> None:
        self.open_target = open_target
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.file: BinaryIO | None = None
        self._writer = contextlib.ExitStack()
        self._pending = bytearray()  # file bytes parsed, not yet given to the writer
        self._file_ended = False
        self._seen_file = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._name = ""
        self._text = bytearray()
        self._parts = 0

    # Callbacks, in the order python-multipart calls them.
    def part_begin(self) -> None:
        self._headers, self._name, self._text = {}, "", bytearray()
        self._parts += 1
        if self._parts > _MAX_PARTS:
            # 422, not 413: the form breaks the documented schema (at most `file` and
            # `name`), whatever its size; the body limit answers 413 for size.
            raise Problem(
                422, f"the form has more than {_MAX_PARTS} parts", kind="validation-error"
            )

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == FILE_FIELD and not self._seen_file:
            self._seen_file = True
            raw = options.get(b"filename", b"upload").decode("utf-8", "replace")
            _refuse_nul(raw, "the file name")
            self.upload.filename = Path(raw.replace("\\", "/")).name[:255] or "upload"
            self.file = self._writer.enter_context(self.open_target(self.upload.filename))

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == FILE_FIELD and self.file is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise Problem(
                    413,
                    f"the upload exceeds the limit of {self.max_bytes:,} bytes",
                    kind="payload-too-large",
                )
            self._pending += data[start:end]
        elif self._name:
            self._text += data[start:end]
            if len(self._text) > _MAX_TEXT_FIELD:
                raise Problem(
                    422, f"form field {self._name!r} is too long", kind="validation-error"
                )

    def part_end(self) -> None:
        if self._name == FILE_FIELD and self.file is not None:
            self._file_ended = True  # committed by `drain`, off the event loop
        elif self._name and self._name not in self.upload.fields:
            value = self._text.decode("utf-8", "replace")
            _refuse_nul(value, f"form field {self._name!r}")
            self.upload.fields[self._name] = value

    async def drain(self, *, final: bool = False) -> None:
        """Hand the collected bytes to the writer once there are enough (or the file
        part has ended, or the body has), then commit the object if the part ended."""
        file = self.file
        if file is None:
            return
        if self._pending and (len(self._pending) >= FLUSH_BYTES or self._file_ended or final):
            data = bytes(self._pending)
            self._pending.clear()
            await run_in_threadpool(file.write, data)
        if self._file_ended:
            self.file = None
            await run_in_threadpool(self._writer.close)  # commits (an error propagates)

    async def abort(self) -> None:
        """Abort an unfinished writer: the store keeps nothing of this upload. Shielded:
        a client's disconnect (a cancellation) must not leave a half-written object."""
        if self.file is None:
            return
        self.file = None
        self._pending.clear()
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(self._abort_writer)

    def _abort_writer(self) -> None:
        error = _Aborted()
        with contextlib.suppress(Exception):  # e.g. a full disk again, flushing the buffer
            self._writer.__exit__(_Aborted, error, None)


async def receive_upload(request: Request, open_target: OpenTarget, max_bytes: int) -> Upload:
    """Stream the `file` part of a multipart/form-data request into the writer that
    `open_target(filename)` opens; on any failure the writer is aborted."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "send the table as multipart/form-data with a 'file' part")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + OVERHEAD:
        raise Problem(
            413, f"the upload exceeds the limit of {max_bytes:,} bytes", kind="payload-too-large"
        )
    receiver = _Receiver(open_target, max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.part_begin,
            "on_part_data": receiver.part_data,
            "on_part_end": receiver.part_end,
            "on_header_field": receiver.header_field,
            "on_header_value": receiver.header_value,
            "on_header_end": receiver.header_end,
            "on_headers_finished": receiver.headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await receiver.drain()
        parser.finalize()
        await receiver.drain(final=True)
    except MultipartParseError as exc:
        await receiver.abort()
        raise Problem(400, f"malformed multipart body: {exc}", kind="bad-request") from None
    except BaseException:
        await receiver.abort()
        raise
    if not receiver._seen_file:
        await receiver.abort()
        raise Problem(422, "the form has no 'file' part", kind="validation-error")
    if receiver.file is not None:  # the body ended inside the file part
        await receiver.abort()
        raise Problem(400, "the upload was cut off before its end", kind="bad-request")
    data_processed_bytes_total.labels("in").inc(receiver.upload.size)
    return receiver.upload


def _refuse_nul(value: str, what: str) -> None:
    # PostgreSQL cannot store a NUL in text; refuse it here, not as a 500 at the insert.
    if "\x00" in value:
        raise Problem(422, f"{what} contains a NUL character", kind="validation-error")
