"""The service as it is deployed at scale, for end-to-end observability tests.

A real `synthdata serve` process and a real `synthdata worker` process share a
fresh PostgreSQL database, a Redis queue (a key prefix of their own) and a data
directory; their stdout (JSON log lines) goes to files the tests read.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchmarks.service_processes import free_port

from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.customers.models import CustomerCreate, KeyCreate, Role
from synthdata.service.customers.service import create_customer, create_key
from tests.databases import scratch_postgres

REDIS_URL = os.environ.get("SYNTHDATA_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHUNK_ROWS = 20

CSV = (
    "age,income,city,member\n"
    + "".join(
        f"{20 + i % 50},{1000 + (i * 37) % 900}.5,{['Paris', 'Lyon', 'Nice'][i % 3]},"
        f"{'true' if i % 4 else 'false'}\n"
        for i in range(300)
    )
).encode()


@dataclass
class Stack:
    """A running API and worker, and a customer's API key."""

    base_url: str
    api_key: str
    database_url: str
    data_dir: Path
    api_log: Path
    worker_log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.api_key}, timeout=30)

    def upload(self, client: httpx.Client) -> dict[str, Any]:
        response = client.post("/api/v1/datasets", files={"file": ("people.csv", CSV, "text/csv")})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def wait_job(self, client: httpx.Client, job_id: str, timeout: float = 120) -> Any:
        """Poll until the job is final (the timeout only stops a hung test)."""
        deadline = time.monotonic() + timeout
        while True:
            body = client.get(f"/api/v1/jobs/{job_id}").json()
            if body["state"] in ("succeeded", "failed", "cancelled"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job did not finish: {body}\n{self.worker_log.read_text()}")
            time.sleep(0.1)


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects among a process's output lines."""
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def _api_key(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            customer = create_customer(
                session,
                CustomerCreate(name="Tracing Ltd", price_per_1k_rows="0.50"),  # type: ignore[arg-type]
            )
            _, secret = create_key(session, customer.id, KeyCreate(role=Role.CUSTOMER))
            return secret
    finally:
        engine.dispose()


def _synthdata() -> str:
    found = Path(sys.executable).with_name("synthdata")
    return str(found) if found.exists() else (shutil.which("synthdata") or "synthdata")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base_url: str, api: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise AssertionError(f"synthdata serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"synthdata serve did not start:\n{log.read_text()}")


@contextmanager
def service_stack(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Run `synthdata serve` and `synthdata worker` (Redis queue, PostgreSQL) until exit."""
    import redis

    queue_name = f"synthdata-obs-test-{secrets.token_hex(4)}"
    with scratch_postgres(f"synthdata_obs_{secrets.token_hex(4)}") as database_url:
        upgrade_head(database_url)
        api_key = _api_key(database_url)
        data_dir = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHDATA_", "OTEL_"))}
        env.update(
            SYNTHDATA_ENVIRONMENT="test",
            SYNTHDATA_DATABASE_URL=database_url,
            SYNTHDATA_DATA_DIR=str(data_dir),
            SYNTHDATA_QUEUE="redis",
            SYNTHDATA_REDIS_URL=REDIS_URL,
            SYNTHDATA_QUEUE_NAME=queue_name,
            SYNTHDATA_JOB_CHUNK_ROWS=str(CHUNK_ROWS),
            SYNTHDATA_QUEUE_POLL_MAX_SECONDS="0.1",
            SYNTHDATA_RATE_LIMIT_BACKEND="memory",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env or {})
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
        with api_log.open("wb") as api_out, worker_log.open("wb") as worker_out:
            api = subprocess.Popen(
                [_synthdata(), "serve", "--port", str(port)],
                env=env,
                stdout=api_out,
                stderr=subprocess.STDOUT,
            )
            worker = subprocess.Popen(
                [_synthdata(), "worker", "--metrics-port", "0"],
                env=env,
                stdout=worker_out,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_ready(base_url, api, api_log)
                yield Stack(base_url, api_key, database_url, data_dir, api_log, worker_log)
            finally:
                _stop(worker)
                _stop(api)
                client = redis.Redis.from_url(REDIS_URL)
                for key in client.scan_iter(match=f"*{queue_name}*"):
                    client.delete(key)
                client.close()
