"""The machine description, the targets and the Markdown page of the engine benchmark."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

import psutil

GB = 1e9
PACKAGES = (
    "inferloop-synthdata",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "sdv",
    "sdmetrics",
    "rdt",
    "copulas",
    "torch",
)


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and the versions of the packages that matter."""
    versions = {name: package_version(name) for name in PACKAGES}
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": _load_average(),
        "packages": versions,
    }


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None where it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_lines(results: dict[str, Any]) -> list[str]:
    """The "Machine:" and "Packages:" lines every benchmark page starts with."""
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    return [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_bytes'] / 2**30:.1f} GiB RAM,"
        f" {m['os']}, Python {m['python']}; load average (1/5/15 min) at start"
        f" {_load(m.get('load_average'))}, at end {_load(results.get('load_average_end'))}.",
        f"Packages: {packages}.",
    ]


def _load_average() -> list[float] | None:
    """1, 5 and 15 minute load: other work on the machine slows every timing down."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _verdict(ok: bool | None) -> str:
    return "NOT RUN" if ok is None else ("PASS" if ok else "FAIL")


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the measurements with the product's targets: one row per target."""
    rows = results["settings"]["rows"]
    ours_total = _get(results, "speed", "ours", "total_s")
    sdv_total = _get(results, "speed", "sdv", "total_s")
    ours_rss = _get(results, "speed", "ours", "peak_rss_bytes")
    ours_q = _get(results, "quality", "ours", "quality_score")
    sdv_q = _get(results, "quality", "sdv", "quality_score")
    min_pair = _get(results, "quality", "ours", "min_pair", "score")
    copies = _get(results, "quality", "ours", "exact_copy_rate")
    big_rss = _get(results, "big_csv", "peak_rss_bytes")
    speedup = sdv_total / ours_total if ours_total and sdv_total else None

    def row(target: str, measured: str, ok: bool | None) -> dict[str, Any]:
        return {"target": target, "measured": measured, "status": _verdict(ok)}

    quality_ok = None if ours_q is None else ours_q >= 0.97 and (sdv_q is None or ours_q > sdv_q)
    return [
        row(
            f"fit + sample {rows:,} rows <= 10 s",
            _seconds(ours_total),
            None if ours_total is None else ours_total <= 10,
        ),
        row(
            ">= 30x faster than SDV (fit + sample)",
            "-" if speedup is None else f"{speedup:.1f}x",
            None if speedup is None else speedup >= 30,
        ),
        row(
            f"peak RSS ({rows:,} rows) <= 1 GB",
            _gb(ours_rss),
            None if ours_rss is None else ours_rss <= 1 * GB,
        ),
        row(
            "quality (all pairs) >= 0.97 and above SDV",
            "-" if ours_q is None else f"{ours_q:.4f} (SDV {_num(sdv_q)})",
            quality_ok,
        ),
        row(
            "minimum pair score >= 0.80",
            _num(min_pair),
            None if min_pair is None else min_pair >= 0.80,
        ),
        row("exact-copy rate = 0", _num(copies), None if copies is None else copies == 0),
        row(
            "1 GB CSV: peak RSS <= 3 GB",
            _gb(big_rss),
            None if big_rss is None else big_rss <= 3 * GB,
        ),
    ]


def _load(value: list[float] | None) -> str:
    return "-" if not value else "/".join(f"{x:.2f}" for x in value)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _gb(value: float | None) -> str:
    return "-" if value is None else f"{value / GB:.2f} GB"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def render_markdown(results: dict[str, Any]) -> str:
    """The human-readable page: machine, targets, speed, quality and the big file."""
    data = results["dataset"]
    settings = results["settings"]
    command = (
        f"python -m benchmarks.engine_benchmark --rows {settings['rows']}"
        f" --quality-rows {settings['quality_rows']} --big-csv-gb {settings['big_csv_gb']}"
        + f" --repeat {settings.get('repeat', 1)}"
        + (" --skip-sdv" if settings["skip_sdv"] else "")
    )
    lines = [
        "# Engine benchmark",
        "",
        f"Date: {results['date']}. Command: `{command}`",
        "",
        *machine_lines(results),
        "",
        f"Table: {data['rows']:,} rows x {data['columns']} mixed columns"
        f" ({data['csv_bytes'] / 1e6:.0f} MB CSV, `benchmarks.datasets`, seed"
        f" {results['settings']['seed']}).",
        "",
        "## Targets",
        "",
        "| target | measured | status |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['target']} | {t['measured']} | {t['status']} |" for t in results["targets"]]
    lines += [
        "",
        "## Speed and memory (each engine in its own process)",
        "",
        "| engine | import | fit (incl. reading the CSV) | sample + write CSV | fit + sample"
        " | all runs | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, run in results["speed"].items():
        lines.append(_speed_row(key, run))
    if "big_csv" in results:
        big = results["big_csv"]
        lines += [
            "",
            "## Big file (our engine)",
            "",
            f"{big.get('csv_rows', 0):,} rows, {big.get('csv_bytes', 0) / GB:.2f} GB CSV:"
            f" fit {_seconds(big.get('fit_s'))} (the file is streamed and a uniform sample is"
            f" kept), sample {results['settings']['rows']:,} rows"
            f" {_seconds(big.get('sample_s'))}, peak RSS {_gb(big.get('peak_rss_bytes'))}.",
        ]
    lines += [
        "",
        f"## Quality ({results['settings']['quality_rows']:,} real rows, as many synthetic)",
        "",
        "`synthdata.evaluate` averages all column pairs; SDMetrics' default report only the"
        " pairs with a strong real dependency. Exact copies are synthetic rows equal to a"
        " real row.",
        "",
        "| engine | quality (all pairs) | shapes | pair trends | SDMetrics report | min pair"
        " | region~city | exact-copy rate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, q in results["quality"].items():
        lines.append(_quality_row(key, q))
    return "\n".join(lines) + "\n"


def _speed_row(key: str, run: dict[str, Any]) -> str:
    if "error" in run:
        return f"| {key} | failed: {run['error']} | | | | | |"
    totals = run.get("runs_total_s") or [run.get("total_s")]
    every = ", ".join(_seconds(t) for t in totals)
    return (
        f"| {run['engine']} | {_seconds(run.get('import_s'))} | {_seconds(run['fit_s'])} |"
        f" {_seconds(run['sample_s'])} | {_seconds(run.get('total_s'))} | {every} |"
        f" {_gb(run['peak_rss_bytes'])} |"
    )


def _quality_row(key: str, q: dict[str, Any]) -> str:
    if "error" in q:
        return f"| {key} | failed: {q['error']} | | | | | | |"
    worst = q["min_pair"]
    return (
        f"| {q['engine']} | {_num(q['quality_score'])} | {_num(q['column_shapes_score'])} |"
        f" {_num(q['column_pair_trends_score'])} | {_num(q['sdmetrics_quality_report'])} |"
        f" {_num(worst['score'])} ({worst['pair']}) | {_num(q['region_city_pair'])} |"
        f" {_num(q['exact_copy_rate'])} |"
    )
