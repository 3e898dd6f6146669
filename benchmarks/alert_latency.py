"""Fault-to-notification latency of the shipped alerts, end to end with real processes.

    python -m benchmarks.alert_latency [--runs 3]

A real `synthdata serve` (fault injection on), a real Prometheus loaded with the
SHIPPED rule files, a real Alertmanager with the SHIPPED routing, and the Debian
postgres_exporter and redis_exporter watching the machine's PostgreSQL and Redis
through local TCP proxies (TcpProxy), so that a data store can go down for the
exporter without stopping the shared server. PagerDuty, Slack and the incident
webhook are local HTTP receivers that timestamp what they get. Three flows, each
timed from the moment the fault starts to the moment the receiver holds the
notification:

- database: the PostgreSQL proxy drops its connections and resets new ones, so the
  real postgres_exporter reports `pg_up 0` -> DatabaseConnectionFailure -> PagerDuty
  (critical); then the proxy forwards again;
- error rate: injected 500s (`X-Synthdata-Fault: 500`) on half the requests
  -> HighErrorRate -> PagerDuty; then the faults stop -> the resolve event;
- brute force: a burst of unknown API keys -> BruteForceAttack -> the security
  team's Slack channel (team="security").

Time is compressed, in the test's own copies only (the shipped files are read, never
changed): scrape and evaluation every 1 s (postgres_exporter every 3 s, see
PG_EXPORTER_INTERVAL), every `for:` and every range selector of
the rules divided by TIME_SCALE (30: `for: 5m` -> 10 s, `[5m]` -> 10 s; ranges never
below MIN_RANGE), Alertmanager's group_wait and group_interval 1 s, Prometheus'
alert resend delay 1 s. Latencies are therefore not production latencies: those add
the shipped `for:` durations, 15 s intervals and the 10 s group_wait. What this
measures is the pipeline's own overhead on top of the configured waits, reported next
to the configured minimum.

tests/e2e/test_alert_flows.py runs the same flows once and checks the payloads.
Results: benchmarks/results/alert_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import psutil
import yaml
from tests.databases import PG_SERVER
from tests.e2e.conftest import REDIS_SERVER, Proc, free_port, service_env, wait_http
from tests.monitoring.test_alertmanager import (
    INCIDENT_WEBHOOK,
    Receiver,
    _copy_config,
    receiver_secrets,
)

REPO = Path(__file__).resolve().parents[1]
MONITORING = REPO / "monitoring"
RESULTS = REPO / "benchmarks" / "results"
TIME_SCALE = 30
MIN_RANGE_SECONDS = 5
INTERVAL = "1s"
GROUP_WAIT = "1s"
GROUP_INTERVAL = "1s"
# postgres_exporter (cmd/postgres_exporter/server.go, GetServer) sleeps 1 s after a
# failed connection before it answers `pg_up 0`: with a 1 s scrape timeout that scrape
# would fail (up 0, no pg_up), so its job is scraped every 3 s with a 3 s timeout
# (2 s was seen to time out on a loaded machine).
PG_EXPORTER_INTERVAL = "3s"
FAULT = "X-Synthdata-Fault"
BAD_KEY = "sk_not_a_key_of_ours_0000000000000000"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")


# -- compressed copies of the shipped configuration ---------------------------------------------
def seconds(duration: str) -> float:
    """A Prometheus duration ("1h30m", "5m") in seconds."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def scaled(duration: str, scale: int, floor: float = 0.0) -> str:
    value = max(seconds(duration) / scale, floor)
    return f"{max(1, round(value))}s"


def compress_rules(text: str, scale: int = TIME_SCALE) -> str:
    """A rule file with every `for:` and range selector divided by `scale`."""
    document = yaml.safe_load(text)
    for group in document["groups"]:
        for rule in group["rules"]:
            rule["expr"] = re.sub(
                r"\[(\w+)\]",
                lambda m: f"[{scaled(m.group(1), scale, MIN_RANGE_SECONDS)}]",
                rule["expr"],
            )
            if "for" in rule:
                rule["for"] = scaled(rule["for"], scale)
    return yaml.safe_dump(document, sort_keys=False)


def shipped_rule_files() -> list[Path]:
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    return [MONITORING / "prometheus" / name for name in config["rule_files"]]


