"""Command-line start-up: how long `synthdata` takes to print its help or version.

    python -m benchmarks.startup_benchmark [--runs 10]

Each command runs as a whole process (the installed `synthdata` script: interpreter
start, imports, help rendering), once to warm the file cache and then `--runs` times.
Wall-clock seconds are the target's measure; CPU seconds (user + system, from the
operating system's accounting of the finished child) are listed beside them because
other work on the machine stretches wall-clock time far more than CPU time.
Target: at most 0.5 s (median wall-clock) for each command.
Results: `results/startup.json` and `results/startup.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.engine_report import machine_info

RESULTS_DIR = Path(__file__).parent / "results"
TARGET_SECONDS = 0.5
COMMANDS = (
    ("--help",),
    ("--version",),
    ("ops", "health-check", "--help"),
    ("generate", "--help"),
)


def synthdata_script() -> Path:
    """The `synthdata` entry point installed beside this interpreter."""
    return Path(sys.executable).parent / "synthdata"


def time_once(argv: list[str]) -> tuple[float, float]:
    """Run `argv` to the end; return (wall seconds, CPU seconds) of that process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def spread(values: list[float]) -> dict[str, Any]:
    """Minimum, median and maximum (and every run), rounded to the millisecond."""
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "runs": [round(v, 3) for v in values],
    }


def measure(args: tuple[str, ...], runs: int) -> dict[str, Any]:
    """Time `synthdata ARGS` over `runs` runs after one warm-up run."""
    argv = [str(synthdata_script()), *args]
    time_once(argv)
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time_once(argv)
        walls.append(wall)
        cpus.append(cpu)
    wall_spread = spread(walls)
    return {
        "command": " ".join(["synthdata", *args]),
        "wall_s": wall_spread,
        "cpu_s": spread(cpus),
        "target_s": TARGET_SECONDS,
        "passed": wall_spread["median"] <= TARGET_SECONDS,
    }


def render(payload: dict[str, Any]) -> str:
    """The Markdown page of the results."""
    machine = payload["machine"]
    lines = [
        "# Command-line start-up",
        "",
        f"Date: {payload['date']}. Command: `python -m benchmarks.startup_benchmark"
        f" --runs {payload['runs']}`.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['ram_bytes'] / 1024**3:.1f} GiB RAM, Python {machine['python']}; "
        f"load average at start {machine['load_average']}, "
        f"at end {payload['load_average_end']}.",
        "",
        f"Each command ran once to warm up, then {payload['runs']} times, as a whole "
        "process. Target: median wall-clock time at most "
        f"{TARGET_SECONDS} s.",
        "",
        "| command | wall s (min / median / max) | CPU s (min / median / max) | target "
        "(median wall) | CPU median within it |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for row in payload["results"]:
        wall, cpu = row["wall_s"], row["cpu_s"]
        lines.append(
            f"| `{row['command']}` | {_triple(wall)} | {_triple(cpu)} | "
            f"<= {row['target_s']} s: {'PASS' if row['passed'] else 'FAIL'} | "
            f"{'yes' if cpu['median'] <= row['target_s'] else 'no'} |"
        )
    lines += [
        "",
        "CPU seconds are the user + system time of the process, which runs on one thread: "
        "its wall-clock time cannot be less. When the load average is above the number "
        "of cores, wall-clock time also includes waiting for a core, which CPU time "
        "does not; compare the load average above before reading a FAIL as slowness of "
        "the command itself.",
        "",
    ]
    return "\n".join(lines)


def _triple(values: dict[str, Any]) -> str:
    return f"{values['min']:.3f} / {values['median']:.3f} / {values['max']:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    options = parser.parse_args(argv)
    if not synthdata_script().exists():
        parser.error(f"no synthdata script at {synthdata_script()} (pip install -e .)")
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = machine_info()
    results = []
    for args in COMMANDS:
        row = measure(args, options.runs)
        results.append(row)
        print(
            f"{row['command']}: median {row['wall_s']['median']:.3f} s wall, "
            f"{row['cpu_s']['median']:.3f} s CPU",
            flush=True,
        )
    payload = {
        "date": started,
        "machine": machine,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "runs": options.runs,
        "results": results,
    }
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "startup.json").write_text(json.dumps(payload, indent=2) + "\n")
    (options.out_dir / "startup.md").write_text(render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
