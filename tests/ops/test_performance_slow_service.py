"""`performance-benchmark` during a latency incident: the real service behind a TCP
relay that holds every request for a few seconds (a slow network or an overloaded
upstream). A slow but answering service is measured; only a refused one is
"unreachable".
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.performance import findings
from tests.fixtures.performance_deployment import Deployment, benchmark, deployment, stored

__all__ = ["deployment"]  # the module-scoped fixture of tests/fixtures/performance_deployment.py

DELAY_S = 7.0  # longer than the benchmark's 5 s pre-check


def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
    try:
        while chunk := source.recv(65536):
            time.sleep(delay)
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, target):
            end.close()


def _serve(listener: socket.socket, upstream: tuple[str, int]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        server = socket.create_connection(upstream)
        threading.Thread(target=_pipe, args=(client, server, DELAY_S), daemon=True).start()
        threading.Thread(target=_pipe, args=(server, client, 0.0), daemon=True).start()


@pytest.fixture
def slow_url(deployment: Deployment) -> Iterator[str]:
    """A URL that reaches the real service with every request held DELAY_S seconds."""
    target = urlsplit(deployment.url)
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(
        target=_serve, args=(listener, (target.hostname, target.port)), daemon=True
    ).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_slow_service_is_measured_not_called_unreachable(
    deployment: Deployment, slow_url: str, tmp_path: Path
) -> None:
    slow = Deployment(slow_url, deployment.key, deployment.prometheus)
    done = benchmark(slow, tmp_path)
    found = findings(done)
    assert found["service"]["status"] == "info", done.stdout + done.stderr
    assert "slow, measuring anyway" in found["service"]["detail"]
    (run,) = stored(tmp_path)
    answered = run["requests"]["ok"]
    assert answered == run["requests"]["scheduled"], run
    assert run["latency_ms"]["p50"] >= 1000 * DELAY_S
    assert found["p95 latency"]["status"] == "fail"
    assert done.returncode == 1
