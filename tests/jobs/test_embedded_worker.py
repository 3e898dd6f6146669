"""`synthdata serve` runs its jobs in one child `synthdata worker` (jobs/supervisor.py).

Real processes, as a user starts them: the API process does no fitting or sampling,
the child runs at a lower CPU priority in a process group of its own, its job
metrics reach the API's `/metrics`, a child that dies is replaced, and no child
outlives its server, however the server ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from benchmarks.service_processes import base_env, create_customer_key, serve

CSV = "a,b\n" + "".join(f"{i % 17},{'xyz'[i % 3]}\n" for i in range(300))


def worker_of(server_pid: int, timeout: float = 60.0) -> psutil.Process:
    """The server's child worker process, once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(server_pid).children():
            try:
                if "worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
            except psutil.Error:  # a child that just ended (not yet reaped)
                continue
        time.sleep(0.1)
    raise AssertionError("no worker child started")


def gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:  # no such process, or a zombie psutil cannot read
            return True
        time.sleep(0.1)
    return False


def run_job(url: str, key: str, rows: int = 2000) -> dict[str, object]:
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        upload = client.post("/api/v1/datasets", files={"file": ("t.csv", CSV.encode())})
        assert upload.status_code == 201, upload.text
        job = client.post("/api/v1/jobs", json={"dataset_id": upload.json()["id"], "rows": rows})
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = client.get(f"/api/v1/jobs/{job.json()['id']}").json()
            if state["state"] in ("succeeded", "failed", "cancelled"):
                return state
            time.sleep(0.2)
    raise AssertionError("the job did not end")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield base_env(tmp_path / "home", SYNTHDATA_SERVE_WORKERS="2")


def test_jobs_run_in_a_low_priority_child_whose_metrics_the_api_serves(
    env: dict[str, str], tmp_path: Path
) -> None:
    _, key = create_customer_key(env)
    with serve("api", env, tmp_path / "logs") as api:
        child = worker_of(api.popen.pid)
        lowered = min(19, psutil.Process(api.popen.pid).nice() + 10)  # SYNTHDATA_OFFLOAD_NICE
        deadline = time.monotonic() + 60
        while child.nice() != lowered and time.monotonic() < deadline:  # set as it starts
            time.sleep(0.1)
        assert child.nice() == lowered
        assert os.getpgid(child.pid) != os.getpgid(api.popen.pid)  # Ctrl-C reaches serve only
        assert run_job(api.url, key)["state"] == "succeeded"
        metrics = httpx.get(f"{api.url}/metrics").text
        done = [
            line
            for line in metrics.splitlines()
            if line.startswith('synthdata_generation_chunks_completed_total{synthesizer="chain"}')
        ]
        assert done and float(done[0].split()[-1]) >= 1, done


def test_a_worker_that_dies_is_replaced_and_jobs_go_on(env: dict[str, str], tmp_path: Path) -> None:
    _, key = create_customer_key(env)
    with serve("api", env, tmp_path / "logs") as api:
        first = worker_of(api.popen.pid)
        first.send_signal(signal.SIGKILL)
        assert gone(first.pid)
        deadline = time.monotonic() + 60
        second = worker_of(api.popen.pid)
        while second.pid == first.pid and time.monotonic() < deadline:
            time.sleep(0.1)
            second = worker_of(api.popen.pid)
        assert second.pid != first.pid
        assert run_job(api.url, key)["state"] == "succeeded"
        assert "restarting it" in api.log.read_text()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_no_worker_outlives_its_server(
    env: dict[str, str], tmp_path: Path, how: signal.Signals
) -> None:
    with serve("api", env, tmp_path / "logs") as api:
        child = worker_of(api.popen.pid)
        api.popen.send_signal(how)  # the server alone, not its process group
        api.popen.wait(60)
        assert gone(child.pid), f"worker {child.pid} still runs after the server got {how.name}"


def _maps_sklearn(pid: int) -> bool:
    """Whether the process has scikit-learn's compiled modules mapped (it imported it)."""
    return "/sklearn/" in Path(f"/proc/{pid}/maps").read_text()


def test_the_api_process_never_loads_the_engine_to_take_a_job(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Taking a job asks what its synthesizer can do without importing it: importing the
    chain synthesizer (scikit-learn) inside the first job request cost the API 1.4 s of
    CPU and stalled every other caller (benchmarks/abuse.py: 4.5x the idle p95)."""
    _, key = create_customer_key(env)
    with serve("api", env, tmp_path / "logs") as api:
        assert run_job(api.url, key)["state"] == "succeeded"
        assert _maps_sklearn(worker_of(api.popen.pid).pid)  # the child fitted it
        assert not _maps_sklearn(api.popen.pid)
