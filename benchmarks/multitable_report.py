"""Targets and the Markdown page of the multi-table benchmark.

| target | threshold |
| --- | --- |
| referential integrity | 100 % of child keys join, every foreign key of every dataset |
| cardinality shape | >= 0.95 (mean over a dataset's foreign keys), every dataset |
| per-table fidelity | pair trend and detection (means over tables) >= SDV HMA's, every dataset |
| parent-child trends | >= SDV HMA's, every dataset |
| speed | fit + sample >= 10x faster than SDV HMA, every dataset HMA ran on |
| scale | the 1M-row `shop` schema: fit + sample <= 120 s and peak RSS <= 2 GB |
"""

from __future__ import annotations

from typing import Any

from benchmarks.engine_report import machine_lines

OURS, PEER = "ours", "sdv_hma"
CARDINALITY = 0.95
SPEEDUP = 10.0
SCALE_DATASET, SCALE_SECONDS, SCALE_BYTES = "shop", 120.0, 2 * 2**30
COLUMNS = (
    ("referential_integrity", "integrity (worst key)"),
    ("cardinality", "cardinality shape"),
    ("parent_child_trend", "parent-child trend"),
    ("pair_trend", "pair trend (tables)"),
    ("detection", "detection (tables)"),
    ("column_shapes", "column shapes (tables)"),
)


def _ok(dataset: dict[str, Any], engine: str) -> dict[str, Any] | None:
    record = dataset["engines"].get(engine)
    return record if record is not None and record.get("status") == "ok" else None


def _summary(dataset: dict[str, Any], engine: str, key: str) -> float | None:
    record = _ok(dataset, engine)
    value = record["scores"]["summary"].get(key) if record else None
    return None if value is None else float(value)


