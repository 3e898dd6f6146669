"""Shared by the diagnosis tests (no tests here): running `synthdata ops ...` as a real
process, local HTTP receivers standing in for the third-party services (Grafana,
Elasticsearch, Fluent Bit, a Kubernetes API server), and a real Alertmanager.

A receiver records every request it gets, so that a test can check what was asked, and
answers through a handler of the test's own, so that an answer can depend on the request.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, free_port

REPO = Path(__file__).resolve().parents[2]


# -- the command ------------------------------------------------------------------------------
@dataclass
class Run:
    """A finished `synthdata ops ...` (or script) run."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed

    def findings(self, prefix: str = "") -> list[dict[str, Any]]:
        return [f for f in self.report["findings"] if f["name"].startswith(prefix)]

    def finding(self, name: str) -> dict[str, Any]:
        found = [f for f in self.report["findings"] if f["name"] == name]
        assert len(found) == 1, f"{name}: {self.report['findings']}"
        return found[0]

    def statuses(self) -> dict[str, str]:
        return {f["name"]: f["status"] for f in self.report["findings"]}


def ops(env: dict[str, str], *args: str) -> Run:
    """`synthdata ops ARGS` as its own process (what an operator runs)."""
    return _run([*SYNTHDATA, "ops", *args], env)


def script(name: str, env: dict[str, str], *args: str) -> Run:
    """`./scripts/NAME ARGS`, run from the repository root as the runbook does."""
    return _run([f"./scripts/{name}", *args], {**env, "SYNTHDATA_BIN": SYNTHDATA_BIN})


SYNTHDATA_BIN = str(Path(SYNTHDATA[0]).parent / "synthdata")


def _run(args: list[str], env: dict[str, str]) -> Run:
    # A wide terminal: table rows are not folded, so a test can find a row on one line.
    env = {**env, "COLUMNS": "250", "TERM": "dumb"}
    done = subprocess.run(
        args, env=env, cwd=REPO, capture_output=True, text=True, timeout=180, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_clean_exit(run: Run, code: int) -> None:
    """The exit code wanted, and never a traceback."""
    assert run.code == code, f"exit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr


def closed_url() -> str:
    """An http URL on a loopback port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


# -- receivers ---------------------------------------------------------------------------------
@dataclass
class Request:
    """One request a receiver got."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Request], tuple[int, Any]]


@dataclass
class Receiver:
    """An HTTP server on a free loopback port answering `routes[(method, path)]`."""

    routes: dict[tuple[str, str], Handler]
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def got(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def start(self) -> Receiver:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                receiver.requests.append(request)
                handler = receiver.routes.get((self.command, parts.path))
                status, body = handler(request) if handler else (404, {"error": "no route"})
                text = body if isinstance(body, str) else json.dumps(body)
                kind = "text/plain" if isinstance(body, str) else "application/json"
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # http.server calls do_<METHOD>

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[[dict[tuple[str, str], Handler]], Receiver]]:
    """Start receivers for the test; all are shut down at teardown."""
    started: list[Receiver] = []

    def start(routes: dict[tuple[str, str], Handler]) -> Receiver:
        started.append(Receiver(routes).start())
        return started[-1]

    yield start
    for server in started:
        server.close()


def fixed(status: int, body: Any) -> Handler:
    """A handler that always gives the same answer."""
    return lambda _request: (status, body)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fluent_bit_metrics(*, errors: int = 0, retries_failed: int = 0) -> dict[str, Any]:
    """Fluent Bit's /api/v1/metrics JSON (one tail input, the kubernetes filter, es output)."""
    return {
        "input": {"tail.0": {"records": 1520, "bytes": 734211, "files_opened": 3}},
        "filter": {"kubernetes.0": {"drop_records": 0, "add_records": 0, "records": 1520}},
        "output": {
            "es.0": {
                "proc_records": 1500 - errors,
                "proc_bytes": 731002,
                "errors": errors,
                "retries": retries_failed + 1,
                "retries_failed": retries_failed,
                "dropped_records": retries_failed,
                "retried_records": retries_failed + 1,
            }
        },
    }


def fluent_bit(start: Callable[..., Receiver], *, healthy: bool = True, **metrics: int) -> Receiver:
    """A receiver answering Fluent Bit's HTTP server endpoints."""
    return start(
        {
            ("GET", "/api/v1/health"): fixed(200, "ok") if healthy else fixed(500, "error"),
            ("GET", "/api/v1/metrics"): fixed(200, fluent_bit_metrics(**metrics)),
        }
    )


def grafana(start: Callable[..., Receiver]) -> Receiver:
    """A receiver answering Grafana's /api/health."""
    body = {"commit": "1c1e5d6", "database": "ok", "version": "11.1.0"}
    return start({("GET", "/api/health"): fixed(200, body)})


# -- Alertmanager --------------------------------------------------------------------------------
@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on a free loopback port (no cluster); its URL."""
    home = tmp_path / "alertmanager"
    home.mkdir()
    config = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
    (home / "alertmanager.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    log = (home / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            "/usr/bin/prometheus-alertmanager",
            f"--config.file={home / 'alertmanager.yml'}",
            f"--storage.path={home}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/-/ready"), what="alertmanager ready")
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(ok: Callable[[], bool], *, what: str, timeout: float = 60.0) -> None:
    """Poll `ok` until it holds (fail the test with `what` otherwise)."""
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def targets_health(prometheus_url: str) -> dict[str, str]:
    """{job: health} of Prometheus's active targets."""
    body = httpx.get(f"{prometheus_url}/api/v1/targets", timeout=5).json()
    return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}


