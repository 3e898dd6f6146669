"""Wide tables: fit + sample time and peak memory as the number of columns grows.

    python -m benchmarks.wide_benchmark [--columns 300,1500,3000] [--rows 10000]

Each (engine, width) runs in a process of its own: a 10,000-row table whose columns
are noisy copies of 10 latent factors (two numeric columns in three, the third cut
into four categories), fitted and sampled for as many rows. Issue targets: cost
linear in columns, and 300 columns fit + sample 10,000 rows in at most 30 s.
Results: `results/wide.json` and `results/wide.md`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.engine_report import machine_info

RESULTS_DIR = Path(__file__).parent / "results"
ENGINES = ("chain", "copula")
TARGET_SECONDS_300 = 30.0

_CHILD = """
import json, resource, sys, time
import numpy as np, pandas as pd
from synthdata.engine.base import create_synthesizer
engine, columns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
factors = rng.normal(size=(rows, 10))
data = {}
for j in range(columns):
    x = factors[:, j % 10] + rng.normal(size=rows)
    data[f"c{j}"] = x if j % 3 else np.digitize(x, [-1.0, 0.0, 1.0]).astype(str)
frame = pd.DataFrame(data)
started = time.perf_counter()
model = create_synthesizer(engine).fit(frame)
fitted = time.perf_counter()
fake = model.sample(rows, seed=1)
done = time.perf_counter()
assert fake.shape == frame.shape
print(json.dumps({"fit_s": fitted - started, "sample_s": done - fitted,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def measure(engine: str, columns: int, rows: int) -> dict[str, Any]:
    """Fit + sample one wide table in a fresh process; its own time and peak RSS."""
    print(f"[{time.strftime('%H:%M:%S')}] {engine} x {columns} columns ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, engine, str(columns), str(rows)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(engine=engine, columns=columns, rows=rows)
    result["total_s"] = result["fit_s"] + result["sample_s"]
    return result


def render(results: list[dict[str, Any]], machine: dict[str, Any], started: str) -> str:
    """The markdown report: one row per run, then the targets."""
    lines = [
        "# Wide tables",
        "",
        f"Date: {started}. Command: `python -m benchmarks.wide_benchmark`.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['ram_bytes'] / 1024**3:.1f} GiB RAM, Python {machine['python']}; "
        f"load average at start {machine['load_average']}.",
        "",
        "| engine | columns | rows | fit s | sample s | total s | s per 100 columns | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        per = 100 * r["total_s"] / r["columns"]
        lines.append(
            f"| {r['engine']} | {r['columns']:,} | {r['rows']:,} | {r['fit_s']:.1f} | "
            f"{r['sample_s']:.1f} | {r['total_s']:.1f} | {per:.2f} | "
            f"{r['peak_rss_bytes'] / 1024**3:.2f} GB |"
        )
    lines += ["", "## Targets (chain, the default)", ""]
    chain = {r["columns"]: r for r in results if r["engine"] == "chain"}
    if 300 in chain:
        seconds = chain[300]["total_s"]
        verdict = "PASS" if seconds <= TARGET_SECONDS_300 else "FAIL"
        lines.append(f"- 300 columns, fit + sample: {seconds:.1f} s (target <= 30 s): {verdict}")
    widths = sorted(chain)
    if len(widths) >= 2:
        low, high = chain[widths[0]], chain[widths[-1]]
        growth = (high["total_s"] / low["total_s"]) / (widths[-1] / widths[0])
        verdict = "PASS" if growth <= 1.5 else "FAIL"
        lines.append(
            f"- cost per column from {widths[0]:,} to {widths[-1]:,} columns grows "
            f"{growth:.2f}x (linear = 1.0; target <= 1.5): {verdict}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="300,1500,3000")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = machine_info()
    widths = [int(c) for c in args.columns.split(",")]
    results = [
        measure(engine, columns, args.rows)
        for engine in args.engines.split(",")
        for columns in widths
    ]
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = {"date": started, "machine": machine, "results": results}
    (RESULTS_DIR / "wide.json").write_text(json.dumps(payload, indent=2))
    (RESULTS_DIR / "wide.md").write_text(render(results, machine, started))
    print((RESULTS_DIR / "wide.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
