"""The performance report's four charts: latency, throughput, errors, generation times.

Each chart plots the stored benchmark runs as markers and the Prometheus series of
the same quantity as lines, with the runbook's baseline as a dashed line. Figures
are built without pyplot (no global state, Agg only), so any thread may draw them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # a report is drawn on servers without a display

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from synthdata.ops.perf_prometheus import RangeResult
from synthdata.ops.perf_store import started_at
from synthdata.ops.performance import (
    ERROR_RATE_BASELINE,
    GENERATION_BASELINE_S,
    P95_BASELINE_MS,
)

SIZE = (10.0, 5.6)  # inches: landscape, one chart per PDF page


Runs = list[dict[str, Any]]
Ranges = dict[str, RangeResult]


@dataclass(frozen=True)
class Chart:
    """A named chart (`name` is used in file names) and how to draw it; drawing
    returns whether any data was plotted."""

    name: str
    title: str
    draw: Callable[[Axes, Runs, Ranges], bool]


def _when(run: dict[str, Any]) -> float:
    """A run's start on the chart's time axis (matplotlib's days since the epoch)."""
    return float(date2num(started_at(run)))


def _prom_lines(ax: Axes, result: RangeResult | None, scale: float, prefix: str) -> bool:
    if result is None:
        return False
    for series in result.series:
        times = [float(date2num(datetime.fromtimestamp(t, UTC))) for t, _ in series.points]
        values = [v * scale for _, v in series.points]
        ax.plot(times, values, marker=".", label=f"{prefix} {series.label}")
    return bool(result.series)


def _latency(ax: Axes, runs: Runs, prom: Ranges) -> bool:
    for key, marker in (("p50", "o"), ("p95", "s"), ("p99", "^")):
        times = [_when(r) for r in runs if key in r["latency_ms"]]
        values = [r["latency_ms"][key] for r in runs if key in r["latency_ms"]]
        if times:
            ax.plot(times, values, marker=marker, linestyle=":", label=f"runs {key}")
    plotted = _prom_lines(ax, prom.get("latency_p95"), 1000.0, "Prometheus p95")
    ax.axhline(P95_BASELINE_MS, color="red", linestyle="--", label="baseline p95 500 ms")
    ax.set_yscale("log")  # a few ms and the 500 ms baseline on one chart
    ax.set_ylabel("latency (ms, log scale)")
    return plotted or bool(runs)


def _throughput(ax: Axes, runs: Runs, prom: Ranges) -> bool:
    if runs:
        times = [_when(r) for r in runs]
        ax.plot(times, [r["achieved_rps"] for r in runs], "o:", label="runs achieved")
        ax.plot(times, [r["rps"] for r in runs], "x", label="runs requested")
    plotted = _prom_lines(ax, prom.get("request_rate"), 1.0, "Prometheus")
    ax.set_ylabel("requests per second")
    return plotted or bool(runs)


def _errors(ax: Axes, runs: Runs, prom: Ranges) -> bool:
    if runs:
        ax.plot([_when(r) for r in runs], [100 * r["error_rate"] for r in runs], "o:", label="runs")
    plotted = _prom_lines(ax, prom.get("error_ratio"), 100.0, "Prometheus 5xx")
    ax.axhline(100 * ERROR_RATE_BASELINE, color="red", linestyle="--", label="baseline 0.1 %")
    ax.set_ylabel("error rate (%)")
    return plotted or bool(runs)


def _generation(ax: Axes, runs: Runs, prom: Ranges) -> bool:
    by_class: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        generation = run.get("generation") or {}
        if generation.get("seconds") is not None:
            by_class.setdefault(generation["size_class"], []).append(run)
    for size, timed in sorted(by_class.items()):
        seconds = [r["generation"]["seconds"] for r in timed]
        ax.plot([_when(r) for r in timed], seconds, "o:", label=f"runs ({size})")
    result = prom.get("generation_p95")
    plotted = _prom_lines(ax, result, 1.0, "Prometheus p95")
    classes = set(by_class)
    if result is not None:
        classes |= {s.labels.get("size_class", "") for s in result.series}
    for size in sorted(classes & GENERATION_BASELINE_S.keys()) or ["small"]:
        baseline = GENERATION_BASELINE_S[size]
        ax.axhline(baseline, linestyle="--", color="red", label=f"baseline {size} {baseline:g} s")
    ax.set_yscale("log")
    ax.set_ylabel("seconds, end to end (log scale)")
    return plotted or bool(by_class)


CHARTS = (
    Chart("latency", "API latency", _latency),
    Chart("throughput", "Throughput", _throughput),
    Chart("errors", "Error rate", _errors),
    Chart("generation", "Generation time", _generation),
)


def draw(chart: Chart, runs: Runs, prom: Ranges, start: datetime, end: datetime) -> Figure:
    """One chart over [start, end]; says so on the chart when there is nothing to plot."""
    figure = Figure(figsize=SIZE, layout="constrained")
    ax = figure.add_subplot()
    if chart.draw(ax, runs, prom):
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.set_xlabel("time (UTC)")
        ax.set_xlim(float(date2num(start)), float(date2num(end)))
    else:
        ax.text(0.5, 0.5, "no data in this period", transform=ax.transAxes, ha="center")
    ax.set_title(chart.title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return figure
