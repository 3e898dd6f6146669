"""The orphan sweep: remove objects under `customers/` that no row references.

Terminal states clean up after themselves (`jobs/leftovers.py`); this catches the rest:
a process killed between writing an object and recording it, a customer deleted with
its rows, a part written by a duplicate delivery after its job finished. An object is
kept when

- a row references it (a dataset's, a ready model's or a job's result `path`), or it is
  a part of a job whose result is a manifest (`.../jobs/<id>/manifest.json`), or
- it lies in the folder of work in progress (an active job, a model being trained), or
- it is younger than the grace period (an upload or a fit may still be recording it).

The objects are listed (`ArtifactStore.list`, the same on a directory and a bucket)
before the references are read, so an object that is written and recorded while the
sweep runs is either not listed or seen as referenced. Only the `customers/` prefix is
swept: the model cache, the local queue and a SQLite database may live beside it in
the data directory and are never touched. What stays unreferenced after a sweep sets
`synthdata_store_orphan_objects` (alert ObjectStoreOrphansHigh).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthdata.artifacts.base import TEMP_PREFIX, ObjectInfo, StoreError, UnsafeKey
from synthdata.artifacts.metrics import store_orphan_objects
from synthdata.jobs.models import ACTIVE_STATES, Job
from synthdata.service.core.storage import CUSTOMERS, Storage
from synthdata.service.datasets.models import Dataset
from synthdata.service.models.models import ModelState, SynthModel

log = logging.getLogger("synthdata.jobs")

_BATCH = 500  # keys per IN (...) query: well under every driver's parameter limit
_OBJECT_DEPTH = 4  # customers/<customer>/<kind>/<object id>


@dataclass
class Sweep:
    """What one sweep found (and, unless `dry_run`, removed)."""

    dry_run: bool
    scanned: int = 0
    young: int = 0  # unreferenced, but younger than the grace period: kept for now
    removed: list[str] = field(default_factory=list)  # keys (paths under the data directory)
    removed_bytes: int = 0
    failed: int = 0  # unreferenced and old, but the store refused to delete them


@dataclass(frozen=True)
class _Folder:
    relative: str
    mtime: float


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _referenced(session: Session, candidates: list[str]) -> set[str]:
    """Which of `candidates` (keys) a dataset, model or job result points to."""
    found: set[str] = set()
    columns = (Dataset.path, SynthModel.path, Job.result_path)
    for batch in _batches(candidates):
        for column in columns:
            found.update(p for p in session.scalars(select(column).where(column.in_(batch))) if p)
    return found


def _live_folders(session: Session) -> set[str]:
    """Object folders of work in progress, whose objects no row references yet."""
    jobs = session.execute(select(Job.customer_id, Job.id).where(Job.state.in_(ACTIVE_STATES)))
    models = session.execute(
        select(SynthModel.customer_id, SynthModel.id).where(
            SynthModel.state == ModelState.TRAINING.value
        )
    )
    return {f"{CUSTOMERS}/{c}/jobs/{j}" for c, j in jobs} | {
        f"{CUSTOMERS}/{c}/models/{m}" for c, m in models
    }


def _object_folder(key: str) -> str:
    return "/".join(key.split("/")[:_OBJECT_DEPTH])


def _manifest_of(key: str) -> str | None:
    """The manifest that lists `key` when it is a job's part: parts are in no column,
    the manifest (a job's `result_path`) names them."""
    segments = key.split("/")
    if len(segments) > _OBJECT_DEPTH + 1 and segments[2] == "jobs" and segments[4] == "parts":
        return "/".join(segments[:_OBJECT_DEPTH]) + "/manifest.json"
    return None


def _local_folders(storage: Storage) -> tuple[list[_Folder], list[_Folder]]:
    """The folders under `customers/` when the store is a directory (listed before
    anything is deleted, with their times then), and the temporary files of writes a
    killed process never finished (which `list` never shows); a bucket has neither
    (an aborted multipart upload is the bucket's to expire)."""
    root = storage.store.local_path(CUSTOMERS)
    if root is None or not root.is_dir():
        return [], []
    base = root.parent
    folders: list[_Folder] = []
    temporary: list[_Folder] = []
    for folder, _dirs, names in os.walk(root):
        here = Path(folder)
        for path in (here, *(here / n for n in names if n.startswith(TEMP_PREFIX))):
            try:
                mtime = path.lstat().st_mtime
            except FileNotFoundError:  # removed while we walked
                continue
            entry = _Folder(path.relative_to(base).as_posix(), mtime)
            (folders if path == here else temporary).append(entry)
    return folders, temporary


def sweep_orphans(
    sessions: sessionmaker[Session],
    storage: Storage,
    grace_seconds: float,
    *,
    dry_run: bool = False,
    now: float | None = None,
) -> Sweep:
    """Remove (or with `dry_run`, only list) orphans older than `grace_seconds`."""
    cutoff = (time.time() if now is None else now) - grace_seconds
    sweep = Sweep(dry_run=dry_run)
    folders, temporary = _local_folders(storage)
    objects: list[ObjectInfo] = list(storage.store.list(f"{CUSTOMERS}/"))
    sweep.scanned = len(objects)
    # Autocommit reads (as `Platform.read`): on SQLite no write lock is held while the
    # references are looked up. Work in progress is read first, so a job or model that
    # ends in between is found by its recorded path instead.
    with sessions.kw["bind"].connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=connection) as session:
            live = _live_folders(session)
            unclaimed = [o for o in objects if _object_folder(o.key) not in live]
            keys = {o.key for o in unclaimed}
            keys.update(m for m in map(_manifest_of, list(keys)) if m)
            referenced = _referenced(session, sorted(keys))
    for entry in unclaimed:
        if entry.key in referenced or _manifest_of(entry.key) in referenced:
            continue
        if entry.modified > cutoff:
            sweep.young += 1
            continue
        if not dry_run and not _delete(storage, entry.key):
            sweep.failed += 1
            continue
        sweep.removed.append(entry.key)
        sweep.removed_bytes += entry.size
    # What is still unreferenced once this sweep is done (alert ObjectStoreOrphansHigh).
    store_orphan_objects.set(sweep.young + sweep.failed + (len(sweep.removed) if dry_run else 0))
    if not dry_run:
        _prune(storage, folders, temporary, cutoff, live)
    return sweep


def _delete(storage: Storage, key: str) -> bool:
    try:
        storage.store.delete(key)
    except (StoreError, UnsafeKey) as exc:  # e.g. a symlink out of the root: left alone
        log.warning("orphan sweep: could not delete %s: %s", key, exc)
        return False
    return True


def _prune(
    storage: Storage,
    folders: Iterable[_Folder],
    temporary: Iterable[_Folder],
    cutoff: float,
    live: set[str],
) -> None:
    """Remove old temporary files, then emptied object folders (and their subfolders)
    of a local store, deepest first.

    Only what was already old when listed, so a folder an upload has just created (and
    is about to write into) is never pulled from under it.
    """
    root = storage.store.local_path(CUSTOMERS)
    if root is None:
        return
    base = root.parent
    for entry in temporary:
        if entry.mtime <= cutoff and _object_folder(entry.relative) not in live:
            (base / entry.relative).unlink(missing_ok=True)
    deep = [
        f
        for f in folders
        if f.relative.count("/") >= _OBJECT_DEPTH - 1
        and f.mtime <= cutoff
        and _object_folder(f.relative) not in live
    ]
    for folder in sorted(deep, key=lambda f: f.relative.count("/"), reverse=True):
        try:
            os.rmdir(base / folder.relative)
        except OSError:  # not empty (a referenced file), or already gone
            continue
