"""Fixtures for the service and job tests: real SQLite and PostgreSQL, real Redis.

Each test session gets its own PostgreSQL database (created in, and dropped from,
the server that holds `test`) and its own Redis key prefix; each test starts from
empty tables and its own data directory.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.databases import scratch_postgres

from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import CustomerCreate, KeyCreate, Role
from synthdata.service.customers.service import create_customer, create_key
from synthdata.service.tables import metadata

REDIS_URL = os.environ.get("SYNTHDATA_TEST_REDIS", "redis://127.0.0.1:6379/0")
SESSION_TAG = secrets.token_hex(4)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def migrated_database(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    """A database migrated to head once per session, for each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'synthdata.db'}"
        upgrade_head(url)
        yield url
        return
    with scratch_postgres(f"synthdata_test_{SESSION_TAG}") as url:
        upgrade_head(url)
        yield url


@pytest.fixture
def database_url(migrated_database: str) -> str:
    """The session's database with every table emptied (each test starts clean)."""
    engine = make_engine(migrated_database)
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()
    return migrated_database


@pytest.fixture
def redis_url() -> str:
    """The Redis server the tests use."""
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix unique to this test; its keys are deleted afterwards."""
    import redis

    prefix = f"synthdata-test-{SESSION_TAG}-{secrets.token_hex(3)}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings tuned for tests: short leases and polls, no migrations at start."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "queue": "local",
        "queue_name": f"test-{secrets.token_hex(4)}",
        "serve_workers": 1,
        "job_lease_seconds": 3.0,
        "job_heartbeat_seconds": 0.3,
        "reaper_interval_seconds": 0.5,
        "queue_poll_max_seconds": 0.1,
        "migrate_on_start": False,
        "rate_limit_backend": "memory",
        "rate_limit_window_seconds": 3600,  # no window boundary in the middle of a test
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_for(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build test settings for this test's database and data directory, with overrides."""
    return lambda **overrides: make_settings(database_url, tmp_path / "data", **overrides)


@pytest.fixture
def settings(settings_for: Callable[..., Settings]) -> Settings:
    return settings_for()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with one embedded worker thread, through its ASGI interface."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass
class Caller:
    """An API key with its customer; `headers` authenticate requests."""

    key_id: str
    secret: str
    customer_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.secret}


@pytest.fixture
def make_caller(settings: Settings) -> Callable[..., Caller]:
    """Create a customer (or none, for a platform admin) and a key, straight in the DB."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)

    def factory(
        role: Role = Role.CUSTOMER,
        *,
        name: str = "Acme",
        price: str = "0.50",
        with_customer: bool = True,
    ) -> Caller:
        with session_scope(sessions) as session:
            customer_id = None
            if with_customer:
                customer = create_customer(
                    session,
                    CustomerCreate(name=name, price_per_1k_rows=price),  # type: ignore[arg-type]
                )
                customer_id = customer.id
            key, secret = create_key(session, customer_id, KeyCreate(role=role))
            return Caller(key.id, secret, customer_id)

    yield factory  # type: ignore[misc]
    engine.dispose()


@pytest.fixture
def admin(make_caller: Callable[..., Caller]) -> Caller:
    return make_caller(Role.ADMIN, with_customer=False)


@pytest.fixture
def alice(make_caller: Callable[..., Caller]) -> Caller:
    return make_caller(name="Alice Ltd")


@pytest.fixture
def bob(make_caller: Callable[..., Caller]) -> Caller:
    return make_caller(name="Bob GmbH", price="2.00")


CSV = (
    "age,income,city,member\n"
    + "".join(
        f"{20 + i % 50},{1000 + (i * 37) % 900}.5,{['Paris', 'Lyon', 'Nice'][i % 3]},"
        f"{'true' if i % 4 else 'false'}\n"
        for i in range(300)
    )
).encode()


@pytest.fixture
def upload(client: TestClient) -> Callable[..., Any]:
    """Upload a table for a caller; returns the dataset document."""

    def do(caller: Caller, content: bytes = CSV, name: str = "people.csv") -> Any:
        response = client.post(
            "/api/v1/datasets", headers=caller.headers, files={"file": (name, content, "text/csv")}
        )
        assert response.status_code == 201, response.text
        return response.json()

    return do


@pytest.fixture
def wait_job(client: TestClient) -> Callable[..., Any]:
    """Poll a job until it is final (the timeout only stops a hung test)."""

    def do(caller: Caller, job_id: str, timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            body = client.get(f"/api/v1/jobs/{job_id}", headers=caller.headers).json()
            if body["state"] in ("succeeded", "failed", "cancelled"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job did not finish: {body}")
            time.sleep(0.05)

    return do


class FakeClock:
    """A monotonic clock the test moves by hand (`clock.now += seconds`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def clocked_key_cache(client: TestClient, settings: Settings) -> FakeClock:
    """Give the app's key cache a hand-moved clock, so a test can let entries expire."""
    from synthdata.service.customers.keycache import KeyCache

    clock = FakeClock()
    client.app.state.platform.key_cache = KeyCache(settings.auth_cache_seconds, timer=clock)  # type: ignore[attr-defined]
    return clock
