"""Receiving a multipart upload straight to disk, with a size limit enforced while streaming.

FastAPI's `UploadFile` spools the whole body before the view runs, so a limit
checked there comes after the bytes were taken; here the body is parsed as it
arrives and refused with 413 as soon as the file part passes the limit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
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


@dataclass
class Upload:
    """What arrived: the file's original name and size, and the small text fields."""

    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    def __init__(self, target: Path, max_bytes: int) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.file: IO[bytes] | None = None
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
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.target.open("wb")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == FILE_FIELD and self.file is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise Problem(
                    413,
                    f"the upload exceeds the limit of {self.max_bytes:,} bytes",
                    kind="payload-too-large",
                )
            self.file.write(data[start:end])
        elif self._name:
            self._text += data[start:end]
            if len(self._text) > _MAX_TEXT_FIELD:
                raise Problem(
                    422, f"form field {self._name!r} is too long", kind="validation-error"
                )

    def part_end(self) -> None:
        if self._name == FILE_FIELD and self.file is not None:
            self.file.close()
            self.file = None
        elif self._name and self._name not in self.upload.fields:
            value = self._text.decode("utf-8", "replace")
            _refuse_nul(value, f"form field {self._name!r}")
            self.upload.fields[self._name] = value


async def receive_upload(request: Request, target: Path, max_bytes: int) -> Upload:
    """Stream the `file` part of a multipart/form-data request to `target`."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, "send the table as multipart/form-data with a 'file' part")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + OVERHEAD:
        raise Problem(
            413, f"the upload exceeds the limit of {max_bytes:,} bytes", kind="payload-too-large"
        )
    receiver = _Receiver(target, max_bytes)
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
        parser.finalize()
    except MultipartParseError as exc:
        _discard(receiver, target)
        raise Problem(400, f"malformed multipart body: {exc}", kind="bad-request") from None
    except BaseException:
        _discard(receiver, target)
        raise
    if not receiver._seen_file:
        _discard(receiver, target)
        raise Problem(422, "the form has no 'file' part", kind="validation-error")
    if receiver.file is not None:  # the body ended inside the file part
        _discard(receiver, target)
        raise Problem(400, "the upload was cut off before its end", kind="bad-request")
    data_processed_bytes_total.labels("in").inc(receiver.upload.size)
    return receiver.upload


def _refuse_nul(value: str, what: str) -> None:
    # PostgreSQL cannot store a NUL in text; refuse it here, not as a 500 at the insert.
    if "\x00" in value:
        raise Problem(422, f"{what} contains a NUL character", kind="validation-error")


def _discard(receiver: _Receiver, target: Path) -> None:
    if receiver.file is not None:
        with contextlib.suppress(OSError):  # e.g. a full disk again, flushing the buffer
            receiver.file.close()
        receiver.file = None
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
