"""The orphan sweep: remove files under `<data_dir>/customers` that no row references.

Terminal states clean up after themselves (`jobs/leftovers.py`); this catches the rest:
a process killed between writing a file and recording it, a customer deleted with its
rows, a part written by a duplicate delivery after its job finished. A file is kept when

- a row references it (a dataset's, a ready model's or a job's result `path`), or
- it lies in the folder of work in progress (an active job, a model being trained), or
- it is younger than the grace period (an upload or a fit may still be recording it).

The files are listed before the references are read, so a file that is written and
recorded while the sweep runs is either not listed or seen as referenced. Only the
`customers/` tree is swept: the model cache, the local queue and a SQLite database
may live beside it in the data directory and are never touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs.models import ACTIVE_STATES, Job
from synthdata.service.core.storage import CUSTOMERS, Storage
from synthdata.service.datasets.models import Dataset
from synthdata.service.models.models import ModelState, SynthModel

_BATCH = 500  # paths per IN (...) query: well under every driver's parameter limit
_OBJECT_DEPTH = 4  # customers/<customer>/<kind>/<object id>


@dataclass
class Sweep:
    """What one sweep found (and, unless `dry_run`, removed)."""

    dry_run: bool
    scanned: int = 0
    young: int = 0  # unreferenced, but younger than the grace period: kept for now
    removed: list[str] = field(default_factory=list)  # relative to the data directory
    removed_bytes: int = 0


@dataclass(frozen=True)
class _Entry:
    relative: str
    mtime: float
    size: int


def _walk(root: Path) -> tuple[list[_Entry], list[_Entry]]:
    """Every file and every folder under `root`, relative to the data directory."""
    files: list[_Entry] = []
    folders: list[_Entry] = []
    base = root.parent
    for folder, _dirs, names in os.walk(root):
        here = Path(folder)
        for entry in (*(here / n for n in names), here):
            try:
                info = entry.lstat()
            except FileNotFoundError:  # removed while we walked
                continue
            item = _Entry(entry.relative_to(base).as_posix(), info.st_mtime, info.st_size)
            (folders if entry == here else files).append(item)
    return files, folders


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _referenced(session: Session, candidates: list[str]) -> set[str]:
    """Which of `candidates` (relative paths) a dataset, model or job result points to."""
    found: set[str] = set()
    columns = (Dataset.path, SynthModel.path, Job.result_path)
    for batch in _batches(candidates):
        for column in columns:
            found.update(p for p in session.scalars(select(column).where(column.in_(batch))) if p)
    return found


def _live_folders(session: Session) -> set[str]:
    """Object folders of work in progress, whose files no row references yet."""
    jobs = session.execute(select(Job.customer_id, Job.id).where(Job.state.in_(ACTIVE_STATES)))
    models = session.execute(
        select(SynthModel.customer_id, SynthModel.id).where(
            SynthModel.state == ModelState.TRAINING.value
        )
    )
    return {f"{CUSTOMERS}/{c}/jobs/{j}" for c, j in jobs} | {
        f"{CUSTOMERS}/{c}/models/{m}" for c, m in models
    }


def _object_folder(relative: str) -> str:
    return "/".join(relative.split("/")[:_OBJECT_DEPTH])


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
    if not storage.customers.is_dir():
        return sweep
    files, folders = _walk(storage.customers)
    sweep.scanned = len(files)
    # Autocommit reads (as `Platform.read`): on SQLite no write lock is held while the
    # references are looked up. Work in progress is read first, so a job or model that
    # ends in between is found by its recorded path instead.
    with sessions.kw["bind"].connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=connection) as session:
            live = _live_folders(session)
            unclaimed = [f for f in files if _object_folder(f.relative) not in live]
            referenced = _referenced(session, [f.relative for f in unclaimed])
    for entry in unclaimed:
        if entry.relative in referenced:
            continue
        if entry.mtime > cutoff:
            sweep.young += 1
            continue
        sweep.removed.append(entry.relative)
        sweep.removed_bytes += entry.size
        if not dry_run:
            # The walk never follows a symlinked folder, so this path is under the root;
            # unlink removes a symlink itself, never what it points to.
            (storage.root / entry.relative).unlink(missing_ok=True)
    if not dry_run:
        _prune(storage, folders, live, cutoff)
    return sweep


def _prune(storage: Storage, folders: Iterable[_Entry], live: set[str], cutoff: float) -> None:
    """Remove emptied object folders (and their subfolders), deepest first.

    Only folders that were already old when listed, so a folder an upload has just
    created (and is about to write into) is never pulled from under it.
    """
    deep = [
        f
        for f in folders
        if f.relative.count("/") >= _OBJECT_DEPTH - 1
        and f.mtime <= cutoff
        and _object_folder(f.relative) not in live
    ]
    for folder in sorted(deep, key=lambda f: f.relative.count("/"), reverse=True):
        try:
            os.rmdir(storage.root / folder.relative)
        except OSError:  # not empty (a referenced file), or already gone
            continue
