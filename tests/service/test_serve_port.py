"""`synthdata serve` on a busy port: one clear line, and no deployment recorded."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from benchmarks.service_processes import SYNTHDATA, base_env, free_port
from sqlalchemy import select

from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.deployments.models import Deployment


def _api_starts(database_url: str) -> list[int]:
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.scalars(select(Deployment).where(Deployment.component == "api"))
            return [row.pid for row in rows]
    finally:
        engine.dispose()


def test_busy_port_fails_at_once_and_records_no_deployment(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    upgrade_head(env["SYNTHDATA_DATABASE_URL"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another server running there? choose another with --port)"
    ], done.stderr
    assert "Traceback" not in done.stderr
    assert _api_starts(env["SYNTHDATA_DATABASE_URL"]) == []


def test_a_server_that_listens_records_its_start(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert _api_starts(env["SYNTHDATA_DATABASE_URL"]) == [server.pid]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
