"""Differential privacy benchmark: the dp synthesizer beside smartnoise-synth's MST and AIM.

    python -m benchmarks.privacy_dp [--tables Credit,Wage] [--epsilons 1,10]
                                    [--peer-python /tmp/venv-sn/bin/python] [--timeout 600]

On the fidelity benchmark's public tables (`fidelity_tables`, the same 70/30 split;
the 1M-row table is left out), at each epsilon (delta 1e-6 for all three), in the same
run: pair trend and detection (`synthdata.engine.fidelity`), fit + sample seconds, and
the distance membership-inference attack's AUC on the holdout
(`engine._privacy.membership`). smartnoise-synth runs in a virtual environment of its
own (`benchmarks/privacy_dp_peer.py`): it pins an older opendp and brings JAX and
torch. Results go to `benchmarks/results/privacy_dp.json` and `privacy_dp.md`,
rewritten after each table, so a stopped run keeps what it measured; `--part NAME`
runs write `privacy_dp.NAME.json` side by side and `--merge` joins them into the page.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.engine_report import machine_info, package_version
from benchmarks.fidelity_tables import BY_NAME, MIXED, TABLES, BenchTable, load, split
from benchmarks.privacy_dp_report import render_markdown
from synthdata.engine._dp.columns import LEVELS, public_spec
from synthdata.engine._fidelity.canonical import canonical_frame, scored_kinds
from synthdata.engine._privacy.membership import membership_inference
from synthdata.engine.base import create_synthesizer
from synthdata.engine.fidelity import score_fidelity
from synthdata.engine.schema import infer_schema

RESULTS_DIR = Path(__file__).parent / "results"
DELTA = 1e-6
SEED = 0
PEERS = ("mst", "aim")
PEER_PYTHON = "/tmp/venv-sn/bin/python"
DEFAULT_TABLES = tuple(t.name for t in TABLES if t.name != MIXED)


def run_table(table: BenchTable, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every engine at every epsilon on one table, scored against the same split."""
    train, holdout = split(load(table))
    schema = infer_schema(train)
    train_file = workdir / f"{table.name}.train.parquet"
    train.to_parquet(train_file, index=False)
    roles = [public_spec(str(n), train[n], None, None) for n in train.columns]
    categorical = [spec.name for spec in roles if spec.kind in LEVELS]
    record: dict[str, Any] = {
        "source": table.source,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "columns": train.shape[1],
        "runs": {},
    }
    for epsilon in args.epsilons:
        for engine in ("dp", *args.peers):
            _say(f"{table.name} / epsilon {epsilon:g} / {engine}")
            if engine == "dp":
                result, fake = _ours(train, epsilon)
            else:
                task = {
                    "train": str(train_file),
                    "categorical": categorical,
                    "engine": engine,
                    "epsilon": epsilon,
                    "delta": DELTA,
                    "rows": len(train),
                    "out": str(workdir / f"{table.name}.{engine}.{epsilon:g}.parquet"),
                }
                result, fake = _peer(task, args, workdir)
            if fake is not None:
                result.update(_scores(train, fake, holdout, schema))
            record["runs"][f"{engine}@{epsilon:g}"] = result
    return record


def _ours(train: pd.DataFrame, epsilon: float) -> tuple[dict[str, Any], pd.DataFrame]:
    create_synthesizer("dp")  # imports the module before timing, as the peer's child does
    started = time.perf_counter()
    model = create_synthesizer("dp", epsilon=epsilon, delta=DELTA).fit(train)
    fitted = time.perf_counter()
    frame = model.sample(len(train), seed=SEED)
    sampled = time.perf_counter()
    assert model.ledger is not None
    return {
        "status": "ok",
        "label": "synthdata dp",
        "fit_s": fitted - started,
        "sample_s": sampled - fitted,
        "epsilon_spent": model.ledger.epsilon_spent,
    }, frame


