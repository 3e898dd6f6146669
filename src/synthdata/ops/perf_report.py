"""`performance-report`: the stored runs of a period and Prometheus's view of it, as a
PDF (a summary page, then one page per chart), an HTML page (summary table, charts
embedded as PNG) or Markdown (summary table, PNG files beside it).
"""

from __future__ import annotations

import base64
import io
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from synthdata.ops.perf_charts import CHARTS, draw
from synthdata.ops.perf_prometheus import PrometheusError, RangeResult, fetch_ranges
from synthdata.ops.perf_store import load_runs, runs_dir, started_at
from synthdata.ops.report import Report, Status

Format = Literal["pdf", "html", "md"]
PAGES = 1 + len(CHARTS)  # the PDF: a summary page, then one page per chart
_TABLE_ROWS_ON_PAGE = 24
BASELINES = (
    "Baselines: p95 < 500 ms, error rate < 0.1 %, requested rate achieved within 5 %, "
    "> 1000 RPS at --rps 1000+, generation < 30 s / 5 min / 30 min (small / medium / large)"
)
COLUMNS = (
    "started (UTC)", "endpoint", "rps", "achieved", "p50 ms", "p95 ms", "p99 ms", "max ms",
    "errors %", "generation s", "verdict",
)  # fmt: skip


@dataclass
class ReportData:
    """Everything a rendered report shows."""

    start: datetime
    end: datetime
    runs: list[dict[str, Any]]
    skipped: list[str]
    prometheus_url: str
    prometheus_error: str | None = None
    ranges: dict[str, RangeResult] = field(default_factory=dict)

    def rows(self) -> list[list[str]]:
        """One row per stored run, in `COLUMNS` order."""
        return [_row(run) for run in self.runs]

    def totals(self) -> dict[str, Any]:
        """The period in a few numbers (runs, verdicts, p95s, pooled error rate)."""
        p95s = [r["latency_ms"]["p95"] for r in self.runs if "p95" in r["latency_ms"]]
        scheduled = sum(r["requests"]["scheduled"] for r in self.runs)
        failed = sum(r["requests"]["failed"] for r in self.runs)
        return {
            "runs": len(self.runs),
            "passed": sum(1 for r in self.runs if r["verdict"]["passed"]),
            "median_p95_ms": round(statistics.median(p95s), 2) if p95s else None,
            "worst_p95_ms": max(p95s) if p95s else None,
            "requests": scheduled,
            "error_rate_percent": round(100 * failed / scheduled, 3) if scheduled else None,
        }

    def prometheus_lines(self) -> list[str]:
        """What Prometheus said, one line per query (or why it said nothing)."""
        if self.prometheus_error is not None:
            return [f"Prometheus unreachable ({self.prometheus_error}): stored runs only"]
        lines = []
        for name, result in self.ranges.items():
            if not result.series:
                lines.append(f"{result.query.title}: no data ({name})")
                continue
            peaks = ", ".join(
                f"{s.label} max {max(v for _, v in s.points):.4g}" for s in result.series
            )
            lines.append(f"{result.query.title} [{result.query.unit}, {result.source}]: {peaks}")
        return lines


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _row(run: dict[str, Any]) -> list[str]:
    lat = run["latency_ms"]
    generation = run.get("generation") or {}
    return [
        f"{started_at(run):%Y-%m-%d %H:%M}",
        run["endpoint"],
        _fmt(float(run["rps"])),
        _fmt(float(run["achieved_rps"])),
        *(_fmt(lat.get(key)) for key in ("p50", "p95", "p99", "max")),
        f"{100 * run['error_rate']:.3f}",
        _fmt(generation.get("seconds")),
        "PASS" if run["verdict"]["passed"] else "FAIL",
    ]


def collect(data_dir: Path, prometheus_url: str, period_s: float, now: datetime) -> ReportData:
    """The stored runs of the last `period_s` seconds and, when reachable, Prometheus's."""
    start = now - timedelta(seconds=period_s)
    stored = load_runs(runs_dir(data_dir), start, now + timedelta(seconds=1))
    data = ReportData(start, now, stored.runs, stored.skipped, prometheus_url)
    try:
        data.ranges = {r.query.name: r for r in fetch_ranges(prometheus_url, start, now)}
    except PrometheusError as exc:
        data.prometheus_error = str(exc)
    return data


