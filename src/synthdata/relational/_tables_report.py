"""The HTML page of a multi-table evaluation: one self-contained file, no plots.

It leads with the summary (integrity at its worst, cardinality shape, parent-child
trend, the per-table means), then one row per foreign key and one per table, then the
weakest parent-child column pairs. The numbers are those of the JSON form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from synthdata.engine.io import atomic_path
from synthdata.engine.report import format_number, format_percent, pair_columns

WORST_PAIRS = 10

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Synthetic tables evaluation</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
.muted{color:#666} .cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.8rem 1.2rem;min-width:11rem}
.card b{display:block;font-size:1.8rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #eee;padding:.25rem .8rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
</style></head><body>
<h1>Synthetic tables evaluation</h1>
<p class="muted">{{ summary.tables }} tables, {{ summary.foreign_keys }} foreign keys.</p>
<div class="cards">
<div class="card">Referential integrity (worst key)
<b>{{ pct(summary.referential_integrity) }}</b></div>
<div class="card">Cardinality shape<b>{{ pct(summary.cardinality) }}</b></div>
<div class="card">Parent-child trend<b>{{ pct(summary.parent_child_trend) }}</b></div>
<div class="card">Pair trend (tables)<b>{{ pct(summary.pair_trend) }}</b></div>
<div class="card">Detection (tables)<b>{{ pct(summary.detection) }}</b></div>
</div>
<h2>Foreign keys</h2>
<p class="muted">Integrity: share of child rows with a key whose parent row exists (the real
tables' own share beside it). Cardinality shape: 1 - the KS distance between the real and
synthetic numbers of children per parent row. Parent-child trend: the mean fixed-bin pair
trend over every pair of a child column and a column of its parent row.</p>
<table><tr><th>Foreign key</th><th>Integrity</th><th>Real integrity</th>
<th>Cardinality shape</th><th>Children per parent, real / synthetic (mean, max, none)</th>
<th>Parent-child trend</th></tr>
{% for name in cardinality %}{% set cpp = children_per_parent[name] %}<tr><td>{{ name }}</td>
<td class="num">{{ pct(referential_integrity[name]) }}</td>
<td class="num">{{ pct(real_referential_integrity[name]) }}</td>
<td class="num">{{ pct(cardinality[name]) }}</td>
<td>{{ num(cpp.real.mean) }}, {{ cpp.real.max }}, {{ pct(cpp.real.zero_share) }} /
{{ num(cpp.synthetic.mean) }}, {{ cpp.synthetic.max }}, {{ pct(cpp.synthetic.zero_share) }}</td>
<td class="num">{{ pct(parent_child_trends.get(name)) }}</td></tr>
{% endfor %}</table>
<h2>Tables</h2>
<table><tr><th>Table</th><th>Rows real / synthetic</th><th>Column shapes</th>
<th>Pair trend</th><th>Detection</th><th>alpha-precision / beta-recall</th><th>Notes</th></tr>
{% for name, t in tables.items() %}<tr><td>{{ name }}</td>
<td class="num">{{ summary.rows[name].real }} / {{ summary.rows[name].synthetic }}</td>
<td class="num">{{ pct(t.get("column_shapes")) }}</td>
<td class="num">{{ pct(t.get("pair_trend")) }}</td>
<td class="num">{{ pct(t.get("detection")) }}</td>
<td class="num">{{ pct(t.get("alpha_precision")) }} / {{ pct(t.get("beta_recall")) }}</td>
<td class="muted">{{ t.get("notes", [])|join("; ") }}</td></tr>
{% endfor %}</table>
<h2>Weakest parent-child column pairs</h2>
{% if worst %}<table><tr><th>Foreign key</th><th>Child column</th><th>Parent column</th>
<th>Pair trend</th></tr>
{% for link, a, b, score in worst %}<tr><td>{{ link }}</td><td>{{ a }}</td><td>{{ b }}</td>
<td class="num">{{ pct(score) }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">No child and parent columns to pair.</p>{% endif %}
{% if notes %}<h2>Notes</h2><ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def render_html(result: dict[str, Any]) -> str:
    """The page of an `evaluate_tables` result."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(
        **result, worst=worst_pairs(result), pct=format_percent, num=format_number
    )


def worst_pairs(result: dict[str, Any], count: int = WORST_PAIRS) -> list[tuple[Any, ...]]:
    """The `count` lowest parent-child pair trends as (link, child col, parent col, score)."""
    pairs = [
        (link, *pair_columns(key), score)
        for link, scores in result["parent_child_pair_scores"].items()
        for key, score in scores.items()
        if score is not None
    ]
    return sorted(pairs, key=lambda item: item[-1])[:count]


def write_html(result: dict[str, Any], path: str | Path) -> Path:
    """Write the page of an `evaluate_tables` result to `path`, atomically."""
    html = render_html(result)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(path)