def _peer(
    task: dict[str, Any], args: argparse.Namespace, workdir: Path
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    name = Path(task["out"]).stem
    task_file, result_file = workdir / f"{name}.task.json", workdir / f"{name}.result.json"
    task_file.write_text(json.dumps(task))
    peer = Path(__file__).with_name("privacy_dp_peer.py")
    command = [args.peer_python, str(peer), str(task_file), str(result_file)]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {args.timeout:.0f} s"}, None
    if child.returncode != 0 or not result_file.exists():
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "failed", "reason": last[:300]}, None
    result = json.loads(result_file.read_text())
    return {"status": "ok", "label": result.pop("engine"), **result}, pd.read_parquet(task["out"])


def _scores(
    train: pd.DataFrame, fake: pd.DataFrame, holdout: pd.DataFrame, schema: Any
) -> dict[str, Any]:
    scores = score_fidelity(
        train, fake, schema, holdout=holdout, measures=("trends", "detection"), seed=SEED
    )
    kinds = scored_kinds(schema)
    names, notes = list(kinds), []
    frames = [
        canonical_frame(frame[names], schema, notes, label)
        for frame, label in ((train, "real"), (fake, "synthetic"), (holdout, "holdout"))
    ]
    attack = membership_inference(frames[0], frames[1], frames[2], kinds, seed=SEED)
    return {
        "pair_trend": scores.pair_trend,
        "detection": scores.detection,
        "mia_auc": attack["auc"],
        "notes": scores.notes,
    }


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES))
    parser.add_argument("--epsilons", default="1,10")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--peer-python", default=PEER_PYTHON)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per peer run")
    parser.add_argument(
        "--part", default="", help="write privacy_dp.PART.json (runs side by side); no page"
    )
    parser.add_argument(
        "--merge", action="store_true", help="write the page from every privacy_dp.*.json"
    )
    args = parser.parse_args(argv)
    args.tables = [BY_NAME[name] for name in args.tables.split(",") if name]
    args.epsilons = [float(value) for value in args.epsilons.split(",")]
    args.peers = [name for name in args.peers.split(",") if name]
    return args


def peer_versions(python: str) -> dict[str, str | None]:
    """The peer environment's versions of the packages that decide its results."""
    code = (
        "import json, importlib.metadata as m\n"
        "names = ('smartnoise-synth', 'opendp', 'mbi', 'jax', 'pandas', 'numpy')\n"
        "def v(n):\n    try: return m.version(n)\n    except Exception: return None\n"
        "print(json.dumps({n: v(n) for n in names}))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(json.loads(out.stdout))


def merge() -> dict[str, Any]:
    """One results document from the parts (`--part`), tables in benchmark order."""
    parts = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("privacy_dp.*.json"))]
    merged = dict(parts[0])
    merged["started"] = min(part["started"] for part in parts)
    merged["finished"] = max(part.get("finished", part["started"]) for part in parts)
    tables = {name: t for part in parts for name, t in part["tables"].items()}
    merged["tables"] = {t.name: tables[t.name] for t in TABLES if t.name in tables}
    merged["parts"] = len(parts)
    (RESULTS_DIR / "privacy_dp.json").write_text(json.dumps(merged, indent=2))
    (RESULTS_DIR / "privacy_dp.md").write_text(render_markdown(merged))
    return merged


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.merge:
        return merge()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "ours": {name: package_version(name) for name in ("synthdata", "opendp")},
        "peer": peer_versions(args.peer_python),
        "epsilons": args.epsilons,
        "delta": DELTA,
        "tables": {},
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="privacy-dp-") as tmp:
        for table in args.tables:
            results["tables"][table.name] = run_table(table, args, Path(tmp))
            results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            if args.part:
                target = RESULTS_DIR / f"privacy_dp.{args.part}.json"
                target.write_text(json.dumps(results, indent=2))
                continue
            (RESULTS_DIR / "privacy_dp.json").write_text(json.dumps(results, indent=2))
            (RESULTS_DIR / "privacy_dp.md").write_text(render_markdown(results))
    return results


if __name__ == "__main__":
    main()
