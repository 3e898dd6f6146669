"""Fault to page with the shipped alerting, end to end with real processes; and a soak.

    python -m benchmarks.alert_latency                      # every fault, 30-minute soak
    python -m benchmarks.alert_latency --lanes 3            # the same, 3 at a time
    python -m benchmarks.alert_latency --faults database_down --soak 3
    python -m benchmarks.alert_latency --faults none --soak 30
    python -m benchmarks.alert_latency --compressed [--runs 3]
    python -m benchmarks.alert_latency --faults brute_force --soak 0 --update  # after a fix

The default (production) mode keeps every shipped duration: the rule files as they are,
the shipped scrape and evaluation intervals, Alertmanager's group_wait and
group_interval. It runs each runbook fault on a fresh stack (benchmarks/alert_faults.py:
API down, database down, Redis down, a 5xx episode, a slow database, brute force) and
measures the time from the fault to the first notification, beside the configured
minimum, and how many pages the one root cause produced (target exactly 1); then a
healthy soak (benchmarks/alert_soak.py: steady load, jobs that run 20+ minutes; target
0 notifications). Results: benchmarks/results/alert_latency.{json,md}. `--lanes N` runs
the faults and the soak N at a time, each in its own process with its own stack and
receiver (benchmarks/alert_lanes.py): about an hour instead of three.

`--compressed` runs the CI test's flows (benchmarks/alert_flows.py) on the compressed
stack (benchmarks/alert_stack.py: every duration divided by 30), which measures the
pipeline's own overhead; results: benchmarks/results/alert_latency_compressed.{json,md}.

PagerDuty, Slack and the incident webhook are local receivers
(benchmarks/alert_receiver.py); the data stores are the machine's PostgreSQL and Redis,
reached through TCP proxies that take them "down" (benchmarks/alert_proxy.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.alert_config import (
    MONITORING,
    REPO,
    TIME_SCALE,
    alert_names,
    compress_rules,
    shipped_rule_files,
    shipped_timing,
)
from benchmarks.alert_faults import FAULTS, run_fault
from benchmarks.alert_flows import FLOWS, flow_brute_force, flow_database, flow_error_rate
from benchmarks.alert_lanes import run_in_lanes
from benchmarks.alert_latency_report import (
    machine,
    render_compressed,
    render_production,
    summarise_compressed,
)
from benchmarks.alert_receiver import TimedReceiver, start_receiver
from benchmarks.alert_soak import run_soak
from benchmarks.alert_stack import AlertStack

# The names tests import from here (tests/e2e/, tests/fixtures/incident_webhook.py).
__all__ = [
    "MONITORING",
    "TIME_SCALE",
    "AlertStack",
    "TimedReceiver",
    "compress_rules",
    "flow_brute_force",
    "flow_database",
    "flow_error_rate",
    "main",
    "shipped_rule_files",
    "start_receiver",
]
RESULTS = REPO / "benchmarks" / "results"


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def run_compressed(runs: int, work: Path, receiver: TimedReceiver) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    stack = AlertStack(work, receiver)
    try:
        stack.start()
        for run in range(runs):
            for flow in FLOWS:
                result = flow(stack)
                result = {
                    k: v for k, v in result.items() if k not in ("page", "resolved", "message")
                }
                result["run"] = run + 1
                results.append(result)
                _log(json.dumps(result))
    finally:
        stack.stop()
    names = [flow.__name__.removeprefix("flow_") for flow in FLOWS]
    return {
        "settings": stack.settings,
        "results": results,
        "summary": summarise_compressed(results, names),
    }


def run_production(
    faults: list[str], soak_minutes: float, warmup_s: float, work: Path, receiver: TimedReceiver
) -> dict[str, Any]:
    names = alert_names()
    timing = shipped_timing()
    out: dict[str, Any] = {"faults": [], "timing": timing.__dict__}
    for name in faults:
        out["faults"].append(
            run_fault(FAULTS[name], work / name, receiver, names, timing, warmup_s, 600.0, _log)
        )
        _log(json.dumps({k: v for k, v in out["faults"][-1].items() if k != "notifications"}))
    if soak_minutes > 0:
        out["soak"] = run_soak(soak_minutes, work / "soak", receiver, names, _log)
    return out


def _write(out: Path, stem: str, report: dict[str, Any], render: Callable[..., str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{stem}.md").write_text(render(report))
    print(render(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--faults",
        default="all",
        help=f"Comma-separated faults, 'all' or 'none' (of: {', '.join(FAULTS)}).",
    )
    parser.add_argument(
        "--soak", type=float, default=30.0, metavar="MINUTES", help="Healthy soak (0: none)."
    )
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="Healthy seconds before each fault."
    )
    parser.add_argument(
        "--lanes", type=int, default=1, help="Faults and soak run this many at a time."
    )
    parser.add_argument("--compressed", action="store_true", help="The CI flows, time / 30.")
    parser.add_argument("--runs", type=int, default=3, help="Runs of each compressed flow.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--update",
        action="store_true",
        help="Re-measure --faults only and replace their rows in --out's existing report "
        "(after a fix); the report lists each such re-run.",
    )
    args = parser.parse_args(argv)
    faults = {"all": list(FAULTS), "none": []}.get(args.faults, args.faults.split(","))
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    command = "python -m benchmarks.alert_latency " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    started = time.monotonic()
    report: dict[str, Any] = {
        "benchmark": "alert_latency",
        "command": command.strip(),
        "machine": machine(),
    }
    receiver, server = start_receiver()
    try:
        with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
            if args.compressed:
                report |= run_compressed(args.runs, Path(tmp), receiver)
            elif args.lanes > 1:
                report |= run_in_lanes(faults, args.soak, args.warmup, args.lanes, Path(tmp), _log)
                report["settings"] = _production_settings(Path(tmp))
            else:
                report |= run_production(faults, args.soak, args.warmup, Path(tmp), receiver)
                report["settings"] = _production_settings(Path(tmp))
    finally:
        server.shutdown()
        server.server_close()
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_clock_min"] = round((time.monotonic() - started) / 60, 1)
    if args.compressed:
        _write(args.out, "alert_latency_compressed", report, render_compressed)
    elif args.update:
        _write(
            args.out,
            "alert_latency",
            updated(args.out / "alert_latency.json", report),
            render_production,
        )
    else:
        _write(args.out, "alert_latency", report, render_production)
    return 0


def updated(path: Path, rerun: dict[str, Any]) -> dict[str, Any]:
    """The report in `path` with the re-measured faults' rows (and soak) replaced."""
    report: dict[str, Any] = json.loads(path.read_text())
    fresh = {row["fault"]: row for row in rerun.get("faults", [])}
    report["faults"] = [fresh.pop(row["fault"], row) for row in report["faults"]]
    report["faults"] += list(fresh.values())
    if "soak" in rerun:
        report["soak"] = rerun["soak"]
    report.setdefault("reruns", []).append(
        {
            "command": rerun["command"],
            "date": rerun["machine"]["date"],
            "commit": rerun["machine"]["commit"],
            "faults": [row["fault"] for row in rerun.get("faults", [])],
            "soak": "soak" in rerun,
            "loadavg_at_end": rerun["loadavg_at_end"],
        }
    )
    return report


def _production_settings(work: Path) -> dict[str, str]:
    from benchmarks.alert_production import ProductionStack

    return ProductionStack(work, TimedReceiver(url=""))._describe()


if __name__ == "__main__":
    raise SystemExit(main())
