"""Run the production alert benchmark's faults and soak side by side, one process each.

With production timing every fault takes 15-25 minutes (warm-up, the shipped `for:`,
the hold, the resolve) and the soak 30, so one after another the full run takes close
to three hours. Each fault already runs on its own stack (its own processes and ports,
its own PostgreSQL database, Redis queue name and rate-limit prefix); here each also
gets its own process and receiver, so no notification can be counted against another
fault. At most `lanes` run at once; the soak starts first because it is the longest.
The report says how many ran at once and the load average, since running side by side
shares the CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.alert_config import REPO

SOAK = "soak"


def _run_one(
    name: str, args: list[str], warmup_s: float, work: Path, log: Callable[[str], None]
) -> dict[str, Any]:
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.alert_latency",
        *args,
        "--warmup",
        str(warmup_s),
        "--out",
        str(out),
    ]
    log(f"{name}: started")
    with (out / "log.txt").open("w") as sink:
        done = subprocess.run(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = (out / "log.txt").read_text().splitlines()[-20:]
        raise RuntimeError(f"{name} exited {done.returncode}:\n" + "\n".join(tail))
    log(f"{name}: finished")
    report: dict[str, Any] = json.loads((out / "alert_latency.json").read_text())
    return report


def run_in_lanes(
    faults: list[str],
    soak_minutes: float,
    warmup_s: float,
    lanes: int,
    work: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The same report as one sequential run, its parts measured `lanes` at a time."""
    tasks: list[tuple[str, list[str]]] = []
    if soak_minutes > 0:
        tasks.append((SOAK, ["--faults", "none", "--soak", str(soak_minutes)]))
    tasks += [(name, ["--faults", name, "--soak", "0"]) for name in faults]
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        running = {
            name: pool.submit(_run_one, name, args, warmup_s, work, log) for name, args in tasks
        }
        reports = {name: future.result() for name, future in running.items()}
    out: dict[str, Any] = {"faults": [], "lanes": lanes}
    for name in faults:
        out["faults"] += reports[name]["faults"]
    if SOAK in reports:
        out["soak"] = reports[SOAK]["soak"]
    first = next(iter(reports.values()), None)
    if first is not None:
        out["timing"] = first["timing"]
    out["lane_loadavg_at_end"] = {
        name: report["loadavg_at_end"] for name, report in reports.items()
    }
    return out
