"""The processes of the local monitoring stack, each recorded in a pid file.

Everything lives under one state directory (default ./var/monitoring): one log and
one pid file per process. Processes run in their own sessions, so they outlive the
command that started them; `down` stops exactly the processes whose pid files it
finds (checked against the recorded start time, so a reused pid is never signalled).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Component:
    """A process of the local stack, as recorded in its pid file."""

    name: str
    pid: int
    create_time: float
    url: str
    health: str
    log: str
    args: list[str] = field(default_factory=list)

    def running(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
            return alive and abs(process.create_time() - self.create_time) < 1.0
        except psutil.Error:
            return False

    def healthy(self, timeout: float = 2.0) -> bool:
        return _http_ok(self.url + self.health, timeout)


@dataclass
class ComponentStatus:
    name: str
    state: str  # running | healthy | stopped | stale
    url: str
    pid: int | None
    detail: str = ""


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _pid_file(state_dir: Path, name: str) -> Path:
    return state_dir / "run" / f"{name}.pid"


def read_components(state_dir: Path) -> list[Component]:
    """The components whose pid files are in `state_dir`."""
    found: list[Component] = []
    for path in sorted((state_dir / "run").glob("*.pid")):
        try:
            found.append(Component(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue
    return found


class StackError(RuntimeError):
    """A component did not start (the message carries its log tail)."""


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_component(
    state_dir: Path,
    name: str,
    args: list[str],
    url: str,
    health: str,
    env: dict[str, str] | None = None,
) -> Component:
    """Start `args` in its own session, logging to logs/NAME.log; record its pid file."""
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            args,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=state_dir,
            env=env,
        )
    component = Component(
        name=name,
        pid=popen.pid,
        create_time=psutil.Process(popen.pid).create_time(),
        url=url,
        health=health,
        log=str(log),
        args=args,
    )
    pid_file = _pid_file(state_dir, name)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(json.dumps(component.__dict__, indent=2))
    return component


def wait_ready(component: Component, timeout: float) -> None:
    """Return once `component` answers its health check; StackError if it exits or
    does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not component.running():
            raise StackError(f"{component.name} exited:\n{_tail(Path(component.log))}")
        if component.healthy(timeout=1.0):
            return
        time.sleep(0.2)
    raise StackError(
        f"{component.name}: {component.url}{component.health} not healthy after "
        f"{timeout:.0f} s:\n{_tail(Path(component.log))}"
    )


def reload_configuration(component: Component, timeout: float = 10.0) -> bool:
    """Ask a running Prometheus or Alertmanager to read its configuration files again
    (`POST /-/reload`); True when it accepted them."""
    request = urllib.request.Request(component.url + "/-/reload", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def stop_component(state_dir: Path, component: Component, grace: float = 10.0) -> bool:
    """Stop one component (SIGTERM, then SIGKILL); remove its pid file. True if it ran."""
    was_running = component.running()
    if was_running:
        try:
            os.kill(component.pid, signal.SIGTERM)
            psutil.Process(component.pid).wait(grace)
        except psutil.TimeoutExpired:
            os.kill(component.pid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                psutil.Process(component.pid).wait(5)
        except (psutil.Error, ProcessLookupError):
            pass
    _pid_file(state_dir, component.name).unlink(missing_ok=True)
    return was_running


def down(state_dir: Path, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Stop every component recorded in `state_dir`; return the names that were running."""
    state_dir = state_dir.resolve()
    stopped: list[str] = []
    # Prometheus before Alertmanager: no "alertmanager unreachable" noise on the way down;
    # the incident spool last, so that it stores what Alertmanager sent until the end.
    order = {"prometheus": 0, "alertmanager": 2, "incident-spool": 3}
    for component in sorted(read_components(state_dir), key=lambda c: order.get(c.name, 1)):
        if stop_component(state_dir, component):
            stopped.append(component.name)
            log(f"{component.name}: stopped (pid {component.pid})")
        else:
            log(f"{component.name}: was not running (stale pid file removed)")
    return stopped


def status(state_dir: Path) -> list[ComponentStatus]:
    """Each recorded component: healthy, running (not answering its health check) or stale."""
    result: list[ComponentStatus] = []
    for component in read_components(state_dir.resolve()):
        if not component.running():
            result.append(
                ComponentStatus(
                    component.name,
                    "stale",
                    component.url,
                    None,
                    "pid file left over; `down` removes it",
                )
            )
            continue
        state = "healthy" if component.healthy() else "running"
        result.append(
            ComponentStatus(component.name, state, component.url, component.pid, component.log)
        )
    return result
