"""What observability costs: request throughput with instrumentation on vs off, and
how long `/metrics` takes to render with 1000 customers' series.

    python -m benchmarks.observability_benchmark                 # about 6 minutes
    python -m benchmarks.observability_benchmark --duration 3 --rounds 2

1. **Throughput.** `synthdata serve --workers 1 --job-threads 0` processes run the
   same service side by side: one with `SYNTHDATA_OBSERVABILITY=true` (metrics, the
   JSON access log and `/metrics`: the default), one with it `false`, and one with
   metrics on but the access log's INFO lines filtered out (`SYNTHDATA_LOG_LEVEL=
   WARNING`), to tell the two costs apart. A lean closed-loop client keeps
   `--connections` keep-alive connections busy against each in rotating rounds, so
   drift in the machine's load hits all alike; the estimate is the median of the
   per-round on/off ratios. The servers run on one CPU and the client on another. Two
   endpoints: `/healthz` (no work besides the instrumentation: the worst case for
   the metrics; a successful probe writes no access line) and `/api/v1/me`
   (authentication, a database read, the per-customer counter and an access
   line). Each round also reads the server's CPU time per answered request.
   Target: on reaches at least 90 % of off, in throughput and in CPU per request.
2. **Render time.** Every contract metric is filled as 1000 customers would fill
   it (each customer's own counter, 20 route templates x statuses, histograms,
   heavy hitters), then `/metrics` is rendered repeatedly in one process (the
   single-process exposition) and, from the sample files of two processes, the
   way `serve --workers 2` merges them. Target: median < 20 ms.

Results: `benchmarks/results/observability.json` and `.md`, with the machine, the
date and the load average at start and end. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_processes import SYNTHDATA, base_env, cli, free_port, tree_cpu_seconds

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
THROUGHPUT_TARGET = 0.90
RENDER_TARGET_MS = 20.0
ENDPOINTS = ("/healthz", "/api/v1/me")

# Route templates x methods x statuses for the render fill: what a busy service exposes.
ROUTES = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{customer_id}"),
    ("POST", "/api/v1/customers/{customer_id}/keys"),
    ("GET", "/api/v1/customers/{customer_id}/keys"),
    ("POST", "/api/v1/keys/{key_id}/revoke"),
    ("GET", "/api/v1/datasets"),
    ("POST", "/api/v1/datasets"),
    ("GET", "/api/v1/datasets/{dataset_id}"),
    ("GET", "/api/v1/models"),
    ("POST", "/api/v1/models"),
    ("GET", "/api/v1/models/{model_id}"),
    ("GET", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/{job_id}"),
    ("POST", "/api/v1/jobs/{job_id}/cancel"),
    ("GET", "/api/v1/jobs/{job_id}/result"),
    ("GET", "/api/v1/usage"),
    ("GET", "/healthz"),
]
STATUSES = ("200", "201", "202", "400", "401", "403", "404", "422", "429", "500", "503")


# -- machine --------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {
            name: version(name)
            for name in ("fastapi", "starlette", "uvicorn", "prometheus_client", "structlog")
        },
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- the servers ----------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path


def _env(home: Path, observability: bool, log_level: str) -> dict[str, str]:
    return base_env(
        home,
        SYNTHDATA_ENVIRONMENT="test",
        SYNTHDATA_OBSERVABILITY="true" if observability else "false",
        SYNTHDATA_LOG_LEVEL=log_level,
        SYNTHDATA_RATE_LIMIT_BACKEND="memory",
        SYNTHDATA_RATE_LIMIT_PER_KEY="1000000000",
        SYNTHDATA_RATE_LIMIT_PER_SOURCE="1000000000",
        SYNTHDATA_RATE_LIMIT_PER_SOURCE_PER_SECOND="1000000000",
    )


@contextmanager
def server(
    name: str, home: Path, observability: bool, log_level: str
) -> Iterator[tuple[Server, str]]:
    """A one-process service with its own database and one customer key; stopped on exit."""
    home.mkdir(parents=True, exist_ok=True)
    env = _env(home, observability, log_level)
    customer = cli(env, "admin", "create-customer", "Bench", "--price-per-1k-rows", "1")
    key = cli(env, "admin", "create-key", customer)
    port = free_port()
    log = home / "serve.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [*SYNTHDATA, "serve", "--port", str(port), "--workers", "1", "--job-threads", "0"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_pin(SERVER_CPU),
        )
    proc = Server(name, popen, port, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield proc, key
    finally:
        if popen.poll() is None:
            os.killpg(os.getpgid(popen.pid), signal.SIGTERM)
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(popen.pid), signal.SIGKILL)
                popen.wait(5)


# With two or more CPUs, the servers share one and the client has another, so the
# scheduler does not move them around and each measures the same way.
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU = CPUS[-1] if len(CPUS) > 1 else None
CLIENT_CPU = CPUS[0] if len(CPUS) > 1 else None


def _pin(cpu: int | None) -> Any:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


# -- a lean closed-loop client -----------------------------------------------------------
async def _connection(
    port: int, request: bytes, stop_at: float, counts: dict[str, int], record_from: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts["answered"] = counts.get("answered", 0) + 1  # warm-up included
            if time.perf_counter() >= record_from:
                key = "ok" if status < 400 else f"http-{status}"
                counts[key] = counts.get(key, 0) + 1
    finally:
        writer.close()


async def _closed_loop(
    port: int, path: str, key: str, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n\r\n"
    ).encode()
    counts: dict[str, int] = {}
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = record_from + seconds
    await asyncio.gather(
        *(_connection(port, request, stop_at, counts, record_from) for _ in range(connections))
    )
    answered = counts.pop("answered", 0)
    return {"rps": round(counts.get("ok", 0) / seconds, 1), "counts": counts, "answered": answered}


def closed_loop(
    port: int, path: str, key: str, seconds: float, warmup: float, conns: int, pid: int = 0
) -> Any:
    """Requests per second answered < 400 over `seconds` (after `warmup`).

    With the server's `pid`, also the server's CPU time per answered request: what a
    request costs the server, whatever else the machine (the client included) is
    doing, so its inverse is the throughput a saturated server process reaches.
    """
    cpu_before = tree_cpu_seconds(pid) if pid else 0.0
    try:
        import uvloop

        result = uvloop.run(_closed_loop(port, path, key, seconds, warmup, conns))
    except ImportError:
        result = asyncio.run(_closed_loop(port, path, key, seconds, warmup, conns))
    if pid and result["answered"]:
        cpu = tree_cpu_seconds(pid) - cpu_before
        result["cpu_us_per_request"] = round(cpu / result["answered"] * 1e6, 1)
    return result


# name -> (SYNTHDATA_OBSERVABILITY, SYNTHDATA_LOG_LEVEL). "on" is the default deployment;
# "metrics_only" keeps the metrics but filters out the INFO access-log lines of 2xx.
CONFIGS = {"on": (True, "INFO"), "metrics_only": (True, "WARNING"), "off": (False, "INFO")}


def _paired(numerators: list[float], denominators: list[float]) -> float:
    return round(statistics.median(a / b for a, b in zip(numerators, denominators, strict=True)), 3)


def throughput(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    cpus = os.sched_getaffinity(0)
    if CLIENT_CPU is not None:
        os.sched_setaffinity(0, {CLIENT_CPU})
    with ExitStack() as stack:
        stack.callback(os.sched_setaffinity, 0, cpus)
        targets = {}
        for name, (observability, level) in CONFIGS.items():
            proc, key = stack.enter_context(server(name, scratch / name, observability, level))
            targets[name] = (proc.port, key, proc.popen.pid)
        # The off server really has no instrumentation: no /metrics.
        assert httpx.get(f"http://127.0.0.1:{targets['off'][0]}/metrics").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{targets['on'][0]}/metrics").status_code == 200
        names = list(CONFIGS)
        for path in ENDPOINTS:
            rounds: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            errors: dict[str, dict[str, int]] = {name: {} for name in names}
            for port, key, _pid in targets.values():  # warm all up (imports, caches)
                closed_loop(port, path, key, 1.0, 0.5, args.connections)
            for index in range(args.rounds):
                shift = index % len(names)  # rotate who goes first
                for name in names[shift:] + names[:shift]:
                    port, key, pid = targets[name]
                    run = closed_loop(port, path, key, args.duration, 0.5, args.connections, pid)
                    rounds[name].append(run["rps"])
                    cpu[name].append(run["cpu_us_per_request"])
                    for status, count in run["counts"].items():
                        if status != "ok":
                            errors[name][status] = errors[name].get(status, 0) + count
                    print(
                        f"  {path:12} {name:12} round {index + 1}: {run['rps']:8.1f} req/s, "
                        f"{run['cpu_us_per_request']:6.1f} us CPU/request"
                    )
            rps = {name: statistics.median(values) for name, values in rounds.items()}
            cost = {name: statistics.median(values) for name, values in cpu.items()}
            # Paired: each round's on and off ran seconds apart, so a slow spell of the
            # machine hits both; the median of the per-round ratios is the estimate.
            throughput_ratio = _paired(rounds["on"], rounds["off"])
            capacity = _paired(cpu["off"], cpu["on"])  # requests per server CPU-second
            results[path] = {
                "on_rps": rps["on"],
                "metrics_only_rps": rps["metrics_only"],
                "off_rps": rps["off"],
                "on_over_off": throughput_ratio,
                "metrics_only_over_off": _paired(rounds["metrics_only"], rounds["off"]),
                "cpu_us_per_request": cost,
                "capacity_on_over_off": capacity,
                "capacity_metrics_only_over_off": _paired(cpu["off"], cpu["metrics_only"]),
                "target": THROUGHPUT_TARGET,
                "pass": capacity >= THROUGHPUT_TARGET and throughput_ratio >= THROUGHPUT_TARGET,
                "rounds": rounds,
                "cpu_rounds": cpu,
                "errors": errors,
            }
    return results


# -- /metrics render time -----------------------------------------------------------------
_KEPT: list[object] = []


def _fill(customers: int, process: int) -> None:
    """Fill every contract metric as a busy process serving `customers` customers would."""
    from synthdata.engine.base import list_synthesizers
    from synthdata.observability import metrics
    from synthdata.observability.request_tally import RequestTally
    from synthdata.service.admin.privileged import PRIVILEGED_OPERATIONS

    metrics.preinitialise(list_synthesizers(), ["USD", "EUR"], PRIVILEGED_OPERATIONS)
    for index in range(customers):
        metrics.api_requests_total.labels(f"cus_{index:028x}").inc(10 + index % 97)
    for method, route in ROUTES:
        for status in STATUSES:
            metrics.http_requests_total.labels(method, route, status).inc(1 + process)
        histogram = metrics.http_request_duration_seconds.labels(method, route)
        for i in range(50):
            histogram.observe(0.001 * (1 + i * (process + 1)))
    tally = RequestTally()  # its sources are rendered as the per-source gauge at every scrape
    _KEPT.append(tally)  # the process's tallies are weakly held
    for i in range(50):
        tally.talkers.add(f"203.0.113.{i}", 100 + i)
    for reason in metrics.AUTH_FAILURE_REASONS:
        metrics.auth_failures_total.labels(reason).inc(3)
    for name in list_synthesizers():
        metrics.generation_total.labels(name).inc(5)
        metrics.generation_success_total.labels(name).inc(5)
        metrics.generation_duration_seconds.labels(name, "small").observe(2.0)
        metrics.model_training_duration_seconds.labels(name).observe(1.0)
    metrics.data_processed_bytes_total.labels("in").inc(10**9)
    metrics.data_processed_bytes_total.labels("out").inc(10**9)
    metrics.revenue_generated_total.labels("USD").inc(1234.5)


def _render(repeat: int) -> dict[str, Any]:
    """Time `metrics_payload()` (what `/metrics` returns) `repeat` times."""
    from synthdata.observability import metrics
    from synthdata.observability.http import metrics_payload

    metrics.scrape_time.queue_length = lambda: 3
    metrics.scrape_time.active_users = lambda: 1000
    metrics.scrape_time.cert_expiry_seconds = lambda: {"/etc/ssl/api.pem": 60.0 * 86400}
    payload = metrics_payload()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        payload = metrics_payload()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    text = payload.decode()
    return {
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "max_ms": round(timings[-1], 2),
        "repeat": repeat,
        "bytes": len(payload),
        "samples": sum(1 for line in text.splitlines() if line and not line.startswith("#")),
        "customer_series": text.count("synthdata_api_requests_total{"),
    }


def _child(*args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.observability_benchmark", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None


def render_times(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    single = _child("--child", "single", "--customers", str(args.customers), env=env)
    directory = scratch / "multiproc"
    directory.mkdir()
    multi_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for process in range(2):  # two server processes' sample files
        _child("--child", f"fill{process}", "--customers", str(args.customers), env=multi_env)
    multi = _child("--child", "render", "--customers", str(args.customers), env=multi_env)
    out: dict[str, Any] = {}
    for name, result in (("single_process", single), ("two_processes_merged", multi)):
        result["target_ms"] = RENDER_TARGET_MS
        result["pass"] = result["median_ms"] < RENDER_TARGET_MS
        out[name] = result
    return out


# -- report ---------------------------------------------------------------------------------
def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Observability benchmark",
        "",
        f"Run {report['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), "
        f"{m['os']}, Python {m['python']}. Load average at start "
        f"{' / '.join(map(str, report['load_average']['start']))}, at end "
        f"{' / '.join(map(str, report['load_average']['end']))}.",
        "",
        "Command: `"
        + " ".join(["python -m benchmarks.observability_benchmark", *report["arguments"]])
        + "`",
        "",
        "## Throughput: instrumentation on vs off",
        "",
        *(
            [
                "The machine was already busy when the run started (1-minute load "
                "average above 1): rounds vary, so read the ratios as approximate.",
                "",
            ]
            # Not the end's: the benchmark's own server and client load the machine.
            if report["load_average"]["start"][0] > 1
            else []
        ),
        f"`synthdata serve --workers 1 --job-threads 0`, SQLite; "
        f"{report['settings']['connections']} keep-alive connections, closed loop, "
        f"{report['settings']['rounds']} rotating rounds of "
        f"{report['settings']['duration_s']} s each; servers pinned to one CPU, the "
        "client to another. Ratios are the median of the per-round ratios (on and off "
        "of one round ran seconds apart); req/s and CPU columns are medians.",
        "",
        "| endpoint | on (req/s) | off (req/s) | on / off | server CPU per request, "
        "on / metrics only / off | capacity on / off | capacity metrics only / off "
        "| target | result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for path, r in report["throughput"].items():
        cost = r["cpu_us_per_request"]
        lines.append(
            f"| `{path}` | {r['on_rps']:.0f} | {r['off_rps']:.0f} | "
            f"{100 * r['on_over_off']:.1f} % | {cost['on']:.0f} / {cost['metrics_only']:.0f} / "
            f"{cost['off']:.0f} us | {100 * r['capacity_on_over_off']:.1f} % | "
            f"{100 * r['capacity_metrics_only_over_off']:.1f} % | >= {100 * r['target']:.0f} % "
            f"| {'PASS' if r['pass'] else 'FAIL'} |"
        )
    lines += [
        "",
        "On: the default deployment - request metrics, the JSON access log (one line "
        "per request at INFO) and `/metrics`. Off: `SYNTHDATA_OBSERVABILITY=false`. "
        "Metrics only: on, with `SYNTHDATA_LOG_LEVEL=WARNING`, which filters out the "
        "access-log lines of successful requests (what the access log costs is the "
        "difference between the two).",
        "",
        "Two measures of the same thing, and both must reach the target. *on / off* is "
        "the closed-loop throughput; on this 2-core machine the client "
        "runs beside the servers, so rounds move with whatever else runs. *Capacity* "
        "is the inverse of the server's own CPU time per answered request (user + "
        "system): the throughput a saturated server process reaches, "
        "which the client and the neighbours disturb far less.",
        "",
        "Rounds (req/s, then server CPU us per request):",
        "",
    ]
    for path, r in report["throughput"].items():
        cpu_rounds = ", ".join(f"{name} {values}" for name, values in r["cpu_rounds"].items())
        lines.append(f"- `{path}` CPU: {cpu_rounds}")
    for path, r in report["throughput"].items():
        rounds = ", ".join(f"{name} {values}" for name, values in r["rounds"].items())
        lines.append(f"- `{path}`: {rounds}")
    lines += [
        "",
        f"## `/metrics` render time, {report['settings']['customers']} customers",
        "",
        "| exposition | median | p95 | max | samples | bytes | target | result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in report["render"].items():
        lines.append(
            f"| {name.replace('_', ' ')} | {r['median_ms']} ms | {r['p95_ms']} ms | "
            f"{r['max_ms']} ms | {r['samples']} | {r['bytes']:,} | < {r['target_ms']:.0f} ms | "
            f"{'PASS' if r['pass'] else 'FAIL'} |"
        )
    lines += [
        "",
        "Every contract metric filled: one `synthdata_api_requests_total` series per "
        f"customer, {len(ROUTES)} route templates x {len(STATUSES)} statuses, request "
        "histograms, 50 heavy hitters, generation and training histograms. "
        "'two processes merged' is what `serve --workers 2` does on each scrape: "
        "read both processes' sample files and add them up.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per configuration")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200, help="renders timed")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # a helper process of the render measurement
        if args.child == "single":
            _fill(args.customers, 0)
            print(json.dumps(_render(args.repeat)))
        elif args.child.startswith("fill"):
            _fill(args.customers, int(args.child[4:]))
        else:
            print(json.dumps(_render(args.repeat)))
        return

    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "arguments": argv if argv is not None else sys.argv[1:],
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "customers": args.customers,
            "repeat": args.repeat,
        },
        "load_average": {"start": load_average()},
    }
    scratch = Path(tempfile.mkdtemp(prefix="synthdata-obs-bench-"))
    try:
        print("throughput, instrumentation on vs off")
        report["throughput"] = throughput(args, scratch)
        print("/metrics render time")
        report["render"] = render_times(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["load_average"]["end"] = load_average()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "observability.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.out_dir / "observability.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