def _summary_figure(data: ReportData) -> Figure:
    figure = Figure(figsize=(11.69, 8.27))  # A4 landscape
    figure.text(0.04, 0.95, "Performance report", fontsize=18, weight="bold")
    lines = [
        f"Period: {data.start:%Y-%m-%d %H:%M} to {data.end:%Y-%m-%d %H:%M} UTC",
        BASELINES,
        "Stored runs: " + ", ".join(f"{k} {_fmt(v)}" for k, v in data.totals().items()),
        *data.prometheus_lines(),
    ]
    for i, line in enumerate(lines):
        figure.text(0.04, 0.90 - 0.03 * i, line, fontsize=9)
    rows = data.rows()[-_TABLE_ROWS_ON_PAGE:]
    if rows:
        ax = figure.add_axes((0.03, 0.03, 0.94, 0.85 - 0.03 * len(lines)))
        ax.axis("off")
        table = ax.table(cellText=rows, colLabels=COLUMNS, loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
    if len(data.runs) > _TABLE_ROWS_ON_PAGE:
        figure.text(0.04, 0.01, f"latest {_TABLE_ROWS_ON_PAGE} of {len(data.runs)} runs shown")
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def write_pdf(data: ReportData, path: Path) -> list[Path]:
    with PdfPages(path) as pdf:
        pdf.savefig(_summary_figure(data))
        for chart in CHARTS:
            pdf.savefig(draw(chart, data.runs, data.ranges, data.start, data.end))
    return [path]


_HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Performance report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>
<h1>Performance report</h1>
<p>Period: {{ data.start.strftime(when) }} to {{ data.end.strftime(when) }} UTC</p>
<h2>Summary</h2>
<table><tr>{% for k in totals %}<th>{{ k }}</th>{% endfor %}</tr>
<tr>{% for v in totals.values() %}<td>{{ fmt(v) }}</td>{% endfor %}</tr></table>
<p>{{ baselines }}</p>
<ul>{% for line in data.prometheus_lines() %}<li>{{ line }}</li>{% endfor %}</ul>
<h2>Runs</h2>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in data.rows() %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for title, image in images %}<h2>{{ title }}</h2>
<img alt="{{ title }}" src="data:image/png;base64,{{ image }}">
{% endfor %}</body></html>
"""
)


def write_html(data: ReportData, path: Path) -> list[Path]:
    images = [
        (
            c.title,
            base64.b64encode(_png(draw(c, data.runs, data.ranges, data.start, data.end))).decode(),
        )
        for c in CHARTS
    ]
    html = _HTML.render(
        data=data,
        totals=data.totals(),
        columns=COLUMNS,
        images=images,
        fmt=_fmt,
        when="%Y-%m-%d %H:%M",
        baselines=BASELINES,
    )
    path.write_text(html)
    return [path]


def write_markdown(data: ReportData, path: Path) -> list[Path]:
    written = [path]
    lines = [
        "# Performance report",
        "",
        f"Period: {data.start:%Y-%m-%d %H:%M} to {data.end:%Y-%m-%d %H:%M} UTC",
        "",
        "| " + " | ".join(data.totals()) + " |",
        "|" + " --- |" * len(data.totals()),
        "| " + " | ".join(_fmt(v) for v in data.totals().values()) + " |",
        "",
        BASELINES,
        "",
        *(f"- {line}" for line in data.prometheus_lines()),
        "",
        "## Runs",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
        *("| " + " | ".join(row) + " |" for row in data.rows()),
    ]
    for chart in CHARTS:
        image = path.with_name(f"{path.stem}-{chart.name}.png")
        image.write_bytes(_png(draw(chart, data.runs, data.ranges, data.start, data.end)))
        written.append(image)
        lines += ["", f"## {chart.title}", "", f"![{chart.title}]({image.name})"]
    path.write_text("\n".join(lines) + "\n")
    return written


WRITERS = {"pdf": write_pdf, "html": write_html, "md": write_markdown}


def default_output(data_dir: Path, fmt: Format, now: datetime) -> Path:
    """`data_dir/performance/reports/performance-report-<UTC time>.<fmt>`."""
    return runs_dir(data_dir) / "reports" / f"performance-report-{now:%Y%m%dT%H%M%S}Z.{fmt}"


def build_report(data: ReportData, fmt: Format, output: Path) -> Report:
    """Render `data` to `output` and say what went in; exit 3 only when there was
    nothing to report from (no stored run and Prometheus unreachable)."""
    report = Report(f"performance-report ({fmt})")
    totals = data.totals()
    report.add(
        "stored runs",
        "info",
        f"{totals['runs']} in the period ({totals['passed']} passed their baselines)"
        + (f"; {len(data.skipped)} unreadable file(s) skipped" if data.skipped else ""),
        **totals,
    )
    if data.prometheus_error is not None:
        status: Status = "unreachable" if not data.runs else "info"
        report.add("prometheus", status, f"unreachable: {data.prometheus_error}; "
                   "the report is made from stored runs only", reachable=False)  # fmt: skip
    else:
        empty = [n for n, r in data.ranges.items() if not r.series]
        detail = f"{len(data.ranges) - len(empty)} of {len(data.ranges)} queries returned data"
        report.add("prometheus", "ok", detail, reachable=True, empty=empty)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = WRITERS[fmt](data, output)
    pages = f" ({PAGES} pages)" if fmt == "pdf" else ""
    report.add("report", "ok", f"wrote {output}{pages}", files=[str(p) for p in written])
    report.extra.update(
        period={"start": data.start.isoformat(), "end": data.end.isoformat()},
        output=str(output),
        files=[str(p) for p in written],
        totals=totals,
        generated_at=datetime.now(UTC).isoformat(),
    )
    return report
