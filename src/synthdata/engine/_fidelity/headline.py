"""The headline measures of the HTML evaluation report: title, value, meaning and plot."""

from __future__ import annotations

from typing import Any

from synthdata.engine._fidelity import plots
from synthdata.engine.report import EvaluationResult
from synthdata.engine.report import format_number as num
from synthdata.engine.report import format_percent as pct

MEANINGS = {
    "pair trend": "For every pair of columns, 1 minus the total variation distance between "
    "the real and synthetic shares of a 2-D grid of bins fixed from the real rows: 1 = the "
    "same joint distribution, pair by pair.",
    "detection": "How well a cross-validated gradient-boosting classifier tells synthetic "
    "rows from real ones: 1 = no better than chance, 0 = every time.",
    "support": "alpha-precision: share of synthetic rows that lie where real rows are; "
    "beta-recall: share of real rows whose neighbourhood the synthetic rows reach.",
    "tstr": "A model trained on the synthetic rows and one trained on the real rows, both "
    "tested on the holdout: a ratio of 1 means the synthetic table is as useful.",
    "dcr": "Share of synthetic rows nearer to a training row than to a holdout row: 0.5 = "
    "no closer to the training rows than fresh real rows; 1 = sitting on training rows.",
    "copies": "Share of synthetic rows identical to a real training row, beside the share "
    "of rows identical to a training row that the holdout (or the real table) has anyway.",
}


def headline_measures(result: EvaluationResult) -> list[dict[str, Any]]:
    """Title, value, one-line meaning and plot of each headline measure."""
    privacy, tstr, data = result.privacy, result.tstr, result.plot_data
    found = data.get("detection")
    distances = data.get("dcr")
    baseline = "holdout" if privacy.get("holdout") else "real twins"
    tstr_value = "not computed"
    if tstr is not None and tstr.get("tstr") is not None:
        tstr_value = f"{num(tstr['tstr'])} vs {num(tstr['trtr'])} ({tstr['metric']})"
    support = {"alpha-precision": result.alpha_precision, "beta-recall": result.beta_recall}
    copies = {"synthetic": privacy.get("exact_copy_rate"), baseline: privacy["baseline_copy_rate"]}
    return [
        {
            "title": "Pair trend",
            "value": pct(result.pair_trend),
            "meaning": MEANINGS["pair trend"],
            "png": plots.pair_trend_heatmap(result.pair_trend_scores),
        },
        {
            "title": "Detection",
            "value": f"{pct(result.detection)} (AUC {num(result.detection_auc)})",
            "meaning": MEANINGS["detection"],
            "png": plots.detection_roc(found["labels"], found["probabilities"], found["auc"])
            if found
            else None,
        },
        {
            "title": "alpha-precision / beta-recall",
            "value": f"{pct(result.alpha_precision)} / {pct(result.beta_recall)}",
            "meaning": MEANINGS["support"],
            "png": plots.share_bars("support", support),
        },
        {
            "title": "TSTR",
            "value": tstr_value,
            "meaning": MEANINGS["tstr"],
            "png": plots.tstr_bars(tstr) if tstr else None,
        },
        {
            "title": "DCR share",
            "value": num(privacy.get("dcr_share")),
            "meaning": MEANINGS["dcr"],
            "png": plots.dcr_histogram(distances, privacy["dcr_share"]) if distances else None,
        },
        {
            "title": "Exact copies",
            "value": f"{pct(privacy.get('exact_copy_rate'))} ({baseline}"
            f" {pct(privacy['baseline_copy_rate'])})",
            "meaning": MEANINGS["copies"],
            "png": plots.share_bars("rows identical to a training row", copies),
        },
    ]
