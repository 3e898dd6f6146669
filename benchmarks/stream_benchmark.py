"""Streaming a very large sample with bounded memory: 100 million rows to one file.

    python -m benchmarks.stream_benchmark [--rows 100000000] [--format parquet]

Fits the default synthesizer on the 1M-row benchmark table, then streams `--rows`
rows to a file in a temporary directory, recording time, rows per second, file size
and peak RSS; the file is deleted afterwards. Results go to
benchmarks/results/stream.{json,md} with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import synthdata
from benchmarks.datasets import make_mixed_table

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    args = parser.parse_args()
    load = os.getloadavg()
    model = synthdata.fit(make_mixed_table(1_000_000, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"synthetic.{args.format}"
        started = time.perf_counter()
        synthdata.write_frames(model.iter_chunks(args.rows, seed=1), target)
        seconds = time.perf_counter() - started
        size = target.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in load],
        "rows": args.rows,
        "format": args.format,
        "seconds": round(seconds, 1),
        "rows_per_second": round(args.rows / seconds),
        "file_bytes": size,
        "peak_rss_bytes": peak,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stream.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "stream.md").write_text(
        "# Streaming a large sample\n\n"
        f"Date: {result['date']}. Machine: {result['machine']}; load average at start "
        f"{'/'.join(str(x) for x in result['load_average_at_start'])}.\n\n"
        "Command: `python -m benchmarks.stream_benchmark "
        f"--rows {args.rows} --format {args.format}`\n\n"
        "| rows | format | time | rows/s | file size | peak RSS (whole process, incl. fit) |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| {args.rows:,} | {args.format} | {seconds:.0f} s | {args.rows / seconds:,.0f} "
        f"| {size / 1e9:.2f} GB | {peak / 1e9:.2f} GB |\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