# -- local stand-ins ---------------------------------------------------------------------------
class TimedReceiver(Receiver):
    """The test receiver, with the monotonic time each request arrived ("t")."""

    def first(
        self, path: str, match: Callable[[dict[str, Any]], bool], after: float, timeout: float
    ) -> dict[str, Any]:
        return self.wait_for(path, lambda body: match(body), timeout=timeout, after=after)[0]

    def wait_for(  # type: ignore[override]
        self,
        path: str,
        match: Callable[[dict[str, Any]], bool] = lambda body: True,
        timeout: float = 45.0,
        after: float = 0.0,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [
                r
                for r in list(self.requests)
                if r["path"] == path and r["t"] >= after and match(r["body"])
            ]
            if got:
                return got
            time.sleep(0.05)
        seen = [(r["path"], r["body"]) for r in self.requests if r["t"] >= after]
        raise AssertionError(f"no matching request to {path} in {timeout}s: {seen}")


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_receiver() -> tuple[TimedReceiver, ThreadingHTTPServer]:
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": json.loads(body),
                    "t": arrived,
                }
            )
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = _serve(Handler)
    return TimedReceiver(
        url=f"http://127.0.0.1:{server.server_address[1]}", requests=requests
    ), server


class TcpProxy:
    """A TCP forwarder from a free loopback port to `upstream` that can take it "down".

    Up, every connection is forwarded. Down, the open connections are dropped and every
    new one is reset as soon as it is accepted: to a client (an exporter) the server has
    gone away, while the real server keeps running for everybody else.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._forwarding = True
        self._open: set[socket.socket] = set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def down(self) -> None:
        """Drop every forwarded connection; reset new ones until `up()`."""
        with self._lock:
            self._forwarding = False
            dropped, self._open = self._open, set()
        for sock in dropped:
            _close(sock, reset=True)

    def up(self) -> None:
        with self._lock:
            self._forwarding = True

    def stop(self) -> None:
        self._closed.set()
        self.down()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._forwarding:
                _close(client, reset=True)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client, reset=True)
                continue
            server.settimeout(None)
            with self._lock:
                forwarding = self._forwarding
                if forwarding:
                    self._open |= {client, server}
            if not forwarding:  # went down while connecting
                _close(client, reset=True)
                _close(server)
                continue
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open -= {src, dst}
        _close(src)
        _close(dst)


def _close(sock: socket.socket, reset: bool = False) -> None:
    """Close `sock`, waking a thread blocked on it; with `reset`, send a RST, not a FIN."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def postgres_dsn(port: int) -> str:
    """postgres_exporter's DATA_SOURCE_NAME: the test server's user, through the proxy."""
    parts = urlsplit(PG_SERVER)
    user = quote(parts.username or "postgres", safe="")
    if parts.password:
        user += ":" + quote(parts.password, safe="")
    return f"postgresql://{user}@127.0.0.1:{port}/test?sslmode=disable&connect_timeout=2"


def _binary(*names: str, package: str = "") -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        f"{names[0]} not installed (apt-get install {package or names[0]}; "
        "tools/env.sh ensure_debian_packages does it)"
    )


