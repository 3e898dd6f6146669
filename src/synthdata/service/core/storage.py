"""Where artifacts live: the key layout of uploads, models, job parts and results.

Every key is derived from ids alone, so a re-run of a task writes to the same key
(idempotent), and the database stores keys where it stored paths relative to the data
directory (the same strings: on the local backend a key is that relative path). Ids
are checked against `SAFE_ID`, and the store refuses any key that could leave its root
(`UnsafeKey`, here also `UnsafePath`): the API validates ids at its edge, and this is
the last line behind it.

The objects themselves live in an `ArtifactStore` (a local directory or an S3 bucket,
`synthdata.artifacts`). A worker that needs a file (a model to load, a dataset to fit)
gets it with `fetch`: the stored file itself on the local backend, else a copy in the
process-private `work_dir`, downloaded once.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import shutil
import threading
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from synthdata.artifacts.base import ArtifactStore, ObjectNotFound, UnsafeKey, check_key
from synthdata.artifacts.config import open_store, store_config
from synthdata.engine.table_scan import TableSource

if TYPE_CHECKING:
    from synthdata.service.core.settings import Settings

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""What an id (and a format) used as one key segment may look like: no dots, no slashes."""

CUSTOMERS = "customers"
"""The prefix that holds every customer's artifacts (and nothing else)."""

UnsafePath = UnsafeKey
"""An id that is not a plain segment, or a key that would leave the store's root."""

_LOCKS = 64  # striped locks for concurrent fetches: one download per key at a time


def _segment(value: str) -> str:
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        raise UnsafePath(f"not a safe storage id: {value!r}")
    return value


