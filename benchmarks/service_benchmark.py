"""Service benchmark: the real `synthdata serve` and `synthdata worker`, driven over HTTP.

    python -m benchmarks.service_benchmark [--quick] [--skip-load] [--skip-e2e] [--skip-chunks]

1. **Load**: an open-loop load test (`benchmarks.loadgen`: constant arrival rate,
   latency from each request's due time) on an authenticated read endpoint of the
   embedded default (SQLite, local queue, one process), a rate ladder, then the target
   rate; when the target is missed, py-spy shows where the server's CPU goes.
2. **End to end** with `synthdata.Client`: upload a ~1 MB and a ~100 MB CSV, generate as
   many rows, wait, download.
3. **Chunked parallelism**: one 10M-row job with the Redis queue, run by one
   `synthdata worker`, then by two.

Results go to `benchmarks/results/service.json` and `service.md` (PASS/FAIL per target).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import service_processes as sp
from benchmarks.service_chunks import run_chunks
from benchmarks.service_e2e import run_e2e
from benchmarks.service_profile import available as profiler_available
from benchmarks.service_profile import dump_threads, record, summarize
from benchmarks.service_report import check_targets, machine_info, render_markdown

RESULTS_DIR = Path(__file__).parent / "results"
TARGET_RATE = 1000.0
LOAD_PATH = "/api/v1/usage"
PROFILE_FALLBACK_RATE = 100.0
# One key from one address at 1000/s is far over the default limits (1200 per key and
# 3000 per source per minute); raise them so the limiter still runs but never refuses.
UNLIMITED = {
    "SYNTHDATA_RATE_LIMIT_PER_KEY": "1000000000",
    "SYNTHDATA_RATE_LIMIT_PER_SOURCE": "1000000000",
    "SYNTHDATA_RATE_LIMIT_PER_SOURCE_PER_SECOND": "1000000000",
}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_step(
    server: sp.Proc, path: str, rate: float, duration: float, headers: list[str], warmup: float
) -> dict[str, Any]:
    """One open-loop run in its own process; adds the server's CPU use over the run."""
    command = [
        sys.executable, "-m", "benchmarks.loadgen", "--url", f"{server.url}{path}",
        "--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup), "--json",
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    server.mark_cpu()
    started = time.monotonic()
    done = sp.subprocess.run(
        command, capture_output=True, text=True, timeout=duration + warmup + 120, check=False
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-1000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = server.cpu_since_mark()
    result["server_cpu_percent"] = round(100 * cpu / elapsed, 1)
    served = result["completed"]  # answered, whatever the status
    result["server_cpu_us_per_request"] = round(1e6 * cpu / served) if served else None
    lat = result["latency_ms"]
    _log(
        f"  {path} @ {rate:.0f}/s: {result['achieved_rate']:.0f}/s ok, p50 {lat.get('p50')} ms, "
        f"p95 {lat.get('p95')} ms, p99 {lat.get('p99')} ms, errors {result['errors'] or 0}, "
        f"server CPU {result['server_cpu_percent']}%, generator CPU "
        f"{result['client_cpu_percent']}%"
    )
    return result


def run_load(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The rate ladder, the target run and (if it misses) a profile, each on a fresh server."""
    home = work / "load"
    env = sp.base_env(home, **UNLIMITED)
    customer, key = sp.create_customer_key(env)
    headers = [f"X-API-Key: {key}"]
    serve_args = ["--workers", str(args.api_processes)] if args.api_processes > 1 else []
    duration = 5.0 if args.quick else 30.0
    step_s = 3.0 if args.quick else 10.0
    ladder = [250.0, 500.0, 750.0] if not args.quick else [500.0]
    out: dict[str, Any] = {
        "endpoint": f"GET {LOAD_PATH}",
        "api_processes": args.api_processes,
        "rate_limits": "raised for the run (see notes)",
        "ladder": [],
    }

    def fresh(tag: str) -> Any:
        return sp.serve(f"serve-{tag}", env, work / "logs", serve_args)

    _log("load: rate ladder")
    for rate in ladder:
        with fresh(f"ladder-{rate:.0f}") as server:
            step = load_step(server, LOAD_PATH, rate, step_s, headers, 1.0)
            out["ladder"].append(step)
            if step["ok"] < 0.5 * step["scheduled"] and "stall" not in out:
                out["stall"] = {"rate": rate, **dump_threads(server.popen.pid)}
                _log(f"  server stalled; its threads: {out['stall'].get('groups', [])[:4]}")
    _log("load: reference without auth or database (GET /healthz)")
    with fresh("healthz") as server:
        out["healthz"] = load_step(server, "/healthz", TARGET_RATE, step_s, [], 1.0)
    _log(f"load: target run, {TARGET_RATE:.0f}/s for {duration:.0f} s")
    with fresh("target") as server:
        out["target"] = load_step(server, LOAD_PATH, TARGET_RATE, duration, headers, 2.0)
    out["customer_id"] = customer
    if not args.no_profile and profiler_available() and not _meets(out["target"]):
        out["profile"] = profile(work, fresh, headers, out["ladder"], step_s)
    return out


def _meets(result: dict[str, Any]) -> bool:
    p95 = result["latency_ms"].get("p95")
    return (
        result["achieved_rate"] >= 0.99 * TARGET_RATE
        and not result["errors"]
        and p95 is not None
        and p95 < 50
    )


def profile(
    work: Path, fresh: Any, headers: list[str], ladder: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """Sample the server at the highest ladder rate it sustained (or a low fixed rate)."""
    sustained = [
        r for r in ladder if not r["errors"] and r["achieved_rate"] >= 0.99 * r["target_rate"]
    ]
    rate = max((r["target_rate"] for r in sustained), default=PROFILE_FALLBACK_RATE)
    _log(f"load: profiling the server with py-spy at {rate:.0f}/s")
    with fresh("profile") as server:
        raw = work / "profile.raw"
        spy = record(server.popen.pid, seconds + 1, raw)
        time.sleep(0.5)
        step = load_step(server, LOAD_PATH, rate, seconds, headers, 0.5)
        spy.wait(60)
    summary = summarize(raw, step["server_cpu_us_per_request"]) if raw.exists() else {}
    return {"rate": rate, "load": step, **summary}


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Benchmark the REST service and the workers.")
    parser.add_argument("--quick", action="store_true", help="everything smaller (smoke check)")
    parser.add_argument("--skip-load", action="store_true", help="leave out the load test")
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the end-to-end runs")
    parser.add_argument("--skip-chunks", action="store_true", help="leave out 1 vs 2 workers")
    parser.add_argument("--no-profile", action="store_true", help="never run py-spy")
    parser.add_argument(
        "--api-processes", type=int, default=2, help="`serve --workers N` (one per core)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="for part 3")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where results go")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch dir (default: temp)")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "machine": machine_info(),
    }
    load_now = (results["machine"]["load_average"] or [0.0])[0]
    if load_now > 1.0:
        _log(f"warning: load average {load_now:.2f}; other work will slow every timing down")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="synthdata-svc-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if not args.skip_load:
            results["load"] = run_load(args, work)
        if not args.skip_e2e:
            results["e2e"] = run_e2e(args, work, _log)
        if not args.skip_chunks:
            results["chunks"] = run_chunks(args, work, _log)
    results["machine"]["load_average_end"] = machine_info()["load_average"]
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    results["targets"] = check_targets(results)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (args.out_dir / f"service{suffix}.json").write_text(
        json.dumps(results, indent=2, default=str) + "\n"
    )
    markdown = render_markdown(results)
    (args.out_dir / f"service{suffix}.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
