"""The wrapper that records the store metrics around any backend.

The metrics themselves are part of the one metric contract, observability/metrics.py
(`synthdata_store_*`), so `/metrics` renders them with the rest. Labels carry the
backend name and the operation, never a key, a bucket or a credential: keys are
unbounded and the rest is configuration, not measurement.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pyarrow.fs

from synthdata.artifacts.base import ArtifactStore, ObjectInfo, ObjectNotFound
from synthdata.observability.metrics import (
    STORE_OPERATIONS,
    STORE_OUTCOMES,
    store_bytes_total,
    store_orphan_objects,
    store_request_duration_seconds,
    store_requests_total,
    store_up,
)

__all__ = ["InstrumentedStore", "store_orphan_objects", "store_up"]


class _Counted:
    """A file object that counts the bytes that pass through it, delegating the rest."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.count = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __iter__(self) -> Iterator[bytes]:
        for line in self._inner:
            self.count += len(line)
            yield line

    def write(self, data: Any) -> int:
        written = self._inner.write(data)
        self.count += written if written is not None else len(memoryview(data).cast("B"))
        return written

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.count += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data = cast(Any, self._inner).read1(size)
        self.count += len(data)
        return cast(bytes, data)

    def readline(self, size: int = -1) -> bytes:
        data = self._inner.readline(size)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        read = cast(Any, self._inner).readinto(buffer)
        self.count += read or 0
        return cast(int, read)


class InstrumentedStore:
    """An ArtifactStore that records the store metrics around another one."""

    def __init__(self, inner: ArtifactStore) -> None:
        self.inner = inner
        self.backend = inner.backend
        # Every series exists from the start, so that a rate() over the first error is
        # not lost to a series that appeared with it.
        for operation in STORE_OPERATIONS:
            for outcome in STORE_OUTCOMES:
                store_requests_total.labels(self.backend, operation, outcome)
            store_request_duration_seconds.labels(self.backend, operation)
        for direction in ("written", "read"):
            store_bytes_total.labels(self.backend, direction)

    @contextlib.contextmanager
    def _measure(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except ObjectNotFound:
            outcome = "not_found"
            raise
        except GeneratorExit:  # a caller that stopped listing early: not a failure
            outcome = "ok"
            raise
        finally:
            store_requests_total.labels(self.backend, operation, outcome).inc()
            store_request_duration_seconds.labels(self.backend, operation).observe(
                time.perf_counter() - started
            )

    def _bytes(self, direction: str, count: int) -> None:
        store_bytes_total.labels(self.backend, direction).inc(count)

    def describe(self) -> str:
        return self.inner.describe()

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        with self._measure("put"), self.inner.open_write(key) as handle:
            counted = _Counted(handle)
            yield cast(BinaryIO, counted)
        self._bytes("written", counted.count)

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        counted: _Counted | None = None
        try:
            with self._measure("get"), self.inner.open_read(key) as handle:
                counted = _Counted(handle)
                yield cast(BinaryIO, counted)
        finally:
            if counted is not None:
                self._bytes("read", counted.count)

    def put_file(self, path: Path, key: str) -> int:
        with self._measure("put"):
            written = self.inner.put_file(path, key)
        self._bytes("written", written)
        return written

    def get_file(self, key: str, path: Path) -> int:
        with self._measure("get"):
            read = self.inner.get_file(key, path)
        self._bytes("read", read)
        return read

    def info(self, key: str) -> ObjectInfo | None:
        started = time.perf_counter()
        outcome = "error"
        try:
            found = self.inner.info(key)
            outcome = "ok" if found is not None else "not_found"
            return found
        finally:
            store_requests_total.labels(self.backend, "head", outcome).inc()
            store_request_duration_seconds.labels(self.backend, "head").observe(
                time.perf_counter() - started
            )

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        with self._measure("list"):
            yield from self.inner.list(prefix)

    def delete(self, key: str) -> None:
        with self._measure("delete"):
            self.inner.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        with self._measure("delete"):
            return self.inner.delete_prefix(prefix)

    def presign(self, key: str, seconds: int, filename: str | None = None) -> str | None:
        with self._measure("presign"):
            return self.inner.presign(key, seconds, filename)

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    def check(self) -> None:
        try:
            with self._measure("check"):
                self.inner.check()
        except Exception:
            store_up.labels(self.backend).set(0)
            raise
        store_up.labels(self.backend).set(1)

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        return self.inner.arrow_filesystem()
