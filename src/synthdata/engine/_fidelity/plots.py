"""The HTML evaluation report's plots: one per headline measure, one per column.

Each function returns a base64 PNG drawn on a standalone matplotlib `Figure` (Agg canvas,
no pyplot global state), so reports can be rendered from worker threads.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.report import pair_columns

REAL = "#1f5f8b"
SYNTHETIC = "#e07b39"
HOLDOUT = "#6a9f58"
_MAX_HEATMAP_COLUMNS = 25
_TOP_CATEGORIES = 12
_CONTINUOUS = ("continuous", "integer", "datetime")


def _figure(width: float = 4.8, height: float = 2.8) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=80, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def pair_trend_heatmap(scores: dict[str, float]) -> str | None:
    """Fixed-bin pair scores as a column x column grid (the weakest columns first)."""
    if not scores:
        return None
    columns: dict[str, list[float]] = {}
    for key, value in scores.items():
        for name in pair_columns(key):
            columns.setdefault(name, []).append(value)
    names = sorted(columns, key=lambda n: float(np.mean(columns[n])))[:_MAX_HEATMAP_COLUMNS]
    grid = np.full((len(names), len(names)), np.nan)
    position = {name: i for i, name in enumerate(names)}
    for key, value in scores.items():
        first, second = pair_columns(key)
        if first in position and second in position:
            grid[position[first], position[second]] = value
            grid[position[second], position[first]] = value
    size = 2.4 + 0.22 * len(names)
    figure, axes = _figure(size + 1.0, size)
    low = float(np.nanmin(grid)) if np.isfinite(grid).any() else 0.0
    image = axes.imshow(grid, cmap="RdYlGn", vmin=min(low, 0.9), vmax=1.0)
    labels = [name[:16] for name in names]
    axes.set_xticks(range(len(names)), labels, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(names)), labels, fontsize=7)
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_title("pair trend per column pair (fixed bins)", fontsize=10)
    return _png(figure)


def detection_roc(labels: np.ndarray, probabilities: np.ndarray, auc: float) -> str:
    """The classifier's out-of-fold ROC curve against the chance diagonal."""
    from sklearn.metrics import roc_curve

    false_positive, true_positive, _ = roc_curve(labels, probabilities)
    figure, axes = _figure(3.6, 3.2)
    axes.plot(false_positive, true_positive, color=SYNTHETIC, label=f"classifier (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="#888", linestyle="--", label="chance")
    axes.set_xlabel("real rows called synthetic", fontsize=8)
    axes.set_ylabel("synthetic rows caught", fontsize=8)
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    axes.set_title("detection: real vs synthetic", fontsize=10)
    return _png(figure)


def tstr_bars(result: dict[str, Any]) -> str | None:
    """Train-on-real and train-on-synthetic scores side by side."""
    if result.get("tstr") is None or result.get("trtr") is None:
        return None
    figure, axes = _figure(3.6, 2.8)
    values = [result["trtr"], result["tstr"]]
    axes.bar(["trained on real", "trained on synthetic"], values, color=[REAL, SYNTHETIC])
    for position, value in enumerate(values):
        axes.text(position, value, f"{value:.3f}", ha="center", va="bottom", fontsize=8)
    axes.set_ylabel(result["metric"], fontsize=8)
    axes.set_ylim(min(0.0, *values), max(1.0, *values) * 1.1)
    axes.set_title(f"TSTR: predicting {result['target']} on the holdout", fontsize=10)
    return _png(figure)


def dcr_histogram(distances: dict[str, np.ndarray], share: float) -> str:
    """How far synthetic rows are from the nearest training row and holdout row."""
    figure, axes = _figure()
    both = np.concatenate([distances["train"], distances["holdout"]])
    high = float(np.percentile(both, 99)) if both.size else 1.0
    bins = np.linspace(0.0, high if high > 0 else 1.0, 31)
    axes.hist(
        np.clip(distances["train"], 0, bins[-1]),
        bins=bins,
        alpha=0.5,
        color=SYNTHETIC,
        label="to the nearest training row",
    )
    axes.hist(
        np.clip(distances["holdout"], 0, bins[-1]),
        bins=bins,
        alpha=0.5,
        color=HOLDOUT,
        label="to the nearest holdout row",
    )
    axes.set_xlabel("distance of each synthetic row", fontsize=8)
    axes.set_yticks([])
    axes.legend(fontsize=8, frameon=False)
    axes.set_title(f"DCR share {share:.3f} (0.5 ideal)", fontsize=10)
    return _png(figure)


def share_bars(title: str, values: dict[str, float | None]) -> str | None:
    """A few shares (0..1) as labelled bars, e.g. copies against the holdout's rate."""
    shown = {label: value for label, value in values.items() if value is not None}
    if not shown:
        return None
    figure, axes = _figure(3.6, 2.6)
    colours = [SYNTHETIC, HOLDOUT, REAL][: len(shown)]
    axes.bar(list(shown), list(shown.values()), color=colours)
    for position, value in enumerate(shown.values()):
        axes.text(position, value, f"{value:.1%}", ha="center", va="bottom", fontsize=8)
    axes.set_ylim(0, max(1.0, *shown.values()) * 1.15)
    axes.tick_params(labelsize=8)
    axes.set_title(title, fontsize=10)
    return _png(figure)


def column_plot(real: pd.Series, synthetic: pd.Series, name: str, kind: str) -> str:
    """Draw one column's real vs synthetic distribution; return base64 PNG."""
    figure, axes = _figure()
    if kind in _CONTINUOUS:
        _histogram(axes, real, synthetic, kind)
    else:
        _bars(axes, real, synthetic)
    axes.set_title(name, fontsize=10)
    axes.legend(fontsize=8, frameon=False)
    axes.tick_params(labelsize=7)
    return _png(figure)


def _histogram(axes: Any, real: pd.Series, synthetic: pd.Series, kind: str) -> None:
    is_date = kind == "datetime"
    values = [_numbers(real.dropna(), is_date), _numbers(synthetic.dropna(), is_date)]
    both = np.concatenate(values)
    if both.size == 0:
        return
    # Percentile range so one wild synthetic outlier does not flatten the whole plot.
    low, high = np.percentile(both, [0.5, 99.5])
    if not high > low:
        low, high = float(both.min()) - 0.5, float(both.max()) + 0.5
    bins = np.linspace(low, high, 31)
    if kind == "integer" and high - low <= 60:  # one bar per value, no empty aliasing gaps
        bins = np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.0)
    for data, label, color in zip(values, ("real", "synthetic"), (REAL, SYNTHETIC), strict=True):
        if data.size:
            axes.hist(
                np.clip(data, low, high),
                bins=bins,
                density=True,
                alpha=0.5,
                label=label,
                color=color,
            )
    axes.set_yticks([])  # densities of different units mean nothing to a reader
    if is_date:
        axes.xaxis_date()
        for tick in axes.get_xticklabels():
            tick.set_rotation(30)


