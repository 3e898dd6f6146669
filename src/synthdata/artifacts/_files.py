"""File objects over obstore's reader and writer, as pyarrow, pandas and `shutil` expect.

Failures of the store inside `write` and `read` go to `fail`, which raises the
StoreError they mean (artifacts/s3.py decides which).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, NoReturn, cast

from obstore.exceptions import BaseError


class ObjectWriter(io.RawIOBase):
    """The BinaryIO face of an obstore writer (pyarrow and pandas need `tell`)."""

    mode = "wb"  # how pandas, behind wrappers, tells a binary handle from a text one

    def __init__(self, writer: Any, fail: Callable[[Exception], NoReturn]) -> None:
        self._writer = writer
        self._fail = fail
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            written = cast(int, self._writer.write(data))
        except BaseError as exc:
            self._fail(exc)
        self._position += written
        return written

    def tell(self) -> int:
        return self._position


class ObjectReader(io.RawIOBase):
    """The raw, seekable face of an obstore reader (each refill is one ranged GET)."""

    mode = "rb"

    def __init__(self, reader: Any, fail: Callable[[Exception], NoReturn]) -> None:
        self._reader = reader
        self._fail = fail

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._reader.read(len(view))
        except BaseError as exc:
            self._fail(exc)
        view[: len(data)] = memoryview(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return cast(int, self._reader.seek(offset, whence))

    def tell(self) -> int:
        return cast(int, self._reader.tell())

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()
