"""End-to-end fixtures: the real `synthdata serve` / `synthdata worker` processes and a
real Prometheus that scrapes them.

Everything listens on free loopback ports and keeps its files in the test's temp
directory; every process started here is stopped at teardown (its whole process
group, so uvicorn's children go too). Process output goes to log files whose tail
is shown when something does not come up.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, base_env, free_port, stop_group

REDIS_SERVER = os.environ.get("SYNTHDATA_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
_CLAIM_KEY = "synthdata-e2e:claimed-by"


# -- processes ----------------------------------------------------------------------------
@dataclass
class Proc:
    """A started process (leader of its own process group) and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group; SIGKILL it if it is still there after `grace` s."""
        stop_group(self.popen, grace)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """Start commands in their own process groups; all are stopped at teardown."""
    started: list[Proc] = []
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)

    def start(name: str, args: list[str], env: dict[str, str], url: str = "") -> Proc:
        log = logs / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                args, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log, url)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


def wait_http(proc: Proc, path: str, timeout: float = 90.0) -> None:
    """Poll `proc.url + path` until it answers 200 (fail with the log tail otherwise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.fail(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            if httpx.get(f"{proc.url}{path}", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{proc.name}: {path} not answering 200 after {timeout:.0f} s:\n{proc.tail()}")


# -- the synthdata service ------------------------------------------------------------------
def service_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a test deployment whose files live under `home`."""
    defaults = {"SYNTHDATA_ENVIRONMENT": "test", "SYNTHDATA_LOG_LEVEL": "WARNING"}
    return base_env(home, **{**defaults, **extra})  # the caller's values win


@pytest.fixture
def serve(processes: Callable[..., Proc]) -> Callable[..., Proc]:
    """`synthdata serve --workers N` on a free port, ready (its /readyz answers)."""

    def start(env: dict[str, str], workers: int = 2, *extra: str) -> Proc:
        port = free_port()
        args = [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port)]
        args += ["--workers", str(workers), *extra]
        proc = processes("serve", args, env, url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/readyz")
        return proc

    return start


@pytest.fixture
def worker(processes: Callable[..., Proc]) -> Callable[..., Proc]:
    """`synthdata worker --metrics-port P`, its /metrics answering."""

    def start(env: dict[str, str]) -> Proc:
        port = free_port()
        args = [*SYNTHDATA, "worker", "--metrics-port", str(port)]
        proc = processes("worker", args, env, url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/metrics")
        return proc

    return start


@pytest.fixture
def redis_db() -> Iterator[str]:
    """A Redis URL on a database index nobody uses, emptied before and after."""
    import redis

    token = f"{os.getpid()}-{time.time_ns()}"
    for index in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{index}")
        try:
            if client.dbsize() == 0 and client.set(_CLAIM_KEY, token, nx=True):
                break
        finally:
            client.close()
    else:
        pytest.fail("no empty Redis database index (1-15) to run on")
    url = f"{REDIS_SERVER}/{index}"
    client = redis.Redis.from_url(url)
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def write_certificate(path: Path, days: float) -> Path:
    """A self-signed PEM certificate that expires `days` from now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "synthdata.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


# -- Prometheus -----------------------------------------------------------------------------
class Prometheus:
    """A running Prometheus and its HTTP query API."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc
        self.url = proc.url
        self._http = httpx.Client(base_url=proc.url, timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result as a list of {metric, value} (a scalar is one item)."""
        response = self._http.get("/api/v1/query", params={"query": expr})
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The single value of `expr` (None when it has no series)."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, f"{expr} has {len(result)} series: {result}"
        return float(result[0]["value"][1])

    def wait_for(
        self, expr: str, ok: Callable[[float | None], bool], timeout: float = 30.0
    ) -> float | None:
        """Poll `expr` until `ok(value)` holds; return the last value seen either way."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.value(expr)
            if ok(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.5)

    def wait_equal(self, expr: str, expected: float, timeout: float = 30.0) -> float | None:
        """Poll until `expr` equals `expected` (to 1e-9); return the last value."""
        return self.wait_for(
            expr, lambda v: v is not None and math.isclose(v, expected, abs_tol=1e-9), timeout
        )


def _binary(name: str) -> str:
    """A binary of the Debian `prometheus` package, installed if missing."""
    found = shutil.which(name)
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "prometheus"], capture_output=True, env=env, check=False
        )
        found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found (apt-get install prometheus)", pytrace=False)
    return found


def promtool_check_metrics(url: str) -> str:
    """`curl URL | promtool check metrics`: its output (empty when the exposition is clean)."""
    exposition = httpx.get(url, timeout=10.0)
    assert exposition.status_code == 200, exposition.text[:500]
    return promtool_check_exposition(exposition.content)


def promtool_check_exposition(exposition: bytes) -> str:
    """`promtool check metrics` on an exposition: its output (empty when clean)."""
    done = subprocess.run(
        [_binary("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace").strip()
    return output or ("" if done.returncode == 0 else f"promtool exited {done.returncode}")


@pytest.fixture
def prometheus_factory(
    tmp_path: Path, processes: Callable[..., Proc]
) -> Iterator[Callable[[dict[str, list[str]]], Prometheus]]:
    """Start Prometheus scraping `{job: ["host:port", ...]}` every second; ready."""
    binary = _binary("prometheus")
    started: list[Prometheus] = []

    def start(jobs: dict[str, list[str]]) -> Prometheus:
        home = tmp_path / f"prometheus{len(started)}"
        (home / "data").mkdir(parents=True)
        config = {  # JSON is YAML
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": targets}]}
                for job, targets in jobs.items()
            ],
        }
        (home / "prometheus.yml").write_text(json.dumps(config, indent=2))
        port = free_port()
        args = [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        proc = processes(home.name, args, dict(os.environ), url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/-/ready", timeout=60)
        server = Prometheus(proc)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
