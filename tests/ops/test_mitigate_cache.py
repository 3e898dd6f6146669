"""configure-cache: generation jobs on an unchanged dataset reuse the fitted model.

Real runner, real SQLite, real Redis (a key prefix of its own, deleted afterwards) and
the real data directory. A fit is observed through the training-duration histogram,
which `fit_to_file` feeds once per fit.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from synthdata.cli.main import app
from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.jobs.cache_stores import FileStore
from synthdata.jobs.model_cache import is_cacheable
from synthdata.jobs.models import Job
from synthdata.service.core.db import session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.platform import Platform
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import Customer
from synthdata.service.datasets.models import Dataset
from tests.fixtures.results import result_bytes

REDIS_URL = os.environ.get("SYNTHDATA_TEST_REDIS", "redis://127.0.0.1:6379/0")
TABLE = pd.DataFrame(
    {
        "age": (np.arange(120) % 47) + 18,
        "income": np.round(np.arange(120) * 13.7 % 900 + 1000, 1),
        "city": np.array(["Paris", "Lyon", "Nice"])[np.arange(120) % 3],
    }
)
runner = CliRunner()


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A queue name (hence Redis key prefix) of this test only; its keys go afterwards."""
    name = f"test-cache-{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def platform(tmp_path: Path, queue_name: str) -> Iterator[Platform]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_head(url)
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=tmp_path / "data",
        queue="local",
        queue_name=queue_name,
        redis_url=REDIS_URL,
        job_chunk_rows=20,
        job_lease_seconds=30,
        job_heartbeat_seconds=1,
        migrate_on_start=False,
        rate_limit_backend="memory",
    )
    built = Platform.build(settings)
    yield built
    built.stop()