class Storage:
    """The layout of keys by customer and object id, over one `ArtifactStore`."""

    def __init__(self, store: ArtifactStore, work_dir: Path) -> None:
        self.store = store
        self.work_dir = Path(work_dir)
        self._locks = [threading.Lock() for _ in range(_LOCKS)]

    @classmethod
    def open(cls, settings: Settings) -> Storage:
        """The storage the settings describe (the embedded default: data_dir)."""
        return cls(open_store(store_config(settings)), settings.work_dir)

    # -- layout ---------------------------------------------------------------------------
    def _object_dir(self, customer_id: str, kind: str, object_id: str) -> str:
        return f"{CUSTOMERS}/{_segment(customer_id)}/{kind}/{_segment(object_id)}"

    def dataset_dir(self, customer_id: str, dataset_id: str) -> str:
        return self._object_dir(customer_id, "datasets", dataset_id)

    def dataset_file(self, customer_id: str, dataset_id: str, fmt: str) -> str:
        return f"{self.dataset_dir(customer_id, dataset_id)}/data.{_segment(fmt)}"

    def model_dir(self, customer_id: str, model_id: str) -> str:
        return self._object_dir(customer_id, "models", model_id)

    def model_file(self, customer_id: str, model_id: str) -> str:
        return f"{self.model_dir(customer_id, model_id)}/model.synth"

    def job_dir(self, customer_id: str, job_id: str) -> str:
        return self._object_dir(customer_id, "jobs", job_id)

    def job_model_file(self, customer_id: str, job_id: str) -> str:
        """The model fitted for a job that was given a dataset rather than a model."""
        return f"{self.job_dir(customer_id, job_id)}/model.synth"

    def part_file(self, customer_id: str, job_id: str, index: int, fmt: str) -> str:
        return f"{self.job_dir(customer_id, job_id)}/parts/part-{int(index):05d}.{_segment(fmt)}"

    def manifest_file(self, customer_id: str, job_id: str) -> str:
        """The job's manifest: written last, the only list of its parts readers trust."""
        return f"{self.job_dir(customer_id, job_id)}/manifest.json"

    def result_file(self, customer_id: str, job_id: str, fmt: str) -> str:
        return f"{self.job_dir(customer_id, job_id)}/result.{_segment(fmt)}"

    # -- objects --------------------------------------------------------------------------
    def fetch(self, key: str) -> Path:
        """A local file with the object's bytes, to read (never to write).

        The stored file itself on the local backend; otherwise a copy under `work_dir`,
        downloaded on the first call (concurrent callers wait for that one download).
        Keys name immutable objects (ids are never reused), so a copy stays valid.
        Raises `ObjectNotFound` (a `FileNotFoundError`, and a `SynthDataError` whose
        text names the key, never the store) when there is no such object.
        """
        local = self._local_file(key)
        if local is not None:
            return local
        copy = self._copy_of(key)
        if copy.is_file():
            return copy
        with self._locks[zlib.crc32(key.encode()) % _LOCKS]:
            if not copy.is_file():
                try:
                    self.store.get_file(key, copy)  # atomic: never a partial copy
                except ObjectNotFound:  # the same words as above, without the bucket
                    raise ObjectNotFound(f"stored object not found: {key}") from None
        return copy

    def _local_file(self, key: str) -> Path | None:
        """The stored file itself on the local backend (ObjectNotFound if absent);
        None on a backend without local files."""
        check_key(key)
        local = self.store.local_path(key)
        if local is not None and not local.is_file():
            raise ObjectNotFound(f"stored object not found: {key}")
        return local

    def table_source(self, key: str) -> Path | TableSource:
        """Where the engine reads a stored table to fit on: the file itself on the local
        backend, else the object through Arrow's filesystem, read batch by batch into a
        bounded sample (`engine.loading`), with no copy on local disk."""
        local = self._local_file(key)
        if local is not None:
            return local
        if self.store.info(key) is None:
            raise ObjectNotFound(f"stored object not found: {key}")
        filesystem, base = self.store.arrow_filesystem()
        return TableSource(filesystem, f"{base}/{key}")

    def evict(self, key_or_prefix: str) -> None:
        """Drop the local copies `fetch` made of a key or of everything under a prefix
        (the stored objects stay); nothing to do on the local backend."""
        check_key(key_or_prefix.rstrip("/"))
        copy = self._copy_of(key_or_prefix.rstrip("/"))
        if copy.is_dir():
            shutil.rmtree(copy, ignore_errors=True)
        else:
            copy.unlink(missing_ok=True)

    def publish(self, path: Path, key: str) -> int:
        """Store the local file `path` as `key`, then remove it; returns its size.

        On the local backend the file is renamed into place when `work_dir` is on the
        data directory's filesystem: copying a 200 MB part doubled the disk writes of
        a job, and the writeback slowed every request that commits to SQLite."""
        target = self.store.local_path(key)
        if target is not None:
            try:
                return _move_into_place(path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:  # another filesystem: copy below
                    raise
        size = self.store.put_file(path, key)
        path.unlink(missing_ok=True)
        return size

    def scratch(self, name: str) -> Path:
        """A fresh path in `work_dir` for a file about to be written and published."""
        folder = self.work_dir / "scratch"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{uuid.uuid4().hex}-{Path(name).name}"

    def exists(self, key: str) -> bool:
        return self.store.info(key) is not None

    def remove_tree(self, prefix: str) -> int:
        """Delete every object under the folder key `prefix`; missing is fine (a
        deletion may run twice). Returns how many were deleted."""
        folder = prefix.rstrip("/")
        check_key(folder)
        self.evict(folder)
        return self.store.delete_prefix(folder + "/")

    def remove_file(self, key: str) -> None:
        self.evict(key)
        self.store.delete(key)

    def check(self) -> None:
        """Raise unless an object can be written, read and deleted (`/readyz`)."""
        self.store.check()

    def _copy_of(self, key: str) -> Path:
        return self.work_dir.joinpath("objects", *posixpath.normpath(key).split("/"))


def _move_into_place(path: Path, target: Path) -> int:
    """Rename a finished local file to `target` durably (its data, then the folder)."""
    size = path.stat().st_size
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return size
