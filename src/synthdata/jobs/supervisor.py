"""The embedded default's job worker: `synthdata worker` as a child of `synthdata serve`.

Jobs used to run on threads inside the API process. Fitting and sampling hold the
GIL for long stretches, so while a big job ran, every request waited behind it: a
bystander's `GET /api/v1/me` went from 8 ms to 670 ms at p95 (benchmarks/abuse.py).
A separate process keeps the API answering. It is the same `synthdata worker` a
scaled-out deployment runs (leases, reaper and queue are already made for several
processes), started with a lower CPU priority, so that on a small machine the API
wins the cores and the job waits, not the other way round.

The supervisor restarts a worker that dies (with a growing delay, so a worker that
crashes at start does not spin), and on shutdown asks it to stop (SIGINT, Huey's
graceful stop: running tasks finish) and kills it after a grace period (its work is
then resumed by the next reaper: leases expire). The child has a process group of its
own, so a Ctrl-C in the terminal reaches only the server, which then stops it once.
The child exits by itself if `serve` dies without stopping it (`--parent-pid`), so a
SIGKILLed server leaves no worker behind.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("synthdata.jobs")

JOBS_ELSEWHERE = "_SYNTHDATA_JOBS_IN_CHILD"
"""Set by `synthdata serve` when its child worker runs the jobs: the server processes
(service/asgi.py) then run no job thread. Not a setting: the configuration (and its
digest in the deployments table) stays what the operator set."""

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before restarting a worker that exited, by how often it failed in a row."""
STEADY_SECONDS = 60.0
"""A worker that ran this long had started fine: its next restart is quick again."""


class WorkerProcess:
    """Runs, watches and stops one child `synthdata worker` process."""

    def __init__(self, *, threads: int, nice: int, stop_grace: float = 30.0) -> None:
        self.threads = threads
        self.nice = nice
        self.stop_grace = stop_grace
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._mutex = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        """The child's command line (its metrics reach the API's `/metrics`, see below)."""
        return [
            sys.executable,
            "-m",
            "synthdata",
            "worker",
            "--threads",
            str(self.threads),
            # No port of its own: with PROMETHEUS_MULTIPROC_DIR set by `serve`, the
            # API's /metrics adds this process's samples, as it did for job threads.
            "--metrics-port",
            "0",
            "--nice",
            str(self.nice),
            "--parent-pid",
            str(os.getpid()),
        ]

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the child and the thread that restarts it when it exits."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        with self._mutex:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(self.command, env=dict(os.environ), process_group=0)
            log.info("job worker started (pid %d, %d thread(s))", self._process.pid, self.threads)

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            began = time.monotonic()
            code = process.wait()
            _forget_metrics_of(process.pid)
            if self._stopping.is_set():
                return
            failures = 0 if time.monotonic() - began >= STEADY_SECONDS else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            log.error(
                "job worker (pid %d) exited with status %s; restarting it in %.0f s",
                process.pid,
                code,
                delay,
            )
            if self._stopping.wait(delay):
                return
            self._spawn()

    def stop(self) -> None:
        """Ask the child to stop; kill it if it has not within the grace period."""
        with self._mutex:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(self.stop_grace)
        except subprocess.TimeoutExpired:
            log.warning(
                "job worker (pid %d) still busy after %.0f s; killing it (its work resumes "
                "at the next start)",
                process.pid,
                self.stop_grace,
            )
            process.kill()
            process.wait()
        _forget_metrics_of(process.pid)


def _forget_metrics_of(pid: int) -> None:
    """Drop a dead child's live gauges from the shared metrics directory."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def exit_with_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """End this process as soon as `parent` is no longer its parent (a thread polls).

    Used by the embedded worker: if `serve` is killed outright, its worker must not
    live on unseen. Work in progress is left to the leases and the reaper, exactly as
    if both had been killed together. The pid comes from the parent itself: read here,
    it could already be init's if the parent died while this process started.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        log.warning("the server that started this worker (pid %d) is gone; exiting", parent)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