# -- the stack -------------------------------------------------------------------------------------
@dataclass
class AlertStack:
    """serve + Prometheus (shipped rules, compressed) + Alertmanager (shipped routing)
    + postgres_exporter and redis_exporter behind TCP proxies."""

    home: Path
    receiver: TimedReceiver
    procs: list[Proc] = field(default_factory=list)
    pg_proxy: TcpProxy | None = None
    redis_proxy: TcpProxy | None = None
    # Scrape job -> the exporter's address (the `instance` label of its series).
    exporter_targets: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""
    settings: dict[str, str] = field(default_factory=dict)

    def _start(self, name: str, args: list[str], env: dict[str, str], url: str) -> Proc:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                args, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log, url)
        self.procs.append(proc)
        return proc

    def _start_exporters(self) -> list[Proc]:
        """postgres_exporter and redis_exporter on free ports, each through its proxy."""
        self.pg_proxy = TcpProxy(_host_port(PG_SERVER, 5432))
        self.redis_proxy = TcpProxy(_host_port(REDIS_SERVER, 6379))
        pg_port, redis_port = free_port(), free_port()
        pg = self._start(
            "postgres-exporter",
            [
                _binary("prometheus-postgres-exporter", "postgres_exporter"),
                f"--web.listen-address=127.0.0.1:{pg_port}",
            ],
            {**os.environ, "DATA_SOURCE_NAME": postgres_dsn(self.pg_proxy.port)},
            f"http://127.0.0.1:{pg_port}",
        )
        redis = self._start(
            "redis-exporter",
            [
                _binary("prometheus-redis-exporter", "redis_exporter"),
                f"--redis.addr=redis://{self.redis_proxy.address}",
                f"--web.listen-address=127.0.0.1:{redis_port}",
                "--connection-timeout=1s",
            ],
            dict(os.environ),
            f"http://127.0.0.1:{redis_port}",
        )
        self.exporter_targets = {
            "postgres-exporter": f"127.0.0.1:{pg_port}",
            "redis-exporter": f"127.0.0.1:{redis_port}",
        }
        return [pg, redis]

    def start(self, alertmanager_binary: str | None = None) -> None:
        exporters = self._start_exporters()
        # Alertmanager: the shipped routing, receivers pointed at the local stand-ins.
        am_home = self.home / "alertmanager-home"
        am_home.mkdir(parents=True)
        secrets = receiver_secrets(self.receiver.url)
        config_path = _copy_config(am_home, secrets)
        text = config_path.read_text().replace(INCIDENT_WEBHOOK, f"{self.receiver.url}/webhook")
        config = yaml.safe_load(text)
        config["global"]["pagerduty_url"] = f"{self.receiver.url}/pagerduty"
        config["route"]["group_wait"] = GROUP_WAIT
        config["route"]["group_interval"] = GROUP_INTERVAL
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        am_port = free_port()
        self.alertmanager_url = f"http://127.0.0.1:{am_port}"
        am = self._start(
            "alertmanager",
            [
                alertmanager_binary or _binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={config_path}",
                f"--storage.path={am_home / 'data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            dict(os.environ),
            self.alertmanager_url,
        )

        # The API, with fault injection.
        api_home = self.home / "api"
        api_home.mkdir()
        api_port = free_port()
        self.api_url = f"http://127.0.0.1:{api_port}"
        env = service_env(api_home, SYNTHDATA_FAULT_INJECTION="true")
        api = self._start(
            "serve",
            [
                sys.executable,
                "-m",
                "synthdata",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--workers",
                "1",
                "--job-threads",
                "0",
            ],
            env,
            self.api_url,
        )

        # Prometheus: the shipped rule files, compressed; 1 s intervals.
        prom_home = self.home / "prometheus-home"
        (prom_home / "rules").mkdir(parents=True)
        rule_names = []
        for path in shipped_rule_files():
            (prom_home / "rules" / path.name).write_text(compress_rules(path.read_text()))
            rule_names.append(f"rules/{path.name}")
        shipped = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
        prom_port = free_port()
        targets = {
            "prometheus": f"127.0.0.1:{prom_port}",
            "synthdata-api": f"127.0.0.1:{api_port}",
            **self.exporter_targets,
        }
        scrape_configs = []
        for job in shipped["scrape_configs"]:
            if job["job_name"] in targets:
                for static in job["static_configs"]:
                    static["targets"] = [targets[job["job_name"]]]
                if job["job_name"] == "postgres-exporter":
                    job["scrape_interval"] = PG_EXPORTER_INTERVAL
                    job["scrape_timeout"] = PG_EXPORTER_INTERVAL
                scrape_configs.append(job)
        prometheus_config = {
            "global": {
                **shipped["global"],
                "scrape_interval": INTERVAL,
                "scrape_timeout": INTERVAL,
                "evaluation_interval": INTERVAL,
            },
            "rule_files": rule_names,
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": scrape_configs,
        }
        (prom_home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        prom = self._start(
            "prometheus",
            [
                _binary("prometheus"),
                f"--config.file={prom_home / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_home / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--rules.alert.resend-delay=1s",
            ],
            dict(os.environ),
            self.prometheus_url,
        )
        wait_http(am, "/-/ready", timeout=60)
        wait_http(prom, "/-/ready", timeout=60)
        wait_http(api, "/readyz", timeout=120)
        for exporter in exporters:
            wait_http(exporter, "/metrics", timeout=60)
        self.settings = {
            "scrape_interval": INTERVAL,
            "postgres-exporter scrape_interval and scrape_timeout": PG_EXPORTER_INTERVAL,
            "evaluation_interval": INTERVAL,
            "time_scale": f"every for: and range selector / {TIME_SCALE}, "
            f"ranges >= {MIN_RANGE_SECONDS}s",
            "group_wait": GROUP_WAIT,
            "group_interval": GROUP_INTERVAL,
            "rules.alert.resend-delay": "1s",
        }

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for proxy in (self.pg_proxy, self.redis_proxy):
            if proxy is not None:
                proxy.stop()

    def exporter_sample(self, job: str, metric: str) -> float | None:
        """`metric` (without labels) as the exporter of `job` serves it right now."""
        text = httpx.get(f"http://{self.exporter_targets[job]}/metrics", timeout=5).text
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == metric:
                return float(value)
        return None

    # -- Prometheus queries ----------------------------------------------------------------------
    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=5
        )
        return list(response.json()["data"]["result"])

    def wait_query(self, expr: str, present: bool, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if bool(self.query(expr)) == present:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"{expr}: still {'absent' if present else 'present'} after {timeout:.0f} s"
        )

    def alert_state(self, name: str) -> set[str]:
        return {r["metric"]["alertstate"] for r in self.query(f'ALERTS{{alertname="{name}"}}')}


@contextlib.contextmanager
def traffic(
    url: str, per_second: float, headers: Callable[[], dict[str, str]], path: str = "/healthz"
) -> Iterator[list[int]]:
    """Send requests at about `per_second` in a thread; yield the status codes seen."""
    statuses: list[int] = []
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    statuses.append(client.get(path, headers=headers()).status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                stop.wait(max(0.0, 1 / per_second - (time.monotonic() - started)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join(10)


# -- the flows ------------------------------------------------------------------------------------
def _pd(alertname: str, action: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: (
        body.get("event_action") == action
        and body["payload"]["summary"].startswith(f"{alertname} - ")
    )


def flow_database(stack: AlertStack, timeout: float = 40.0) -> dict[str, Any]:
    """PostgreSQL goes away under postgres_exporter (its proxy drops and resets every
    connection) -> pg_up 0 -> DatabaseConnectionFailure -> PagerDuty; then it comes back."""
    proxy = stack.pg_proxy
    assert proxy is not None, "the stack is not started"
    proxy.up()
    stack.wait_query('pg_up{job="postgres-exporter"} == 1', present=True)
    stack.wait_query('ALERTS{alertname="DatabaseConnectionFailure"}', present=False)
    start = time.monotonic()
    proxy.down()
    try:
        page = stack.receiver.first(
            "/pagerduty", _pd("DatabaseConnectionFailure", "trigger"), after=start, timeout=timeout
        )
        # What caused it: the exporter is alive (scraped, up 1) and says pg_up 0.
        exporter_pg_up = stack.exporter_sample("postgres-exporter", "pg_up")
        scrape_up = [float(r["value"][1]) for r in stack.query('up{job="postgres-exporter"}')]
    finally:
        proxy.up()
    return {
        "flow": "database",
        "alert": "DatabaseConnectionFailure",
        "receiver": "pagerduty",
        "for": scaled("1m", TIME_SCALE),
        "fire_s": page["t"] - start,
        "exporter_pg_up": exporter_pg_up,
        "scrape_up": scrape_up,
        "page": page,
    }


def flow_error_rate(stack: AlertStack, timeout: float = 60.0) -> dict[str, Any]:
    """Half the requests get an injected 500 -> HighErrorRate -> PagerDuty; faults stop ->
    the resolve event."""
    faulting = threading.Event()
    flip = iter(range(10**9))

    def headers() -> dict[str, str]:
        return {FAULT: "500"} if faulting.is_set() and next(flip) % 2 == 0 else {}

    with traffic(stack.api_url, 8, headers) as statuses:
        stack.wait_query('ALERTS{alertname="HighErrorRate"}', present=False)
        start = time.monotonic()
        faulting.set()
        page = stack.receiver.first(
            "/pagerduty", _pd("HighErrorRate", "trigger"), after=start, timeout=timeout
        )
        stopped = time.monotonic()
        faulting.clear()
        resolved = stack.receiver.first(
            "/pagerduty", _pd("HighErrorRate", "resolve"), after=stopped, timeout=timeout
        )
    return {
        "flow": "error_rate",
        "alert": "HighErrorRate",
        "receiver": "pagerduty",
        "for": scaled("5m", TIME_SCALE),
        "fire_s": page["t"] - start,
        "resolve_s": resolved["t"] - stopped,
        "page": page,
        "resolved": resolved,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


def flow_brute_force(stack: AlertStack, timeout: float = 60.0) -> dict[str, Any]:
    """A burst of unknown API keys -> BruteForceAttack -> the security Slack channel."""
    stack.wait_query('ALERTS{alertname="BruteForceAttack"}', present=False, timeout=60)
    start = time.monotonic()
    with traffic(stack.api_url, 25, lambda: {"X-API-Key": BAD_KEY}, "/api/v1/me") as statuses:
        message = stack.receiver.first(
            "/slack",
            lambda body: body["attachments"][0]["title"] == "Alert: BruteForceAttack",
            after=start,
            timeout=timeout,
        )
    return {
        "flow": "brute_force",
        "alert": "BruteForceAttack",
        "receiver": "slack",
        "for": scaled("2m", TIME_SCALE),
        "fire_s": message["t"] - start,
        "message": message,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


FLOWS = (flow_database, flow_error_rate, flow_brute_force)


# -- the benchmark ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    load1, load5, load15 = os.getloadavg()
    versions = {}
    for tool in (
        "prometheus",
        "prometheus-alertmanager",
        "prometheus-postgres-exporter",
        "prometheus-redis-exporter",
    ):
        try:
            out = subprocess.run(
                [tool, "--version"], capture_output=True, text=True, timeout=10, check=False
            )
            line = (out.stdout or out.stderr).splitlines()[0]
            # redis_exporter prints its version as a log line.
            logged = re.search(r'msg="(.*?)\s+build date', line)
            versions[tool] = logged.group(1) if logged else line
        except (OSError, IndexError):
            versions[tool] = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "loadavg_at_start": [round(load1, 2), round(load5, 2), round(load15, 2)],
        **versions,
    }


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Alert latency: fault to notification",
        "",
        f"Run {m['date']} on {m['host']} ({m['platform']}, {m['cpus']} CPUs, "
        f"{m['memory_gb']} GB), load average at start {m['loadavg_at_start']}, "
        f"after the runs {report['loadavg_at_end']}. {m.get('prometheus', '')}; "
        f"{m.get('prometheus-alertmanager', '')}; {m.get('prometheus-postgres-exporter', '')}; "
        f"{m.get('prometheus-redis-exporter', '')}.",
        "",
        "Compressed test intervals (test copies only; the shipped files are unchanged): "
        + ", ".join(f"{k} {v}" for k, v in report["settings"].items())
        + ".",
        "",
        "`for` is the alert's compressed `for:`: a latency cannot be shorter. On top of it come "
        "scraping and rule evaluation (1 s each; postgres_exporter is scraped every 3 s), "
        "group_wait for a new Alertmanager group (group_interval when the group still "
        "exists from an earlier run) and delivery. "
        "The brute-force flow counts authentication failures of both kinds: 401 for an "
        "unknown key, then 429 once the source address is locked out (later runs start "
        "locked out).",
        "",
        "| flow | alert -> receiver | for | runs | fire min | fire median | fire max "
        "| resolve median |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["summary"]:
        resolve = f"{row['resolve_median_s']:.1f} s" if row.get("resolve_median_s") else "-"
        lines.append(
            f"| {row['flow']} | {row['alert']} -> {row['receiver']} | {row['for']} | "
            f"{row['runs']} | {row['fire_min_s']:.1f} s | {row['fire_median_s']:.1f} s | "
            f"{row['fire_max_s']:.1f} s | {resolve} |"
        )
    lines += [
        "",
        "With the shipped intervals add, per alert: the shipped `for:` (DatabaseConnection"
        "Failure 1m, HighErrorRate 5m, BruteForceAttack 2m), up to one 15 s scrape and one "
        "15 s evaluation, and the 10 s group_wait.",
        "",
    ]
    return "\n".join(lines)


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for flow in FLOWS:
        name = flow.__name__.removeprefix("flow_")
        rows = [r for r in results if r["flow"] == name]
        if not rows:
            continue
        fire = [r["fire_s"] for r in rows]
        resolve = [r["resolve_s"] for r in rows if "resolve_s" in r]
        summary.append(
            {
                "flow": name,
                "alert": rows[0]["alert"],
                "receiver": rows[0]["receiver"],
                "for": rows[0]["for"],
                "runs": len(rows),
                "fire_min_s": round(min(fire), 2),
                "fire_median_s": round(statistics.median(fire), 2),
                "fire_max_s": round(max(fire), 2),
                "resolve_median_s": round(statistics.median(resolve), 2) if resolve else None,
            }
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Runs of each flow.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import tempfile

    report_machine = machine()
    receiver, server = start_receiver()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        stack = AlertStack(Path(tmp), receiver)
        try:
            stack.start()
            for run in range(args.runs):
                for flow in FLOWS:
                    result = flow(stack)
                    result = {
                        k: v for k, v in result.items() if k not in ("page", "resolved", "message")
                    }
                    result["run"] = run + 1
                    results.append(result)
                    print(json.dumps(result), flush=True)
        finally:
            stack.stop()
            server.shutdown()
            server.server_close()
    report = {
        "benchmark": "alert_latency",
        "machine": report_machine,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "settings": stack.settings,
        "results": results,
        "summary": summarise(results),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "alert_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "alert_latency.md").write_text(render_markdown(report))
    print(render_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
