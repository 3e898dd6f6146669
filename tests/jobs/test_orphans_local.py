"""The orphan sweep on the local store also removes what `list()` never shows: the
temporary file of a write whose process was killed (an upload cut off by a crash),
once it is older than the grace, and then its emptied folder."""

from __future__ import annotations

import os
import time

from synthdata.jobs.orphans import sweep_orphans
from synthdata.service.core.db import make_engine, make_session_factory
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage

AGED = time.time() - 2 * 3600


def test_sweep_removes_old_temporary_files_and_their_folder(settings: Settings) -> None:
    folder = settings.data_dir / "customers/cus_gone/datasets/ds_crashed"
    folder.mkdir(parents=True)
    old = folder / ".synthdata-tmp-0123456789abcdef"
    old.write_bytes(b"x" * 100)
    young_folder = settings.data_dir / "customers/cus_gone/datasets/ds_uploading"
    young_folder.mkdir(parents=True)
    young = young_folder / ".synthdata-tmp-fedcba9876543210"
    young.write_bytes(b"y")
    for path in (old, folder):
        os.utime(path, (AGED, AGED))
    engine = make_engine(settings.database_url)
    try:
        sweep = sweep_orphans(make_session_factory(engine), Storage.open(settings), 3600)
    finally:
        engine.dispose()
    assert sweep.scanned == 0  # never listed as objects
    assert not folder.exists()
    assert young.read_bytes() == b"y"  # an upload may still be writing it
