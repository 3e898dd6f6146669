"""The object-storage backend: an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, ...).

Built on obstore, the Python binding of Rust's `object_store` crate (the one
DataFusion and delta-rs use): streaming multipart uploads that abort on error,
ranged reads behind a seekable file object, bulk deletes, presigned URLs and retries
with backoff, in one small dependency without boto. Keys are relative to the
configured prefix inside the bucket; obstore adds the prefix to every request.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast
from urllib.parse import urlsplit

import obstore
import pyarrow.fs
from obstore.exceptions import (
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from obstore.store import S3Store as ObjectStore

from synthdata.artifacts._files import ObjectReader, ObjectWriter
from synthdata.artifacts.base import (
    PROBE_PREFIX,
    ObjectInfo,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
    UnsafeKey,
    check_key,
    check_prefix,
)
from synthdata.artifacts.local import atomic_file
from synthdata.artifacts.presign import presign_get

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

    from synthdata.artifacts.config import StoreConfig

PART_BYTES = 8 * 1024 * 1024
"""Multipart part size: a streamed write holds at most this much (times the uploads in
flight) in memory; S3 wants at least 5 MiB per part."""
UPLOADS_IN_FLIGHT = 4
READ_BUFFER = 1024 * 1024
"""Bytes per ranged GET of a streamed read (and of the local buffer in front of it)."""
DELETE_BATCH = 1000  # S3's DeleteObjects limit

_RETRY: RetryConfig = {
    "max_retries": 5,
    "retry_timeout": timedelta(seconds=60),
    "backoff": {
        "init_backoff": timedelta(milliseconds=100),
        "max_backoff": timedelta(seconds=5),
        "base": 2,
    },
}
# `check()` answers readiness probes: one try, quickly, rather than a minute of retries.
_PROBE_RETRY: RetryConfig = {"max_retries": 0, "retry_timeout": timedelta(seconds=5)}


class S3Store:
    """An ArtifactStore over `s3://bucket/prefix` (the `s3` backend)."""

    backend = "s3"

    def __init__(self, config: StoreConfig) -> None:
        if not config.bucket:
            raise StoreError("the s3 store needs a bucket (SYNTHDATA_S3_BUCKET)")
        self.config = config
        self.bucket = config.bucket
        self.prefix = check_prefix(config.prefix)
        self._store = self._open(_RETRY)
        self._probe_store = self._open(_PROBE_RETRY)

    def _open(self, retry: RetryConfig) -> ObjectStore:
        config = self.config
        settings: S3Config = {"region": config.region}
        if config.endpoint:
            settings["endpoint"] = config.endpoint
        if config.access_key_id:
            settings["access_key_id"] = config.access_key_id
        if config.secret_access_key is not None:
            settings["secret_access_key"] = config.secret_access_key.get_secret_value()
        if config.session_token is not None:
            settings["session_token"] = config.session_token.get_secret_value()
        client: ClientConfig = {"allow_http": config.allow_http, "connect_timeout": "5s"}
        return ObjectStore(
            self.bucket,
            prefix=self.prefix or None,
            config=settings,
            client_options=client,
            retry_config=retry,
        )

    def describe(self) -> str:
        where = self.config.endpoint or f"AWS {self.config.region}"
        return f"s3://{self.bucket}/{self.prefix} at {where}"

    def _fail(self, exc: Exception, key: str) -> NoReturn:
        """Raise the store error an obstore failure means (never with credentials)."""
        if isinstance(exc, NotFoundError | FileNotFoundError):
            raise ObjectNotFound(f"no object {key!r} in {self.describe()}") from exc
        if isinstance(exc, PermissionDeniedError | UnauthenticatedError):
            raise StoreUnavailable(f"{self.describe()} refused our credentials") from exc
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"{self.describe()}: {key!r}: {reason}") from exc

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        key = check_key(key)
        writer = obstore.open_writer(
            self._store, key, buffer_size=PART_BYTES, max_concurrency=UPLOADS_IN_FLIGHT
        )
        # The writer's own exit aborts the multipart upload when the body raises, and
        # completes it (one PUT for a small object) on a clean exit. Only the store's
        # failures become StoreErrors; the caller's own exceptions pass unchanged.
        body_done = False
        try:
            with writer:
                yield cast(BinaryIO, ObjectWriter(writer, lambda exc: self._fail(exc, key)))
                body_done = True
        except (BaseError, OSError) as exc:
            if body_done:
                self._fail(exc, key)
            raise

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        key = check_key(key)
        try:
            reader = obstore.open_reader(self._store, key, buffer_size=READ_BUFFER)
        except (BaseError, FileNotFoundError) as exc:
            self._fail(exc, key)
        raw = ObjectReader(reader, lambda exc: self._fail(exc, key))
        with io.BufferedReader(raw, buffer_size=READ_BUFFER) as handle:
            yield cast(BinaryIO, handle)

    def put_file(self, path: Path, key: str) -> int:
        key = check_key(key)
        path = Path(path)
        size = path.stat().st_size
        try:
            obstore.put(
                self._store,
                key,
                path,
                chunk_size=PART_BYTES,
                max_concurrency=UPLOADS_IN_FLIGHT,
            )
        except BaseError as exc:
            self._fail(exc, key)
        return size

    def get_file(self, key: str, path: Path) -> int:
        key = check_key(key)
        try:
            result = obstore.get(self._store, key)
            with atomic_file(Path(path)) as out:
                for chunk in result.stream(min_chunk_size=READ_BUFFER):
                    out.write(memoryview(chunk))
                return out.tell()
        except (BaseError, FileNotFoundError) as exc:
            self._fail(exc, key)

    def info(self, key: str) -> ObjectInfo | None:
        key = check_key(key)
        try:
            meta = obstore.head(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return None
        except BaseError as exc:
            self._fail(exc, key)
        return ObjectInfo(key=key, size=meta["size"], modified=meta["last_modified"].timestamp())

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        prefix = check_prefix(prefix)
        try:
            for batch in obstore.list(self._store, prefix or None, chunk_size=1000):
                for meta in batch:
                    yield ObjectInfo(
                        key=meta["path"],
                        size=meta["size"],
                        modified=meta["last_modified"].timestamp(),
                    )
        except BaseError as exc:
            self._fail(exc, prefix)

    def delete(self, key: str) -> None:
        key = check_key(key)
        try:
            obstore.delete(self._store, key)
        except (NotFoundError, FileNotFoundError):
            pass
        except BaseError as exc:
            self._fail(exc, key)

    def delete_prefix(self, prefix: str) -> int:
        if not check_prefix(prefix):
            raise UnsafeKey("delete_prefix needs a prefix: refusing to empty the whole store")
        keys = [found.key for found in self.list(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            try:
                obstore.delete(self._store, batch)
            except (NotFoundError, FileNotFoundError):
                pass
            except BaseError as exc:
                self._fail(exc, prefix)
        return len(keys)

    def presign(self, key: str, seconds: int, filename: str | None = None) -> str | None:
        key = check_key(key)
        if filename is None:
            try:
                return obstore.sign(self._store, "GET", key, timedelta(seconds=seconds))
            except BaseError as exc:
                self._fail(exc, key)
        return presign_get(self.config, self._full_key(key), seconds, filename)

    def _full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def check(self) -> None:
        key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        try:
            obstore.put(self._probe_store, key, b"ok")
            if bytes(obstore.get(self._probe_store, key).bytes()) != b"ok":
                raise StoreError("the probe read back differently")
            obstore.delete(self._probe_store, key)
        except (BaseError, OSError, StoreError) as exc:
            raise StoreUnavailable(
                f"{self.describe()} is not usable: {type(exc).__name__}"
            ) from exc

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        config = self.config
        options: dict[str, Any] = {"region": config.region}
        if config.endpoint:
            parts = urlsplit(config.endpoint)
            options["endpoint_override"] = parts.netloc
            options["scheme"] = parts.scheme or "https"
        if config.access_key_id and config.secret_access_key is not None:
            options["access_key"] = config.access_key_id
            options["secret_key"] = config.secret_access_key.get_secret_value()
            if config.session_token is not None:
                options["session_token"] = config.session_token.get_secret_value()
        base = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return pyarrow.fs.S3FileSystem(**options), base