def _numbers(values: pd.Series, is_date: bool) -> np.ndarray:
    if is_date:
        from matplotlib import dates

        return np.asarray(dates.date2num(values.to_numpy(dtype="datetime64[us]")))
    return values.to_numpy(dtype="float64")


def _bars(axes: Any, real: pd.Series, synthetic: pd.Series) -> None:
    real_share = real.fillna("(null)").astype(str).value_counts(normalize=True)
    synth_share = synthetic.fillna("(null)").astype(str).value_counts(normalize=True)
    labels = list(real_share.index[:_TOP_CATEGORIES])
    real_values = [float(real_share.get(k, 0.0)) for k in labels]
    synth_values = [float(synth_share.get(k, 0.0)) for k in labels]
    if len(real_share) > len(labels) or set(synth_share.index) - set(labels):
        labels.append("(other)")
        real_values.append(max(0.0, 1.0 - sum(real_values)))
        synth_values.append(max(0.0, 1.0 - sum(synth_values)))
    positions = np.arange(len(labels))
    axes.bar(positions - 0.2, real_values, width=0.4, label="real", color=REAL)
    axes.bar(positions + 0.2, synth_values, width=0.4, label="synthetic", color=SYNTHETIC)
    axes.set_xticks(positions, [label[:14] for label in labels], rotation=30, ha="right")
    axes.set_ylabel("share", fontsize=8)
    axes.set_ylim(0, 1.3 * max([*real_values, *synth_values, 0.01]))  # room for the legend
