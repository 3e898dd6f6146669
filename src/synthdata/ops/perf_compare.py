"""`compare-performance`: two time windows, their stored runs (and Prometheus's view of
them), and whether the second got worse.

Windows are in UTC and end-exclusive:

- `today`: from 00:00 today until now; `yesterday`: the whole previous day;
- `this-week`: from Monday 00:00 until now; `last-week`: the 7 days Monday 00:00 to
  Monday 00:00 before the current week (ISO weeks start on Monday);
- a duration such as `24h` or `7d`: that long until now;
- `YYYY-MM-DD`: that day; `A..B`: from A to B, where a date as B includes that whole
  day, and either side may be an ISO date-time (`2024-05-02T14:00`, UTC unless it
  carries an offset).

A regression is a p95 more than 20 % worse, or an error rate up by more than 0.1
percentage point. Each window's p95 is the median of its runs' p95s (one odd run does
not decide) and its error rate is pooled over all their requests. When either window
has no data there is nothing to compare: that is reported as such (exit 3), never as
a regression.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from synthdata.ops.perf_prometheus import PrometheusError, window_values
from synthdata.ops.perf_store import load_runs, runs_dir
from synthdata.ops.report import Report
from synthdata.ops.timeparse import parse_window

P95_WORSE_BY = 0.20  # 20 %
ERROR_RATE_UP_BY = 0.001  # 0.1 percentage point
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    """A named time window [start, end) in UTC."""

    name: str
    start: datetime
    end: datetime

    def describe(self) -> str:
        return f"{self.name}: {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _moment(text: str, *, end: bool) -> datetime:
    if _DATE.match(text):
        day = _midnight(date.fromisoformat(text))
        return day + timedelta(days=1) if end else day
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(text: str, now: datetime) -> Window:
    """The window a period word, duration, date or range stands for (see module doc)."""
    today = _midnight(now.date())
    monday = today - timedelta(days=now.weekday())
    words = {
        "today": (today, now),
        "yesterday": (today - timedelta(days=1), today),
        "this-week": (monday, now),
        "last-week": (monday - timedelta(days=7), monday),
    }
    if text in words:
        return Window(text, *words[text])
    try:
        if ".." in text:
            first, _, last = text.partition("..")
            start, end = _moment(first, end=False), _moment(last, end=True)
        elif _DATE.match(text):
            start, end = _moment(text, end=False), _moment(text, end=True)
        else:
            start, end = now - parse_window(text), now
    except ValueError:
        raise ValueError(
            f"{text!r} is not a period: use today, yesterday, this-week, last-week, a "
            "duration (24h, 7d), YYYY-MM-DD or START..END"
        ) from None
    if end <= start:
        raise ValueError(f"{text!r}: the period ends before it starts")
    return Window(text, start, end)


@dataclass(frozen=True)
class WindowStats:
    """One window's numbers, from one source."""

    runs: int
    requests: int
    p95_ms: float | None
    error_rate: float | None


def stored_stats(runs: list[dict[str, Any]]) -> WindowStats | None:
    """Median p95 and pooled error rate of `runs`; None when there is none."""
    if not runs:
        return None
    p95s = [r["latency_ms"]["p95"] for r in runs if "p95" in r["latency_ms"]]
    scheduled = sum(r["requests"]["scheduled"] for r in runs)
    failed = sum(r["requests"]["failed"] for r in runs)
    return WindowStats(
        len(runs),
        scheduled,
        statistics.median(p95s) if p95s else None,
        failed / scheduled if scheduled else None,
    )


def _judge(report: Report, source: str, base: WindowStats, current: WindowStats) -> None:
    if base.p95_ms is not None and current.p95_ms is not None:
        limit = base.p95_ms * (1 + P95_WORSE_BY)
        worse = current.p95_ms > limit
        change = 100 * (current.p95_ms / base.p95_ms - 1) if base.p95_ms else 0.0
        report.add(
            f"{source} p95",
            "warn" if worse else "ok",
            f"{base.p95_ms:.2f} -> {current.p95_ms:.2f} ms ({change:+.1f} %; "
            f"regression above +{100 * P95_WORSE_BY:.0f} %)",
            baseline=base.p95_ms,
            current=current.p95_ms,
            regression=worse,
        )
    if base.error_rate is not None and current.error_rate is not None:
        up = current.error_rate - base.error_rate
        worse = up > ERROR_RATE_UP_BY
        report.add(
            f"{source} error rate",
            "warn" if worse else "ok",
            f"{100 * base.error_rate:.3f} % -> {100 * current.error_rate:.3f} % "
            f"({100 * up:+.3f} pp; regression above +{100 * ERROR_RATE_UP_BY:.1f} pp)",
            baseline=base.error_rate,
            current=current.error_rate,
            regression=worse,
        )


def _prometheus_stats(url: str, window: Window, now: datetime) -> WindowStats | None:
    values = window_values(url, window.start, min(window.end, now))
    if values.get("requests") is None:
        return None
    return WindowStats(0, int(values["requests"] or 0), values["p95_ms"], values["error_rate"])


def compare(
    data_dir: Path,
    prometheus_url: str,
    baseline: Window,
    current: Window,
    *,
    endpoint: str | None = None,
    now: datetime,
) -> Report:
    """Compare `current` with `baseline` from the stored runs and from Prometheus."""
    report = Report(f"compare-performance ({baseline.name} -> {current.name})")
    stats: dict[str, WindowStats | None] = {}
    for role, window in (("baseline", baseline), ("current", current)):
        runs = load_runs(runs_dir(data_dir), window.start, window.end).runs
        runs = [r for r in runs if endpoint is None or r["endpoint"] == endpoint]
        stats[role] = stored_stats(runs)
        report.add(f"{role} window", "info", f"{window.describe()}; {len(runs)} stored run(s)")
    compared = 0
    base, cur = stats["baseline"], stats["current"]
    if base is not None and cur is not None:
        _judge(report, "stored runs", base, cur)
        compared += 1
    try:
        prom_base = _prometheus_stats(prometheus_url, baseline, now)
        prom_cur = _prometheus_stats(prometheus_url, current, now)
    except PrometheusError as exc:
        report.add("prometheus", "info", f"unreachable ({exc}): not used", reachable=False)
    else:
        if prom_base is not None and prom_cur is not None:
            _judge(report, "prometheus", prom_base, prom_cur)
            compared += 1
        else:
            empty = [n for n, s in (("baseline", prom_base), ("current", prom_cur)) if s is None]
            report.add("prometheus", "info", f"no requests recorded in the {' and '.join(empty)} "
                       "window", reachable=True)  # fmt: skip
    if not compared:
        missing = [role for role, s in stats.items() if s is None]
        report.add(
            "comparison",
            "unreachable",
            f"not enough data: no stored run in the {' and '.join(missing)} window and no "
            "Prometheus data for both; nothing was compared (this is not a regression)",
        )
    report.extra.update(
        baseline={"start": baseline.start.isoformat(), "end": baseline.end.isoformat()},
        current={"start": current.start.isoformat(), "end": current.end.isoformat()},
        stored={k: (v.__dict__ if v else None) for k, v in stats.items()},
    )
    return report
