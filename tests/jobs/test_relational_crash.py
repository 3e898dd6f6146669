"""A worker SIGKILLed while it fits a job on linked tables: the lease runs out, another
worker runs the job again, and there is one zip of tables and one charge.

Real worker processes (`slow_worker.py`, the real worker), a real queue and database;
the job's tables are large enough that fitting them takes a while.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from tests.fixtures.jobs import wait_for, worker_env

from synthdata.jobs.models import Job
from synthdata.jobs.queue import JobQueue
from synthdata.relational import read_bundle
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from synthdata.service.customers.models import Customer
from synthdata.service.datasets.bundles import inspect_bundle
from synthdata.service.datasets.limits import limits_for
from synthdata.service.datasets.models import Dataset
from synthdata.service.usage.models import Charge

pytestmark = pytest.mark.slow

CUSTOMERS, ORDERS = 3_000, 12_000
WORKER = Path(__file__).with_name("slow_worker.py")  # the real worker, run as a script


def _bundle(path: Path) -> None:
    rng = np.random.default_rng(17)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(CUSTOMERS),
            "region": rng.choice(["north", "south", "east", "west"], CUSTOMERS),
            "age": rng.integers(18, 90, CUSTOMERS),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(ORDERS) + 100_000,
            "customer_id": rng.choice(customers["customer_id"], ORDERS),
            "amount": rng.lognormal(3, 0.6, ORDERS).round(2),
            "channel": rng.choice(["web", "app", "store"], ORDERS),
        }
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("customers.csv", customers.to_csv(index=False))
        archive.writestr("orders.csv", orders.to_csv(index=False))


def test_killed_worker_tables_job_completes_once(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    storage = Storage.open(settings)
    with session_scope(sessions) as session:
        customer = Customer(name="Crash Tables", price_per_1k_micros=1_000_000)
        session.add(customer)
        session.flush()
        key = storage.dataset_file(customer.id, "ds_tables", "zip")
        path = storage.scratch("shop.zip")
        _bundle(path)
        rows, columns, schema = inspect_bundle(
            path, name="shop.zip", limits=limits_for(settings, None)
        )
        session.add(
            Dataset(
                id="ds_tables",
                customer_id=customer.id,
                name="shop",
                filename="shop.zip",
                format="zip",
                path=key,
                size_bytes=storage.publish(path, key),
                rows=rows,
                columns=columns,
                schema_json=schema,
            )
        )
        session.flush()
        job = Job(customer_id=customer.id, dataset_id="ds_tables", rows=rows, scale=1.0, seed=5)
        session.add(job)
    JobQueue(settings).send_prepare(job.id)

    def state() -> tuple[str, int]:
        with session_scope(sessions) as session:
            row = session.get_one(Job, job.id)
            return row.state, row.attempts

    env = worker_env(settings)
    log = (tmp_path / "workers.log").open("ab")
    first = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: state() == ("running", 1), "the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert state() == ("running", 1), "the job finished before the worker was killed"
        second = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=log, stderr=log)
        try:
            wait_for(lambda: state()[0] not in ("queued", "running"), "the second worker", 300)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()

    with session_scope(sessions) as session:
        final = session.get_one(Job, job.id)
        charges = session.scalars(select(Charge).where(Charge.job_id == job.id)).all()
        done = (final.state, final.attempts, final.rows, final.rows_done, final.error)
    assert done[0] == "succeeded", (done, (tmp_path / "workers.log").read_text()[-2000:])
    assert done[1] >= 2, "the killed worker's attempt was run again"
    job_dir = storage.job_dir(customer.id, job.id)
    assert [o.key for o in storage.store.list(job_dir)] == [f"{job_dir}/result.zip"]
    tables = read_bundle(storage.fetch(f"{job_dir}/result.zip"))
    written = sum(len(frame) for frame in tables.values())
    assert len(tables["customers"]) == CUSTOMERS
    assert set(tables["orders"]["customer_id"]) <= set(tables["customers"]["customer_id"])
    assert done[2] == done[3] == written
    assert len(charges) == 1 and charges[0].rows == written
    engine.dispose()