def _row(target: str, measured: list[str], verdicts: list[bool]) -> dict[str, Any]:
    status = "NOT RUN" if not verdicts else ("PASS" if all(verdicts) else "FAIL")
    return {"target": target, "measured": "; ".join(measured) or "-", "status": status}


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was measured for our engine and PASS / FAIL / NOT RUN."""
    datasets = results["datasets"]
    rows = []
    for key, target, floor in (
        ("referential_integrity", "referential integrity 100 %", 1.0),
        ("cardinality", f"cardinality shape >= {CARDINALITY}", CARDINALITY),
    ):
        measured, verdicts = [], []
        for name, dataset in datasets.items():
            value = _summary(dataset, OURS, key)
            if value is not None:
                measured.append(f"{name} {value:.4f}")
                verdicts.append(value >= floor)
        rows.append(_row(target, measured, verdicts))
    for keys, target in (
        (("pair_trend", "detection"), "per-table fidelity (pair trend, detection) >= HMA"),
        (("parent_child_trend",), "parent-child trends >= HMA"),
    ):
        measured, verdicts = [], []
        for name, dataset in datasets.items():
            for key in keys:
                ours, peer = _summary(dataset, OURS, key), _summary(dataset, PEER, key)
                if ours is not None and peer is not None:
                    measured.append(f"{name} {key} {ours:.3f} vs {peer:.3f}")
                    verdicts.append(ours >= peer)
        rows.append(_row(target, measured, verdicts))
    measured, verdicts = [], []
    for name, dataset in datasets.items():
        ours_run, peer_run = _ok(dataset, OURS), _ok(dataset, PEER)
        if ours_run and peer_run:
            ratio = peer_run["seconds"] / max(ours_run["seconds"], 1e-9)
            measured.append(f"{name} {ratio:.1f}x")
            verdicts.append(ratio >= SPEEDUP)
    rows.append(_row(f"fit + sample >= {SPEEDUP:.0f}x faster than HMA", measured, verdicts))
    scale = datasets.get(SCALE_DATASET)
    run = _ok(scale, OURS) if scale else None
    measured = [f"{run['seconds']:.1f} s, {run['peak_rss_bytes'] / 2**30:.2f} GiB"] if run else []
    verdicts = (
        [run["seconds"] <= SCALE_SECONDS and run["peak_rss_bytes"] <= SCALE_BYTES] if run else []
    )
    rows.append(_row("5 tables, 1M-row child: <= 120 s and <= 2 GiB", measured, verdicts))
    return rows


def render_markdown(results: dict[str, Any]) -> str:
    """The human-readable page: context, targets, then one section per dataset."""
    s = results["settings"]
    lines = [
        "# Multi-table benchmark",
        "",
        f"Date: {results['date']}. Command: `{s['command']}`. Whole run: "
        f"{results['duration_s'] / 60:.1f} min.",
        "",
        *machine_lines(results),
        "",
        "Each engine fits all the real tables of a dataset in a process of its own and"
        " samples them at scale 1; the synthetic set is scored against the real one by"
        " `synthdata.relational.evaluation.evaluate_tables` (key columns are not scored as"
        f" columns; at most {s['max_rows']:,} rows per table or joined parent-child frame;"
        f" detection {s['folds']}-fold cross-validated; no holdout, so no TSTR or DCR share)."
        f" {s['threads']} native thread(s) per engine process. SDV's HMA gets the same keys"
        " as ours and default settings; `independent` resamples every column on its own and"
        " draws every foreign key uniformly among the parent rows (the floor).",
        "",
        "## Targets (for `ours`)",
        "",
        "| target | measured | status |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['target']} | {t['measured']} | {t['status']} |" for t in results["targets"]]
    for name, dataset in results["datasets"].items():
        lines += ["", *_dataset_section(name, dataset, s["engines"])]
    return "\n".join(lines) + "\n"


def _dataset_section(name: str, dataset: dict[str, Any], engines: list[str]) -> list[str]:
    rows = ", ".join(f"{table} {count:,}" for table, count in dataset["rows"].items())
    lines = [
        f"## {name}",
        "",
        f"Source: {dataset['source']}. Rows: {rows}. Foreign keys: "
        + ", ".join(f"`{fk}`" for fk in dataset["foreign_keys"])
        + ".",
        "",
        "| engine | " + " | ".join(title for _, title in COLUMNS) + " | fit + sample s |"
        " peak RSS MiB |",
        "| --- |" + " --- |" * (len(COLUMNS) + 2),
    ]
    for engine in engines:
        record = dataset["engines"].get(engine, {"status": "not run"})
        if record.get("status") != "ok":
            lines.append(f"| {engine} | {record['status']}: {record.get('reason', '')} |")
            continue
        summary = record["scores"]["summary"]
        cells = [_num(summary.get(key)) for key, _ in COLUMNS]
        cells += [f"{record['seconds']:.2f}", f"{record['peak_rss_bytes'] / 2**20:.0f}"]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    ran = [e for e in engines if _ok(dataset, e)]
    if not ran:
        return lines
    first = dataset["engines"][ran[0]]["scores"]
    lines += ["", "Per foreign key: integrity / cardinality shape / parent-child trend", ""]
    lines += ["| foreign key | " + " | ".join(ran) + " |", "| --- |" + " --- |" * len(ran)]
    for link in first["cardinality"]:
        cells = []
        for engine in ran:
            scores = dataset["engines"][engine]["scores"]
            cells.append(
                f"{_num(scores['referential_integrity'][link])} /"
                f" {_num(scores['cardinality'][link])} /"
                f" {_num(scores['parent_child_trends'].get(link))}"
            )
        lines.append(f"| `{link}` | " + " | ".join(cells) + " |")
    lines += ["", "Per table: pair trend / detection / column shapes / exact copies", ""]
    lines += ["| table | " + " | ".join(ran) + " |", "| --- |" + " --- |" * len(ran)]
    for table in first["tables"]:
        cells = []
        for engine in ran:
            scores = dataset["engines"][engine]["scores"]["tables"][table]
            cells.append(
                f"{_num(scores.get('pair_trend'))} / {_num(scores.get('detection'))} /"
                f" {_num(scores.get('column_shapes'))} / {_num(scores.get('exact_copy_rate'))}"
            )
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    return lines


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"