def base_test_env(home: Path, **extra: str) -> dict[str, str]:
    """The e2e service environment with no monitoring endpoint and no Kubernetes context
    (a test turns on what it checks)."""
    from tests.e2e.conftest import service_env

    defaults = {
        "SYNTHDATA_PROMETHEUS_URL": "",
        "SYNTHDATA_ALERTMANAGER_URL": "",
        "KUBECONFIG": str(home / "no-kubeconfig"),
        "KUBECACHEDIR": str(home / "kube-cache"),
    }
    env = service_env(home, **{**defaults, **extra})
    env.pop("SYNTHDATA_DEBUG", None)
    return env


def env_without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


# -- Elasticsearch ------------------------------------------------------------------------------
def service_documents(log_file: Path) -> list[dict[str, Any]]:
    """The documents Fluent Bit would index for the service's real log lines (each stamped
    with the line's own time), made by the pipeline evaluator of tests/monitoring."""
    from tests.monitoring.test_logs import to_document

    documents = []
    for line in log_file.read_text().splitlines():
        if line.startswith("{"):
            when = datetime.fromisoformat(json.loads(line)["@timestamp"].replace("Z", "+00:00"))
            documents.append(to_document(line, when))
    return documents


def _matches(query: dict[str, Any], document: dict[str, Any], now: datetime) -> bool:
    """bool/must of range, term (tests/monitoring's matcher) and terms clauses."""
    from tests.monitoring.test_logs import _field, matches

    ((kind, body),) = query.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        assert set(body) == {"must"}, body
        return all(_matches(clause, document, now) for clause in body["must"])
    if kind == "terms":
        ((path, allowed),) = body.items()
        return _field(document, path) in allowed
    return matches(query, document, now)


def elasticsearch(
    start: Callable[..., Receiver],
    documents: list[dict[str, Any]],
    *,
    index: str = "synthdata-logs",
    color: str = "green",
) -> Receiver:
    """A receiver answering `_cluster/health` and `{index}/_search` over `documents`,
    evaluating the query it is sent (filter, sort by one field, size)."""

    def search(request: Request) -> tuple[int, Any]:
        body = request.json()
        now = datetime.now(UTC)
        hits = [d for d in documents if _matches(body.get("query", {"match_all": {}}), d, now)]
        for sort in reversed(body.get("sort", [])):
            ((path, order),) = sort.items()
            hits.sort(key=lambda d: str(d.get(path, "")), reverse=order["order"] == "desc")
        shown = hits[: body.get("size", 10)]
        return 200, {
            "took": 1,
            "timed_out": False,
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "hits": [
                    {"_index": index, "_id": str(i), "_source": d} for i, d in enumerate(shown)
                ],
            },
        }

    health = {"cluster_name": "logs", "status": color, "number_of_nodes": 1}
    return start(
        {
            ("GET", "/_cluster/health"): fixed(200, health),
            ("POST", f"/{index}/_search"): search,
        }
    )


def fresh_document(age_seconds: float = 5.0) -> dict[str, Any]:
    """One document as the pipeline indexes it, `age_seconds` old."""
    from datetime import timedelta

    from tests.monitoring.test_logs import to_document

    when = datetime.now(UTC) - timedelta(seconds=age_seconds)
    line = json.dumps({"message": "request", "level": "INFO", "@timestamp": iso(when)})
    return to_document(line, when)
