"""The alert benchmark's report: the machine and versions, then a Markdown rendering."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import psutil

from benchmarks.alert_config import REPO

TOOLS = (
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
)


def _tool_version(tool: str) -> str:
    try:
        out = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        line = (out.stdout or out.stderr).splitlines()[0]
    except (OSError, IndexError):
        return "unknown"
    # redis_exporter prints its version as a log line.
    logged = re.search(r'msg="(.*?)\s+build date', line)
    return logged.group(1) if logged else line


def machine() -> dict[str, Any]:
    load1, load5, load15 = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "synthdata": version("inferloop-synthdata"),
        "commit": commit or "unknown",
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "loadavg_at_start": [round(load1, 2), round(load5, 2), round(load15, 2)],
        **{tool: _tool_version(tool) for tool in TOOLS},
    }


def _header(report: dict[str, Any], title: str) -> list[str]:
    m = report["machine"]
    return [
        f"# {title}",
        "",
        f"`{report['command']}`, run {m['date']} on {m['host']} ({m['platform']}, "
        f"{m['cpus']} CPUs, {m['memory_gb']} GB), synthdata {m['synthdata']} at {m['commit']}, "
        f"Python {m['python']}; load average at start {m['loadavg_at_start']}, at the end "
        f"{report['loadavg_at_end']}; {report['wall_clock_min']} min in all.",
        "",
        "; ".join(m[tool] for tool in TOOLS) + ".",
        "",
        "Configuration: " + "; ".join(f"{k} {v}" for k, v in report["settings"].items()) + ".",
        "",
        *_lanes(report),
        *_reruns(report),
    ]


def _reruns(report: dict[str, Any]) -> list[str]:
    lines = []
    for r in report.get("reruns", []):
        what = ", ".join(r["faults"]) + (" and the soak" if r["soak"] else "")
        lines.append(
            f"Re-measured after a fix: {what} by `{r['command']}` on {r['date']} at "
            f"{r['commit']} (load average at its end {r['loadavg_at_end']}); those rows "
            "are from that run."
        )
    return [*lines, ""] if lines else []


def _lanes(report: dict[str, Any]) -> list[str]:
    lanes = report.get("lanes", 1)
    if lanes <= 1:
        return []
    ends = "; ".join(f"{k} {v}" for k, v in report.get("lane_loadavg_at_end", {}).items())
    return [
        f"Side by side: the faults and the soak ran {lanes} at a time, each in its own "
        "process with its own stack (processes, ports, PostgreSQL database, Redis queue) "
        f"and its own receiver, sharing the CPU. Load average at each one's end: {ends}.",
        "",
    ]


def _resolve(row: dict[str, Any]) -> str:
    """Per notified group, the time from the repair to its resolve event."""
    parts = [
        f"{'+'.join(g['alertnames']) or '?'} "
        + (_s(g["resolve_s"]) if g["resolve_s"] is not None else f"> {row['recover_wait_s']:.0f} s")
        for g in row.get("resolve_by_group", [])
    ]
    return "; ".join(parts) or "-"


def _pages(row: dict[str, Any]) -> str:
    """Pages, and how many one cause of the expected alert should give (0 for a warning)."""
    expected = row.get("pages_expected")
    return str(row["pages"]) if expected is None else f"{row['pages']} (target {expected})"


def _named(note: dict[str, Any]) -> str:
    return "+".join(note["alertnames"]) or note["text"]


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s" if value >= 100 else f"{value:.1f} s"


def render_production(report: dict[str, Any]) -> str:
    lines = _header(report, "Alert latency and noise, production timing")
    lines += [
        "Nothing shortened: Prometheus loads the shipped rule files with the shipped "
        "intervals, Alertmanager keeps the shipped group_wait and group_interval. Each fault "
        "runs on a fresh stack under steady load (about 4 requests/s over the customer "
        "routes with a valid key), after a healthy warm-up, and is held until its first "
        "notification plus the longest critical `for:` and one scrape, evaluation and "
        "group_wait, so every page it can cause has had its chance. `floor` is `for:` + "
        "group_wait (the fault seen by the very next scrape and evaluation), `bound` adds one "
        "scrape and one evaluation interval (worst aligned); rate-based alerts also wait for "
        "their ratio to cross the threshold. Pages: distinct PagerDuty dedup keys triggered "
        "(target: exactly 1 per root cause whose alert is critical, 0 for a warning, "
        "which goes to Slack); groups: distinct alert groups anyone was told "
        "about (PagerDuty incidents, plus Slack threads no page named).",
        "",
        "| fault | expected alert | floor / bound | first notification | after | pages "
        "| groups (alert names) | resolve after repair |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report.get("faults", []):
        names = "; ".join("+".join(g) or "?" for g in row["group_alertnames"]) or "none"
        first = (
            f"{row['first_kind']} {'+'.join(row['first_alertnames'])}"
            if row["first_kind"]
            else "none"
        )
        lines.append(
            f"| {row['fault']} | {row['expected_alert']} | {_s(row['expected_floor_s'])} / "
            f"{_s(row['expected_bound_s'])} | {first} | {_s(row['fire_s'])} | {_pages(row)} | "
            f"{row['groups']} ({names}) | {_resolve(row)} |"
        )
    soak = report.get("soak")
    if soak:
        lines += ["", *render_soak(soak)]
    lines += ["", "Every notification, per fault (t from the fault's start):", ""]
    for row in report.get("faults", []):
        lines.append(
            f"- {row['fault']}: "
            + (
                ", ".join(
                    f"{n['t_s']} s {n['kind']} {n['action']} {_named(n)}"
                    for n in row["notifications"]
                )
                or "none"
            )
            + f"; during warm-up: {len(row['warmup_notifications'])}"
        )
    return "\n".join(lines) + "\n"


def render_soak(soak: dict[str, Any]) -> list[str]:
    calibration = soak["calibration"]
    capped = " (capped at max_job_rows)" if soak["job_rows_capped"] else ""
    notes = soak["notifications"]
    lines = [
        f"## Healthy soak: {soak['minutes']} minutes",
        "",
        f"Calibration: {calibration['rows']:,} rows in {calibration['running_s']} s "
        f"({calibration['rows_per_s']:,} rows/s on the worker). Long jobs of "
        f"{soak['job_rows']:,} rows{capped}, about {soak['expected_job_s'] / 60:.0f} min each "
        f"at that rate; {len(soak['jobs'])} queued at once for the one worker thread. "
        f"{soak['load_requests']:,} steady requests.",
        "",
        f"**Notifications: {len(notes)}** (target 0)"
        + (
            ": " + ", ".join(f"{n['t_s']} s {n['kind']} {_named(n)}" for n in notes)
            if notes
            else ""
        )
        + ". Alerts pending or firing at the end: "
        + (", ".join(soak["active_at_end"]) or "none")
        + ".",
        "",
        "| minute | jobs (state chunks) | active alerts |",
        "| --- | --- | --- |",
    ]
    for p in soak["progress"]:
        lines.append(
            f"| {p['minute']} | {', '.join(p['jobs'])} | {', '.join(p['active_alerts']) or '-'} |"
        )
    return lines


def summarise_compressed(results: list[dict[str, Any]], flows: list[str]) -> list[dict[str, Any]]:
    summary = []
    for name in flows:
        rows = [r for r in results if r["flow"] == name]
        if not rows:
            continue
        fire = [r["fire_s"] for r in rows]
        resolve = [r["resolve_s"] for r in rows if "resolve_s" in r]
        summary.append(
            {
                "flow": name,
                "alert": rows[0]["alert"],
                "receiver": rows[0]["receiver"],
                "for": rows[0]["for"],
                "runs": len(rows),
                "fire_min_s": round(min(fire), 2),
                "fire_median_s": round(statistics.median(fire), 2),
                "fire_max_s": round(max(fire), 2),
                "resolve_median_s": round(statistics.median(resolve), 2) if resolve else None,
            }
        )
    return summary


def render_compressed(report: dict[str, Any]) -> str:
    lines = _header(report, "Alert latency, compressed time (the pipeline's overhead)")
    lines += [
        "`for` is the alert's compressed `for:`: a latency cannot be shorter. On top of it "
        "come scraping and rule evaluation, group_wait for a new Alertmanager group "
        "(group_interval when the group still exists from an earlier run) and delivery. "
        "Production latencies: benchmarks/results/alert_latency.md.",
        "",
        "| flow | alert -> receiver | for | runs | fire min | fire median | fire max "
        "| resolve median |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['flow']} | {row['alert']} -> {row['receiver']} | {row['for']} | "
            f"{row['runs']} | {row['fire_min_s']:.1f} s | {row['fire_median_s']:.1f} s | "
            f"{row['fire_max_s']:.1f} s | {_s(row['resolve_median_s'])} |"
        )
    return "\n".join(lines) + "\n"
