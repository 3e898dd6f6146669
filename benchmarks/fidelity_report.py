"""The Markdown page and the charts of the fidelity benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.engine_report import machine_lines
from benchmarks.fidelity_targets import engine_rows

GB = 1e9
CHARTS = {
    "pair_trend": ("Pair trend, fixed bins (1 = same 2-D tables)", None),
    "detection": ("Detection score (1 = indistinguishable)", None),
    "tstr_ratio": ("TSTR / TRTR", 0.95),
    "dcr_share": ("DCR share (0.5 ideal)", 0.55),
    "alpha_precision": ("alpha-precision", None),
    "beta_recall": ("beta-recall", None),
    "seconds": ("fit + sample, seconds", 60.0),
}
"""measure -> (chart title, target line)."""
ZOOMED = ("pair_trend", "alpha_precision", "beta_recall")


def render_markdown(results: dict[str, Any], charts: dict[str, str]) -> str:
    """The human-readable page: context, targets, one table per measure, charts."""
    s = results["settings"]
    engines = s["engines"]
    lines = [
        "# Fidelity benchmark",
        "",
        f"Date: {results['date']}. Command: `{s['command']}`. Whole run: "
        f"{results['duration_s'] / 60:.1f} min.",
        "",
        *machine_lines(results),
        "",
        f"Each table is split 70/30 (seed {s['split_seed']}) into training rows and a holdout."
        " Every engine fits the training rows in a process of its own and samples as many"
        " rows; `holdout` is the fresh real rows themselves (the score a perfect generator"
        " would get, sampling noise included) and `independent` resamples every column on"
        " its own (no relationship kept). Scores (`synthdata.engine.fidelity`) use at most"
        f" {s['max_rows']:,} rows per table, the synthetic sample cut to the holdout's size;"
        f" detection is {s['folds']}-fold cross-validated. Each engine process had"
        f" {s['threads']} native (OpenMP/BLAS) thread(s) (`--threads`). SDV runs as its users"
        " run it:"
        " `Metadata.detect_from_dataframes` and default settings; CTGAN with"
        f" {s['ctgan_epochs']} epochs. Targets are checked for `{s['default']}`.",
        "",
        "## Targets",
        "",
        "| target | measured | status |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['target']} | {t['measured']} | {t['status']} |" for t in results["targets"]]
    sections = [
        ("Pair trend: fixed bins / SDMetrics' figure (all pairs)", _pair),
        ("Detection (ROC AUC of real vs synthetic in brackets)", _detection),
        ("Column shapes", lambda r: _num(r.get("column_shapes"))),
        ("alpha-precision / beta-recall", _support),
        ("TSTR vs TRTR (tstr / trtr = ratio)", _tstr),
        ("DCR share; exact copies (holdout's rate)", _privacy),
        ("Fit + sample seconds; peak RSS", _cost),
    ]
    lines += ["", "## Means over the tables each engine ran", "", *_means(results, engines)]
    for title, cell in sections:
        lines += ["", f"## {title}", "", _table(results, engines, cell)]
    lines += ["", "## Charts", ""]
    lines += [f"![{measure}]({path})" for measure, path in charts.items()]
    lines += ["", "## Tables, targets and notes", ""]
    lines += _table_notes(results)
    return "\n".join(lines) + "\n"


MEANS = (
    "column_shapes",
    "pair_trend",
    "sdmetrics_pair_trend",
    "detection",
    "alpha_precision",
    "beta_recall",
    "tstr_ratio",
    "dcr_share",
    "seconds",
)


def _means(results: dict[str, Any], engines: list[str]) -> list[str]:
    lines = [
        "| engine | tables | " + " | ".join(MEANS) + " |",
        "| --- | --- |" + " --- |" * len(MEANS),
    ]
    for engine in engines:
        rows = engine_rows(results, engine)
        if not rows:
            continue
        cells = []
        for key in MEANS:
            values = [r[key] for r in rows.values() if r.get(key) is not None]
            cells.append(_num(float(np.mean(values))) if values else "-")
        lines.append(f"| {engine} | {len(rows)} | " + " | ".join(cells) + " |")
    return lines


def _table(results: dict[str, Any], engines: list[str], cell: Any) -> str:
    rows = [
        "| table | " + " | ".join(engines) + " |",
        "| --- |" + " --- |" * len(engines),
    ]
    for name, table in results["tables"].items():
        cells = []
        for engine in engines:
            record = table["engines"].get(engine, {"status": "skipped", "reason": "not run"})
            cells.append(cell(record) if record.get("status") == "ok" else record["status"])
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _pair(r: dict[str, Any]) -> str:
    return f"{_num(r.get('pair_trend'))} / {_num(r.get('sdmetrics_pair_trend'))}"


def _detection(r: dict[str, Any]) -> str:
    return f"{_num(r.get('detection'))} ({_num(r.get('detection_auc'))})"


def _support(r: dict[str, Any]) -> str:
    return f"{_num(r.get('alpha_precision'))} / {_num(r.get('beta_recall'))}"


def _tstr(r: dict[str, Any]) -> str:
    return f"{_num(r.get('tstr'))} / {_num(r.get('trtr'))} = {_num(r.get('tstr_ratio'))}"


def _privacy(r: dict[str, Any]) -> str:
    return (
        f"{_num(r.get('dcr_share'))}; {_pct(r.get('exact_copy_rate'))}"
        f" ({_pct(r.get('holdout_copy_rate'))})"
    )


def _cost(r: dict[str, Any]) -> str:
    seconds = r.get("seconds")
    rss = r.get("peak_rss_bytes")
    return f"{'-' if seconds is None else f'{seconds:.1f} s'}; {_gb(rss)}"


def _table_notes(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, table in results["tables"].items():
        lines.append(
            f"- **{name}** ({table['source']}): {table['rows']:,} rows, {table['columns']}"
            f" columns ({table['scored_columns']} scored); {table['train_rows']:,} training,"
            f" {table['holdout_rows']:,} holdout rows; TSTR target `{table['target']}`"
            f" ({table['task']}, {table['metric']})."
        )
        for engine, record in table["engines"].items():
            if record.get("status") != "ok":
                lines.append(f"  - {engine}: {record['status']}: {record.get('reason', '')}")
            for note in record.get("notes", []):
                lines.append(f"  - {engine}: {note}")
    return lines


def write_charts(results: dict[str, Any], folder: Path, link_prefix: str) -> dict[str, str]:
    """One PNG per headline measure (tables x engines); returns measure -> relative link."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    engines = [e for e in results["settings"]["engines"] if engine_rows(results, e)]
    tables = list(results["tables"])
    links = {}
    for measure, (title, line) in CHARTS.items():
        figure = Figure(figsize=(9, 1.2 + 0.45 * len(tables) * max(1, len(engines)) / 3))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        height = 0.8 / max(1, len(engines))
        positions = np.arange(len(tables))
        drawn: list[float] = []
        for index, engine in enumerate(engines):
            rows = engine_rows(results, engine)
            values = [rows.get(t, {}).get(measure) for t in tables]
            shown = [np.nan if v is None else v for v in values]
            axes.barh(positions + index * height, shown, height=height, label=engine)
            drawn.extend(v for v in shown if np.isfinite(v))
        if line is not None:
            axes.axvline(line, color="black", linestyle="--", linewidth=1)
        if measure in ZOOMED and drawn:  # scores near 1: start the axis near the lowest
            axes.set_xlim(max(0.0, min(drawn) - 0.05), 1.0)
        if measure == "seconds":  # from a fraction of a second to minutes
            axes.set_xscale("log")
        axes.set_yticks(positions + 0.4 - height / 2, tables)
        axes.invert_yaxis()
        axes.set_title(title)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        figure.tight_layout()
        path = folder / f"{measure}.png"
        figure.savefig(path, dpi=80)
        links[measure] = f"{link_prefix}/{path.name}"
    return links


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _gb(value: float | None) -> str:
    return "-" if value is None else f"{value / GB:.2f} GB"
