"""Every process probes the artifact store from its reaper thread (a worker has no
readiness probe), so `synthdata_store_up` (alert ObjectStoreUnreachable) says 0 while
the store cannot take a write, and 1 again once it can."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY

from synthdata.artifacts import InstrumentedStore, LocalStore
from synthdata.jobs.queue import JobQueue
from synthdata.jobs.reaper import Reaper
from synthdata.service.core.db import make_engine, make_session_factory
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage


def _store_up() -> float | None:
    return REGISTRY.get_sample_value("synthdata_store_up", {"backend": "local"})


def _probed_until(settings: Settings, storage: Storage, expected: float) -> float | None:
    engine = make_engine(settings.database_url)
    reaper = Reaper(make_session_factory(engine), JobQueue(settings), settings, storage)
    reaper.start()
    try:
        deadline = time.monotonic() + 30  # only stops a hung test
        while _store_up() != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return _store_up()
    finally:
        reaper.stop()
        engine.dispose()


def test_reaper_probe_sets_store_up(settings_for: Callable[..., Settings], tmp_path: Path) -> None:
    settings = settings_for(reaper_interval_seconds=0.05)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    broken = Storage(InstrumentedStore(LocalStore(blocker / "data")), tmp_path / "work")
    assert _probed_until(settings, broken, 0.0) == 0.0
    assert _probed_until(settings, Storage.open(settings), 1.0) == 1.0
