"""The embedded backend: objects are files under one root directory.

Writes go to a temporary file beside the target, are fsynced and then renamed over it
(`os.replace` is atomic on POSIX), so a reader, another process or a crash never sees
half an object. `local_path` hands out the file itself: the single-machine default
keeps reading and writing in place, without copies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

import pyarrow.fs

from synthdata.artifacts.base import (
    PROBE_PREFIX,
    TEMP_PREFIX,
    ObjectInfo,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
    UnsafeKey,
    check_key,
    check_prefix,
)

COPY_BUFFER = 1024 * 1024


def _fsync_dir(directory: Path) -> None:
    # The rename itself must survive a crash, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through a temporary sibling: a clean exit fsyncs and renames it
    into place, an exception removes it and leaves any earlier `path` as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
    handle = temp.open("xb")
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temp, path)
        _fsync_dir(path.parent)
    except BaseException:
        handle.close()
        temp.unlink(missing_ok=True)
        raise


class LocalStore:
    """An ArtifactStore over a directory (the `local` backend)."""

    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def describe(self) -> str:
        return f"local:{self.root}"

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # Keys cannot hold "..", but a symbolic link inside the root could still lead out.
        if not path.resolve().is_relative_to(self.root):
            raise UnsafeKey(f"key leaves the store root: {key!r}")
        return path

    def _folder(self, prefix: str) -> Path:
        prefix = check_prefix(prefix)
        return self._path(prefix) if prefix else self.root

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(atomic_file(path))
            except OSError as exc:
                raise StoreError(f"cannot write {key!r} under {self.root}: {exc}") from exc
            yield handle

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r} in {self.describe()}") from None
        except OSError as exc:
            raise StoreError(f"cannot read {key!r} under {self.root}: {exc}") from exc
        with handle:
            yield handle

    def put_file(self, path: Path, key: str) -> int:
        with self.open_write(key) as out, Path(path).open("rb") as source:
            shutil.copyfileobj(source, out, COPY_BUFFER)
            return out.tell()

    def get_file(self, key: str, path: Path) -> int:
        with self.open_read(key) as source, atomic_file(Path(path)) as out:
            shutil.copyfileobj(source, out, COPY_BUFFER)
            return out.tell()

    def info(self, key: str) -> ObjectInfo | None:
        try:
            stat = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not S_ISREG(stat.st_mode):
            return None
        return ObjectInfo(key=key, size=stat.st_size, modified=stat.st_mtime)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        folder = self._folder(prefix)
        for directory, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if name.startswith(TEMP_PREFIX):
                    continue
                path = Path(directory, name)
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted while we walked
                    continue
                key = path.relative_to(self.root).as_posix()
                yield ObjectInfo(key=key, size=stat.st_size, modified=stat.st_mtime)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except IsADirectoryError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot delete {key!r} under {self.root}: {exc}") from exc

    def delete_prefix(self, prefix: str) -> int:
        if not check_prefix(prefix):
            raise UnsafeKey("delete_prefix needs a prefix: refusing to empty the whole store")
        folder = self._folder(prefix)
        deleted = sum(1 for _ in self.list(prefix))
        shutil.rmtree(folder, ignore_errors=True)
        return deleted

    def presign(self, key: str, seconds: int, filename: str | None = None) -> str | None:
        check_key(key)
        return None

    def local_path(self, key: str) -> Path | None:
        """The file that holds (or would hold) the object; it may not exist."""
        return self._path(key)

    def check(self) -> None:
        key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        try:
            with self.open_write(key) as out:
                out.write(b"ok")
            with self.open_read(key) as source:
                if source.read() != b"ok":
                    raise StoreError("the probe read back differently")
            self.delete(key)
        except (OSError, StoreError) as exc:
            raise StoreUnavailable(f"{self.describe()} is not usable: {exc}") from exc

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        return pyarrow.fs.LocalFileSystem(), str(self.root)
