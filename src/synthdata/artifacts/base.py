"""The artifact store contract: one interface over a local directory and object storage.

Every artifact (uploaded datasets, trained models, job parts, manifests) is an object
named by a key: a posix path relative to the store's root (local) or bucket prefix
(S3). The API and the workers share nothing but this store, PostgreSQL and Redis, so
the contract fixes what both backends guarantee: writes stream and are atomic (a
reader sees the old object or the whole new one, never a part of it), reads stream
and seek, listing is recursive under a folder-like prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from synthdata.engine.errors import SynthDataError

if TYPE_CHECKING:  # pyarrow costs 0.1 s to import; the settings import this module
    import pyarrow.fs

TEMP_PREFIX = ".synthdata-tmp-"
"""Names of files being written (LocalStore); never listed, never a key segment."""

PROBE_PREFIX = ".synthdata-probe-"
"""Keys `check()` writes and deletes at once to prove the store works."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object, as listing and `info` report it."""

    key: str
    """Posix key relative to the store root (local) or the bucket prefix (S3)."""
    size: int
    """Bytes."""
    modified: float
    """Last modification, epoch seconds."""


class StoreError(SynthDataError):
    """The store failed to do what was asked (any backend failure)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refuses our credentials: nothing will work."""


class ObjectNotFound(StoreError, FileNotFoundError):
    """No object under this key (also a FileNotFoundError, as a missing local file was)."""


class UnsafeKey(ValueError):
    """A key that is not a plain relative posix path (the `UnsafePath` rule, for keys)."""


def check_key(key: str) -> str:
    """Return `key` if it names an object safely, else raise UnsafeKey.

    Refused: empty keys, a leading "/", "." or ".." or empty segments, backslashes,
    control characters, and the temporary-file prefix. A key built from checked ids
    can then never leave the root directory or the bucket prefix.
    """
    if not isinstance(key, str) or not key:
        raise UnsafeKey(f"not a safe storage key: {key!r}")
    if key.startswith("/") or "\\" in key or _CONTROL.search(key):
        raise UnsafeKey(f"not a safe storage key: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or segment.startswith(TEMP_PREFIX):
            raise UnsafeKey(f"not a safe storage key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """Normalise a folder-like prefix: "" (everything) or a checked key without a
    trailing "/". "a/b" and "a/b/" both mean the objects under the folder a/b."""
    if not isinstance(prefix, str):
        raise UnsafeKey(f"not a safe storage prefix: {prefix!r}")
    stripped = prefix[:-1] if prefix.endswith("/") else prefix
    return check_key(stripped) if stripped else ""


def relative_to(base: str, key: str) -> str:
    """`key` without the folder `base` (used to strip a bucket prefix)."""
    return key[len(base) + 1 :] if base else key


@runtime_checkable
class ArtifactStore(Protocol):
    """What every backend implements; see docs/storage.md for the guarantees."""

    backend: str
    """"local" or "s3" (the `backend` label of the store metrics)."""

    def describe(self) -> str:
        """Where the store is, for logs and health checks; never credentials."""
        ...

    def open_write(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A streaming, atomic writer: a clean exit commits, an exception aborts and
        leaves any earlier object intact. Overwriting an existing key is allowed."""
        ...

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A seekable streaming reader; raises ObjectNotFound."""
        ...

    def put_file(self, path: Path, key: str) -> int:
        """Stream a local file into the store; return the bytes written."""
        ...

    def get_file(self, key: str, path: Path) -> int:
        """Stream an object into a local file, atomically; return the bytes read."""
        ...

    def info(self, key: str) -> ObjectInfo | None:
        """The object's size and time, or None when there is none."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under the folder `prefix` ("" for all), recursively."""
        ...

    def delete(self, key: str) -> None:
        """Delete one object; a missing one is fine (deletion may run twice)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under the folder `prefix`; return how many."""
        ...

    def presign(self, key: str, seconds: int, filename: str | None = None) -> str | None:
        """A URL anyone may GET for `seconds` (None: the backend has no such URLs)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's own file when the backend is a directory (zero copy), else None."""
        ...

    def check(self) -> None:
        """Write, read back and delete a probe object; raise StoreUnavailable if any fails."""
        ...

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        """A pyarrow filesystem and the base path under which the keys live."""
        ...