def _cli(platform: Platform, *args: str) -> dict[str, Any]:
    settings = platform.settings
    env = {
        "SYNTHDATA_DATABASE_URL": settings.database_url,
        "SYNTHDATA_DATA_DIR": str(settings.data_dir),
        "SYNTHDATA_REDIS_URL": REDIS_URL,
        "SYNTHDATA_QUEUE_NAME": settings.queue_name,
    }
    result = runner.invoke(app, ["ops", "configure-cache", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _store(report: dict[str, Any]) -> dict[str, Any]:
    (store,) = [f for f in report["findings"] if f["name"] == "store"]
    return dict(store["data"])


def _dataset(platform: Platform) -> tuple[str, str]:
    """A customer and a stored table; returns (customer id, dataset id)."""
    with session_scope(platform.sessions) as session:
        customer = Customer(name="Cache Test", price_per_1k_micros=1_000_000)
        session.add(customer)
        session.flush()
        dataset_id = f"ds_{secrets.token_hex(6)}"
        key = platform.storage.dataset_file(customer.id, dataset_id, "csv")
        path = platform.storage.scratch("people.csv")
        TABLE.to_csv(path, index=False)
        session.add(
            Dataset(
                id=dataset_id,
                customer_id=customer.id,
                name="people",
                filename="people.csv",
                format="csv",
                path=key,
                size_bytes=platform.storage.publish(path, key),
                rows=len(TABLE),
                columns=3,
                schema_json={},
            )
        )
        return customer.id, dataset_id


def _generate(platform: Platform, customer_id: str, dataset_id: str, rows: int = 50) -> Job:
    """Run a generation job on the dataset through the real runner, to the end."""
    with session_scope(platform.sessions) as session:
        job = Job(customer_id=customer_id, dataset_id=dataset_id, rows=rows, seed=7)
        session.add(job)
    platform.runner.prepare(job.id)
    with session_scope(platform.sessions) as session:
        chunks = session.get_one(Job, job.id).chunks_total
    for index in range(chunks):
        platform.runner.run_chunk(job.id, index)
    with session_scope(platform.sessions) as session:
        done = session.get_one(Job, job.id)
    assert done.state == "succeeded", done.error
    return done


def _counts() -> tuple[float, float, float]:
    """(fits, cache hits, cache misses) so far in this process."""

    def value(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return (
        value(
            "synthdata_model_training_duration_seconds_count", {"synthesizer": DEFAULT_SYNTHESIZER}
        ),
        value("synthdata_model_cache_requests_total", {"result": "hit"}),
        value("synthdata_model_cache_requests_total", {"result": "miss"}),
    )


def _result(platform: Platform, job: Job) -> pd.DataFrame:
    assert job.result_path is not None
    frame = pd.read_csv(io.BytesIO(result_bytes(platform, job)))
    assert list(frame.columns) == list(TABLE.columns)
    assert len(frame) == job.rows
    assert set(frame["city"]) <= {"Paris", "Lyon", "Nice"}
    return frame


def _remaining_ttl(platform: Platform, backend: str) -> float:
    """Seconds until the only cache entry expires, read from the backend itself."""
    if backend == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        try:
            (key,) = list(client.scan_iter(match=f"{platform.settings.queue_name}:model-cache:*"))
            return float(client.ttl(key))
        finally:
            client.close()
    store = FileStore(platform.settings.data_dir / "cache" / "models")
    (entry,) = list(store.root.glob("*.synth"))
    expires = store.expires_at(entry.stem)
    assert expires is not None
    return expires - time.time()


@pytest.mark.parametrize("backend", ["redis", "filesystem"])
def test_second_job_on_the_same_dataset_skips_the_fit(platform: Platform, backend: str) -> None:
    flags = ["--redis"] if backend == "redis" else []
    report = _cli(platform, *flags, "--ttl", "3600")
    assert report["config"] == {"enabled": True, "backend": backend, "ttl_seconds": 3600}
    assert _store(report) == {"entries": 0, "bytes": 0}
    customer_id, dataset_id = _dataset(platform)

    fits, hits, misses = _counts()
    first = _generate(platform, customer_id, dataset_id)
    assert _counts() == (fits + 1, hits, misses + 1)
    stored = _store(_cli(platform, "--show"))
    assert stored["entries"] == 1 and stored["bytes"] > 0
    assert 3500 < _remaining_ttl(platform, backend) <= 3600

    second = _generate(platform, customer_id, dataset_id)
    assert _counts() == (fits + 1, hits + 1, misses + 1)  # no second fit
    # The same model with the same seed: the very same rows.
    pd.testing.assert_frame_equal(_result(platform, second), _result(platform, first))

    disabled = _cli(platform, "--disable")
    assert disabled["config"] == {"enabled": False, "backend": backend, "ttl_seconds": 3600}
    other_customer, other_dataset = _dataset(platform)
    _result(platform, _generate(platform, other_customer, other_dataset))
    _generate(platform, customer_id, dataset_id)
    assert _counts() == (fits + 3, hits + 1, misses + 1)  # fitted, cache not consulted
    assert _store(_cli(platform, "--show"))["entries"] == 1  # and not filled


def test_a_damaged_entry_costs_a_fit_not_the_job(platform: Platform) -> None:
    _cli(platform, "--ttl", "600")
    customer_id, dataset_id = _dataset(platform)
    _generate(platform, customer_id, dataset_id)
    (entry,) = list((platform.settings.data_dir / "cache" / "models").glob("*.synth"))
    expires = entry.stat().st_mtime
    entry.write_bytes(b"not a model")
    os.utime(entry, (expires, expires))

    fits, hits, misses = _counts()
    _result(platform, _generate(platform, customer_id, dataset_id))
    assert _counts() == (fits + 1, hits, misses + 1)
    # The damaged entry was replaced by the new fit.
    assert entry.read_bytes()[:2] == b"PK"


def test_changed_dataset_file_is_a_miss(platform: Platform) -> None:
    _cli(platform)
    customer_id, dataset_id = _dataset(platform)
    _generate(platform, customer_id, dataset_id)
    with session_scope(platform.sessions) as session:
        key = session.get_one(Dataset, dataset_id).path
    with platform.storage.store.open_write(key) as sink:  # same rows, other bytes
        sink.write(TABLE.iloc[::-1].to_csv(index=False).encode())

    fits, hits, misses = _counts()
    _generate(platform, customer_id, dataset_id)
    assert _counts() == (fits + 1, hits, misses + 1)


def test_redis_backend_needs_a_redis_url(tmp_path: Path) -> None:
    env = {
        "SYNTHDATA_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SYNTHDATA_DATA_DIR": str(tmp_path / "data"),
    }
    result = runner.invoke(app, ["ops", "configure-cache", "--redis"], env=env)
    assert result.exit_code == 2
    assert "SYNTHDATA_REDIS_URL" in result.output


def test_only_the_engines_own_models_are_cacheable() -> None:
    assert is_cacheable("copula")
    assert not is_cacheable("sdv_copula")  # SDV models cannot be saved in our format
    assert not is_cacheable("no-such-synthesizer")
