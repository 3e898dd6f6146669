"""The open-loop load generator, from the command line.

    python -m benchmarks.loadgen --url http://127.0.0.1:8000/api/v1/usage \\
        --header "X-API-Key: sdk_..." --rate 1000 --duration 30 [--warmup 3] [--json]

The generator itself lives in `synthdata.ops.loadgen` (the same one drives
`synthdata ops performance-benchmark`); this module re-exports it and adds the
command line `benchmarks/service_benchmark.py` runs in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import sys

from synthdata.ops.loadgen import LoadResult, percentiles, run_load, run_load_sync

__all__ = ["LoadResult", "main", "percentiles", "run_load", "run_load_sync"]


def main(argv: list[str] | None = None) -> None:
    """Command line: run one load test and print its result."""
    parser = argparse.ArgumentParser(description="Open-loop HTTP/1.1 GET load generator.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run_load_sync(
        args.url,
        rate=args.rate,
        duration=args.duration,
        headers=args.header,
        connections=args.connections,
        warmup=args.warmup,
    )
    if args.json:
        json.dump(result.summary(), sys.stdout)
        sys.stdout.write("\n")
        return
    lat = result.latency_ms
    print(
        f"{result.achieved_rate:.0f}/s of {result.target_rate:.0f}/s, "
        f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, p99 {lat.get('p99')} ms, "
        f"errors {result.errors or 0}, client CPU {result.client_cpu_percent}%"
    )


if __name__ == "__main__":
    main()
