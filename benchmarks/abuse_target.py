"""The service under attack, as the attacks see it: addresses, keys, files, metrics.

`Target` carries what one attack needs (the API, the attacker's key and address, the
data directory) and the few tenant calls the attacks make (upload, start, wait for
and cancel a job), each recording the status it got.

How `/metrics` is reached is not hard-coded: it may be on the API port, on a port of
its own, or behind a scrape token, depending on the tree being measured.
`metrics_env` reads `Settings` (and docs/metrics.md for variables read elsewhere) at
run time and configures whatever it finds; `discover_metrics` then probes the running
server for the way that answers.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_processes import free_port

DOCS_METRICS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
TERMINAL = ("succeeded", "failed", "cancelled")
_ENV_NAME = re.compile(r"SYNTHDATA_[A-Z0-9_]*METRICS[A-Z0-9_]*")


@dataclass
class Metrics:
    """How the metrics are scraped on the running server (`url`, `headers`), the way
    found (`mode`), and what the benchmark set to make it so (`env`)."""

    env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    port: int = 0
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "not found"


def metrics_env(home: Path) -> Metrics:
    """Settings for a metrics port, host or scrape token, if this tree has any."""
    from synthdata.service.core.settings import Settings

    names = {f"SYNTHDATA_{name.upper()}" for name in Settings.model_fields if "metrics" in name}
    if DOCS_METRICS.exists():
        names |= set(_ENV_NAME.findall(DOCS_METRICS.read_text()))
    found = Metrics()
    for name in sorted(names):
        if name.endswith("_PORT"):
            found.port = found.port or free_port()
            found.env[name] = str(found.port)
        elif name.endswith(("_HOST", "_ADDRESS")):
            found.env[name] = "127.0.0.1"
        elif "TOKEN" in name:
            found.token = found.token or secrets.token_urlsafe(24)
            if name.endswith("_FILE"):
                path = home / "metrics-token"
                path.write_text(found.token + "\n")
                found.env[name] = str(path)
            else:
                found.env[name] = found.token
    return found


def discover_metrics(metrics: Metrics, api_url: str) -> Metrics:
    """Probe the running server for the way its metrics answer 200 with an exposition."""
    bases = [f"http://127.0.0.1:{metrics.port}"] if metrics.port else []
    bases.append(api_url)
    # Without credentials first: a server that ignores the token is open, and says so.
    credentials: list[dict[str, str]] = [{}]
    if metrics.token:
        credentials.append({"Authorization": f"Bearer {metrics.token}"})
    for base in bases:
        for headers in credentials:
            try:
                response = httpx.get(f"{base}/metrics", headers=headers, timeout=10)
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and "# HELP" in response.text:
                metrics.url, metrics.headers = f"{base}/metrics", headers
                where = "its own port" if base != api_url else "the API port"
                how = "a bearer token" if headers else "no credentials"
                metrics.mode = f"/metrics on {where}, with {how}"
                return metrics
    return metrics


@dataclass
class Target:
    """One running server and the two tenants; `statuses` collects the attacker's."""

    api_url: str
    attacker_key: str
    attacker_id: str
    bystander_id: str
    attacker_source: str
    home: Path
    data_dir: Path
    webhook_token: str
    metrics: Metrics
    scratch: Path
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # ids of the jobs the attacker started
    facts: dict[str, Any] = field(default_factory=dict)  # numbers the issue checks read

    @property
    def server(self) -> tuple[str, int]:
        host, port = self.api_url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def client(self, timeout: float = 60.0, anonymous: bool = False) -> httpx.Client:
        """An httpx client of the attacker: its key (unless `anonymous`), its address."""
        transport = httpx.HTTPTransport(local_address=self.attacker_source)
        return httpx.Client(
            base_url=self.api_url,
            transport=transport,
            headers={} if anonymous else {"X-API-Key": self.attacker_key},
            timeout=timeout,
        )

    def record(self, what: str, status: int | str) -> None:
        self.statuses.append(f"{what} {status}")

    def call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        timeout: float = 60.0,
        anonymous: bool = False,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One attacker request; its status (or how it failed) is recorded."""
        try:
            with self.client(timeout, anonymous) as http:
                response = http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            self.record(what, f"timeout ({timeout:.0f} s)")
            return None
        except httpx.HTTPError as exc:
            self.record(what, type(exc).__name__)
            return None
        self.record(what, response.status_code)
        return response

    def upload(self, path: Path, timeout: float = 60.0) -> str | None:
        """Upload a table as a dataset; its id when it was accepted."""
        with path.open("rb") as handle:
            response = self.call(
                f"upload {path.name}",
                "POST",
                "/api/v1/datasets",
                files={"file": (path.name, handle)},
                timeout=timeout,
            )
        if response is not None and response.status_code == 201:
            return str(response.json()["id"])
        return None

    def start_job(self, what: str, body: dict[str, Any]) -> str | None:
        """POST a job; a 503 (the server says "later") is retried, as a client would,
        for 10 s at most. The job's id when it was accepted."""
        deadline = time.monotonic() + 10.0
        while True:
            response = self.call(what, "POST", "/api/v1/jobs", json=body)
            if response is None or response.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        if response is not None and response.status_code == 202:
            self.jobs.append(str(response.json()["id"]))
            return self.jobs[-1]
        return None

    def job_dir_bytes(self, job_id: str) -> int:
        """Bytes in the job's folder on disk (its model, parts, parts being written)."""
        folder = self.data_dir / "customers" / self.attacker_id / "jobs" / job_id
        size = 0
        for path in folder.rglob("*") if folder.exists() else []:
            try:
                size += path.stat().st_size if path.is_file() else 0
            except OSError:  # renamed or removed while we looked
                continue
        return size

    def job(self, job_id: str) -> dict[str, Any]:
        with self.client(10.0) as http:
            try:
                response = http.get(f"/api/v1/jobs/{job_id}")
            except httpx.HTTPError:
                return {}
        return dict(response.json()) if response.status_code == 200 else {}

    def wait_job(self, job_id: str, seconds: float, until: str = "final") -> dict[str, Any]:
        """Poll until the job is final (or, with until="progress", has written a part)."""
        deadline = time.monotonic() + seconds
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.job(job_id) or job
            if job.get("state") in TERMINAL:
                break
            if until == "progress" and job.get("chunks_done", 0) >= 1:
                break
            time.sleep(0.5)
        return job

    def cancel_if_running(self, job_id: str, what: str) -> dict[str, Any]:
        """Cancel the job unless it is final; wait (15 s at most) for the final state."""
        job = self.job(job_id)
        if job.get("state") in TERMINAL:
            return job
        self.call(f"cancel {what}", "POST", f"/api/v1/jobs/{job_id}/cancel")
        return self.wait_job(job_id, 15.0)

    def settle(self) -> None:
        """Cancel whatever of the attacker's work is still queued or running, so that no
        attack's jobs run on into the next measurement."""
        with self.client(30.0) as http:
            for state in ("queued", "running"):
                try:
                    page = http.get("/api/v1/jobs", params={"state": state}).json()
                except (httpx.HTTPError, ValueError):
                    continue
                for job in page.get("items", []) if isinstance(page, dict) else []:
                    self.cancel_if_running(job["id"], "left-over job")
