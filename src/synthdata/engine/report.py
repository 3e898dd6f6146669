"""What an evaluation returns: the result, its JSON form and its self-contained HTML report.

The HTML report leads with the headline measures (pair trend on fixed bins, detection,
alpha-precision / beta-recall, TSTR, DCR share, exact copies), each with a one-line meaning
and a plot, then SDMetrics' figures, the privacy verdict, the worst pairs and real vs
synthetic plots per column. Plots (`_fidelity.plots`) are inlined as base64 PNG, so the
file can be mailed or attached to a ticket and still show everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from synthdata.engine.io import atomic_path

MAX_PLOTS = 30
WORST_PAIRS = 10
_PAIR_SEPARATOR = "~"


@dataclass
class EvaluationResult:
    """Scores of one synthetic table; `to_dict()` is the JSON form, `write_html` the report."""

    quality_score: float
    sdmetrics_default_score: float | None
    column_shapes: dict[str, float | None]
    column_pair_trends: dict[str, float | None]
    privacy: dict[str, Any]
    rows: dict[str, int | None]
    column_shapes_score: float | None = None
    column_pair_trends_score: float | None = None
    sdmetrics_default_pairs: int = 0  # pairs SDMetrics' default report counts
    metrics: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The headline measures (engine.fidelity); None where not computed, `notes` says why.
    pair_trend: float | None = None  # all pairs, bins fixed from the real rows
    pair_trend_scores: dict[str, float] = field(default_factory=dict)
    correlation_similarity: float | None = None
    detection: float | None = None
    detection_auc: float | None = None
    alpha_precision: float | None = None
    beta_recall: float | None = None
    tstr: dict[str, Any] | None = None
    holdout_source: str | None = None  # "given", "split" (set aside from real) or None
    notes: list[str] = field(default_factory=list)
    # The scored samples and plot arrays, kept only to draw the HTML report (never JSON).
    real_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    synthetic_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    plot_data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (NaN becomes None) with `quality_score` and `privacy`."""
        # compare=False marks the in-memory samples, which have no JSON form.
        return json_safe({f.name: getattr(self, f.name) for f in fields(self) if f.compare})

    def worst_pairs(self, count: int = 10) -> list[tuple[str, str, float]]:
        """The `count` lowest-scoring column pairs as (column, column, score).

        Scored on the fixed-bin pair trend when it was computed, else on SDMetrics'.
        """
        pairs: dict[str, Any] = self.pair_trend_scores or self.column_pair_trends
        scored = [(k, v) for k, v in pairs.items() if v is not None]
        scored.sort(key=lambda item: item[1])
        return [(*pair_columns(key), score) for key, score in scored[:count]]

    def write_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML report (scores, worst pairs, plots) atomically."""
        return write_html(self, path)


def pair_key(first: str, second: str) -> str:
    """The key of a column pair in `column_pair_trends`."""
    return f"{first}{_PAIR_SEPARATOR}{second}"


def pair_columns(key: str) -> tuple[str, str]:
    """Split a pair key back into its two column names."""
    first, _, second = key.partition(_PAIR_SEPARATOR)
    return first, second


def json_safe(value: Any) -> Any:
    """Convert numpy scalars to Python and NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Synthetic data evaluation</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{margin-bottom:.2rem} .muted{color:#666}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.8rem 1.2rem;min-width:11rem}
.card b{display:block;font-size:1.8rem} .small .card b{font-size:1.2rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #eee;padding:.25rem .8rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.risk-low{color:#1a7f37} .risk-medium{color:#b08800} .risk-high{color:#cf222e}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1rem}
figure{margin:0} figure img{max-width:100%} figcaption{font-size:.9rem;color:#444}
</style></head><body>
<h1>Synthetic data evaluation</h1>
<p class="muted">{{ rows.real }} real rows, {{ rows.synthetic }} synthetic rows
{%- if rows.holdout is not none %}, {{ rows.holdout }} holdout rows
{%- if holdout_source == "split" %} (set aside from the real table){% endif %}{% endif %};
scored on {{ rows.real_evaluated }} real and {{ rows.synthetic_evaluated }} synthetic rows.</p>
<div class="cards">
<div class="card">Pair trend<b>{{ pct(pair_trend) }}</b></div>
<div class="card">Detection<b>{{ pct(detection) }}</b></div>
<div class="card">TSTR / TRTR<b>{{ num(tstr.ratio if tstr else none) }}</b></div>
<div class="card">DCR share<b>{{ num(privacy.dcr_share) }}</b></div>
<div class="card">Exact copies<b>{{ pct(privacy.exact_copy_rate) }}</b></div>
</div>
{% if notes %}<ul class="muted">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<h2>Headline measures</h2>
<div class="plots">
{% for m in measures %}<figure><h3>{{ m.title }}: {{ m.value }}</h3>
<figcaption>{{ m.meaning }}</figcaption>
{% if m.png %}<img class="measure" alt="{{ m.title }}" src="data:image/png;base64,{{ m.png }}">
{% endif %}</figure>
{% endfor %}</div>
<h2>SDMetrics' figures (secondary)</h2>
<div class="cards small">
<div class="card">Quality (all pairs)<b>{{ pct(quality_score) }}</b></div>
<div class="card">Column shapes<b>{{ pct(column_shapes_score) }}</b></div>
<div class="card">Column pair trends<b>{{ pct(column_pair_trends_score) }}</b></div>
<div class="card">SDMetrics default<b>{{ pct(sdmetrics_default_score) }}</b></div>
</div>
<p class="muted">Quality is the mean of SDMetrics' column shapes and column pair trends
over all {{ column_pair_trends|length }} column pairs (SDMetrics draws its own bins for each
comparison). SDMetrics' default report counts only the {{ sdmetrics_default_pairs }} pairs
whose real correlation exceeds 0.5 or association 0.3.</p>
<h2>Privacy: risk <span class="risk-{{ privacy.risk }}">{{ privacy.risk }}</span></h2>
{% if privacy.risk_reasons %}<ul>{% for r in privacy.risk_reasons %}<li>{{ r }}</li>
{% endfor %}</ul>{% endif %}
<table>
<tr><td>Synthetic rows identical to a real row</td>
<td class="num">{{ pct(privacy.exact_copy_rate) }} ({{ privacy.exact_copies }})</td></tr>
<tr><td>Baseline: {{ privacy.baseline_source }}</td>
<td class="num">{{ pct(privacy.baseline_copy_rate) }}</td></tr>
<tr><td>Median distance to closest real record, synthetic</td>
<td class="num">{{ num(privacy.dcr_synthetic_median) }}</td></tr>
{% if privacy.holdout %}
<tr><td>Median distance to closest real record, holdout</td>
<td class="num">{{ num(privacy.dcr_holdout_median) }}</td></tr>
<tr><td>Synthetic rows closer than the holdout's 5th percentile (expected ~5%)</td>
<td class="num">{{ pct(privacy.closer_than_holdout_p05_share) }}</td></tr>
<tr><td>DCR share: synthetic rows nearer the training rows than the holdout (0.5 ideal)</td>
<td class="num">{{ num(privacy.dcr_share) }}</td></tr>
{% endif %}
</table>
{% if privacy.get("note") %}<p class="muted">{{ privacy.note }}</p>{% endif %}
{% if privacy.get("rare_values") %}<h3>Rare values (held by fewer than
{{ privacy.min_value_count }} real rows)</h3>
<table><tr><th>Column</th><th>Rare values</th><th>Real rows</th><th>Written verbatim</th>
<th>Protected</th></tr>
{% for name, r in privacy.rare_values.items() %}<tr><td>{{ name }}</td>
<td class="num">{{ r.rare_values }}</td><td class="num">{{ r.rare_rows }}</td>
<td class="num">{{ r.emitted_verbatim }}</td><td class="num">{{ r.protected }}</td></tr>
{% endfor %}</table>{% endif %}
{% if privacy.get("attacks") %}{% set attacks = privacy.attacks %}
<h3>Attacks (anonymeter, {{ attacks.n_attacks }} attacks each; risk 0 = no better than
against the holdout)</h3>
<table><tr><th>Attack</th><th>Risk</th><th>95% CI</th><th>Success on training rows</th>
<th>Success on holdout rows</th></tr>
{% for name, a in attacks.anonymeter.items() if name != "inference_by_secret" %}<tr>
<td>{{ name|replace("_", " ") }}{% if a.get("secret") %} ({{ a.secret }}){% endif %}</td>
{% if a.risk is not none %}<td class="num">{{ num(a.risk) }}</td>
<td class="num">{{ num(a.ci[0]) }} - {{ num(a.ci[1]) }}</td>
<td class="num">{{ pct(a.attack_rate) }}</td><td class="num">{{ pct(a.control_rate) }}</td>
{% else %}<td colspan="4">not measured</td>{% endif %}</tr>
{% endfor %}
<tr><td>Membership inference AUC (0.5 ideal, 1.0 every training row recognised)</td>
<td class="num">{{ num(attacks.membership_auc) }}</td><td colspan="3"></td></tr>
</table>
{% if attacks.notes %}<ul class="muted">{% for n in attacks.notes %}<li>{{ n }}</li>
{% endfor %}</ul>{% endif %}{% endif %}
<h2>Worst column pairs</h2>
{% if worst_pairs %}<table><tr><th>Columns</th><th>Pair trend (fixed bins)</th>
<th>SDMetrics metric</th><th>SDMetrics score</th></tr>
{% for a, b, score in worst_pairs %}<tr><td>{{ a }} ~ {{ b }}</td>
<td class="num">{{ pct(pair_trend_scores.get(a ~ "~" ~ b)) }}</td>
<td>{{ metrics.get(a ~ "~" ~ b, "") }}</td>
<td class="num">{{ pct(column_pair_trends.get(a ~ "~" ~ b)) }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">Fewer than two scored columns.</p>{% endif %}
<h2>Column shapes</h2>
<table><tr><th>Column</th><th>Type</th><th>Metric</th><th>Score</th></tr>
{% for name, score in shapes %}<tr><td>{{ name }}</td><td>{{ kinds.get(name, "") }}</td>
<td>{{ metrics.get(name, "") }}</td><td class="num">{{ pct(score) }}</td></tr>
{% endfor %}</table>
{% if excluded_columns %}<p class="muted">Not scored: {% for name, kind in
excluded_columns.items() %}{{ name }} ({{ kind }}){{ ", " if not loop.last }}{% endfor %}.</p>
{% endif %}
{% if warnings %}<h2>Warnings</h2><ul>{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul>
{% endif %}
<h2>Distributions, real vs synthetic</h2>
{% if hidden %}<p class="muted">Showing the {{ plots|length }} lowest-scoring columns;
{{ hidden }} more not shown.</p>{% endif %}
<div class="plots">
{% for name, score, png in plots %}<figure><img alt="{{ name }}"
src="data:image/png;base64,{{ png }}"><figcaption>{{ name }}: {{ pct(score) }}</figcaption>
</figure>
{% endfor %}</div>
</body></html>
"""


def render_html(result: EvaluationResult) -> str:
    """Return the report of `result` as one HTML document with inlined plots."""
    from synthdata.engine._fidelity.headline import headline_measures
    from synthdata.engine._fidelity.plots import column_plot

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_TEMPLATE)
    shapes = sorted(result.column_shapes.items(), key=lambda item: _order(item[1]))
    chosen = [name for name, _ in shapes[:MAX_PLOTS]]
    plots = []
    if result.real_sample is not None and result.synthetic_sample is not None:
        for name in [c for c in result.column_shapes if c in chosen]:  # table order
            kind = result.kinds.get(name, "categorical")
            png = column_plot(result.real_sample[name], result.synthetic_sample[name], name, kind)
            plots.append((name, result.column_shapes[name], png))
    payload = result.to_dict()
    return template.render(
        **payload,
        measures=headline_measures(result),
        shapes=shapes,
        worst_pairs=result.worst_pairs(WORST_PAIRS),
        plots=plots,
        hidden=max(0, len(shapes) - len(plots)) if plots else 0,
        pct=format_percent,
        num=format_number,
    )


def write_html(result: EvaluationResult, path: str | Path) -> Path:
    """Write the HTML report of `result` to `path`, atomically."""
    html = render_html(result)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(path)


def _order(score: float | None) -> float:
    return -1.0 if score is None else score


def format_percent(value: Any) -> str:
    """A share as a percentage with one decimal, "n/a" for None."""
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def format_number(value: Any) -> str:
    """A number to three significant digits, "n/a" for None."""
    return "n/a" if value is None else f"{float(value):.3g}"
