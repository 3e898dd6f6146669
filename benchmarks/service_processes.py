"""Starting and stopping the real `synthdata serve` and `synthdata worker` processes.

Everything runs as the user would run it: the installed `synthdata` command, configured
only through `SYNTHDATA_*` variables, on a free loopback port, with its data in a
scratch directory. Output goes to log files beside the data, for the report to point at.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

SYNTHDATA = [sys.executable, "-m", "synthdata"]
_STOP_GRACE_S = 30.0


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the embedded default, with its files under `home`.

    Nothing of the caller's own configuration leaks in: no `SYNTHDATA_*` or `OTEL_*`
    variable and no multiprocess metrics directory.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNTHDATA_", "OTEL_")) and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        SYNTHDATA_DATABASE_URL=f"sqlite:///{home / 'synthdata.db'}",
        SYNTHDATA_DATA_DIR=str(home / "data"),
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    """Run `synthdata ARGS` and return the first line it printed on stdout."""
    done = subprocess.run(
        [*SYNTHDATA, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"synthdata {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[0].strip()


def create_customer_key(env: dict[str, str], name: str = "benchmark") -> tuple[str, str]:
    """A customer and one customer API key, made with `synthdata admin`."""
    customer = cli(env, "admin", "create-customer", name, "--plan", "standard")
    return customer, cli(env, "admin", "create-key", customer)


@dataclass
class Proc:
    """A started `synthdata` process and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""
    _cpu_mark: float = field(default=0.0, repr=False)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and all its children, so far."""
        return tree_cpu_seconds(self.popen.pid)

    def mark_cpu(self) -> None:
        self._cpu_mark = self.cpu_seconds()

    def cpu_since_mark(self) -> float:
        return self.cpu_seconds() - self._cpu_mark

    def pids(self) -> list[int]:
        try:
            root = psutil.Process(self.popen.pid)
            return [root.pid, *(p.pid for p in root.children(recursive=True))]
        except psutil.Error:
            return []

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(
    name: str, args: list[str], env: dict[str, str], logs: Path, cpu: int | None = None
) -> Proc:
    """Start `synthdata ARGS` in its own process group, output to `logs/NAME.log`;
    with `cpu`, confined to that one core (`taskset`)."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [*pin, *SYNTHDATA, *args],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, popen, log)


def stop(proc: Proc, grace: float = _STOP_GRACE_S) -> None:
    """SIGTERM the process group (graceful), SIGKILL it if it has not ended in `grace` s."""
    stop_group(proc.popen, grace)


def stop_group(popen: subprocess.Popen[bytes], grace: float = _STOP_GRACE_S) -> None:
    """SIGTERM the process group led by `popen`; SIGKILL it if still there after `grace` s."""
    if popen.poll() is not None:
        return
    pgid = os.getpgid(popen.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        popen.wait(10)


def wait_ready(proc: Proc, timeout: float = 90.0) -> None:
    """Poll `/readyz` until it answers 200 (or fail with the server's last log lines)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_tail()}")
        try:
            if httpx.get(f"{proc.url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")


def wait_for_log(proc: Proc, text: str, timeout: float = 90.0) -> bool:
    """Wait until `text` appears in the process's output; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_tail()}")
        if text in proc.log.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


@contextmanager
def serve(
    name: str, env: dict[str, str], logs: Path, extra_args: list[str] | None = None
) -> Iterator[Proc]:
    """`synthdata serve` on a free loopback port, ready, stopped on exit."""
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])]
    proc = start(name, args, env, logs)
    proc.url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc)
        yield proc
    finally:
        stop(proc, grace=10.0)


def _worker_args(env: dict[str, str]) -> list[str]:
    """`worker`, with a port of its own for /metrics where the command serves one
    (its default port is the same for every worker, so two on one host would clash)."""
    done = subprocess.run(
        [*SYNTHDATA, "worker", "--help"], env=env, capture_output=True, text=True, check=False
    )
    if "--metrics-port" in done.stdout:
        return ["worker", "--metrics-port", str(free_port())]
    return ["worker"]


@contextmanager
def workers(
    count: int, env: dict[str, str], logs: Path, tag: str, pin: bool = False
) -> Iterator[list[Proc]]:
    """`count` `synthdata worker` processes, each consuming once this yields; with `pin`,
    worker i is confined to core i."""
    procs = [
        start(f"{tag}-worker{i + 1}", _worker_args(env), env, logs, cpu=i if pin else None)
        for i in range(count)
    ]
    try:
        for proc in procs:
            wait_for_log(proc, "consuming")
        yield procs
    finally:
        for proc in procs:
            stop(proc)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` and all its children, so far."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            times = proc.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        pass
    return total
