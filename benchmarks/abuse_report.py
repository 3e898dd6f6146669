"""Verdicts and the Markdown page of the abuse benchmark.

The target, for every phase of every attack: the bystander's p95 during the phase
under 2x its idle p95, and none of its requests failed (an error answer is fast, so a
server that refuses or drops the bystander would otherwise look good). Beside it,
what the issue asks of each attack (431 for the header, 0 bytes left, ...), checked
from the attacker's statuses and the disk, as "issue check".
"""

from __future__ import annotations

import re
from typing import Any

from benchmarks.engine_report import machine_lines, package_version

TARGET_RATIO = 2.0
# docs/engine.md: a fit's peak memory is "at most about 1.5 GiB for any table within the
# service's limits".
FIT_RSS_BOUND = 1.5 * 1024**3
_STACK = ("fastapi", "starlette", "uvicorn", "httptools", "python-multipart", "prometheus-client")


def stack_versions() -> dict[str, str | None]:
    """Versions of the HTTP stack under attack."""
    return {name: package_version(name) for name in _STACK}


def _phase_verdict(phase: dict[str, Any], idle_p95: float | None) -> str:
    by = phase["bystander"]
    if not by["requests"] or not idle_p95:
        return "NO DATA"
    if by["errors"]:
        return "FAIL"
    return "PASS" if by["p95_ms"] < TARGET_RATIO * idle_p95 else "FAIL"


def _statuses(record: dict[str, Any], prefix: str) -> list[str]:
    return [s.removeprefix(prefix).strip() for s in record["attacker"] if s.startswith(prefix)]


def _issue_check(record: dict[str, Any]) -> tuple[str, str] | None:
    """(what the issue asks of this attack, PASS/FAIL), from the attacker's statuses."""
    name = record["name"]
    if name == "bomb":
        peak = max((p["peak_rss_bytes"] for p in record["phases"]), default=0)
        ok = record["server_alive"] and peak - record["idle"]["rss_bytes"] <= FIT_RSS_BOUND
        return "the server survives; RSS grows <= 1.5 GiB (docs/engine.md)", (
            "PASS" if ok else "FAIL"
        )
    if name == "wide":
        got = _statuses(record, "upload wide-100000.csv")
        return "100,000 columns refused with 422", "PASS" if got == ["422"] else "FAIL"
    if name == "header":
        got = _statuses(record, "GET /healthz")
        return "answered 431", "PASS" if got == ["431"] else "FAIL"
    if name == "multipart":
        got = _statuses(record, "POST /datasets") + _statuses(record, "POST /jobs")
        shares = [record["facts"].get(k, 1.0) for k in ("fields_sent_share", "json_sent_share")]
        refused = len(got) == 2 and all(s.startswith("4") for s in got)
        early = refused and all(share < 0.5 for share in shares)
        return "both refused (4xx) before half the body was sent", "PASS" if early else "FAIL"
    if name == "disk":
        left = record["disk"]["orphan_bytes"]
        return "0 bytes left by cancelled and failed jobs", "PASS" if left == 0 else "FAIL"
    if name == "metrics":
        got = _statuses(record, "one anonymous GET /metrics")
        return "no metrics for an anonymous caller on the API port", (
            "PASS" if got and got != ["200"] else "FAIL"
        )
    if name == "floods":
        floods = [s for s in record["attacker"] if s.startswith(("GET ", "POST "))]
        limited = bool(floods) and all(re.search(r"(^|[ ,])429 x", f) for f in floods)
        return "every flood is limited (429 seen)", "PASS" if limited else "FAIL"
    return None


def judge_all(records: list[dict[str, Any]]) -> None:
    """Judge every attack that ran. Each against its own idle p95, unless that idle
    window was more than 2x the run's median idle p95 (a burst of other work on the
    machine while it was measured): then against the median, and the page says so."""
    ran = [r for r in records if "error" not in r]
    idles = sorted(r["idle"]["p95_ms"] for r in ran if r["idle"]["p95_ms"])
    median = idles[len(idles) // 2] if idles else None
    for record in ran:
        own = record["idle"]["p95_ms"]
        noisy = bool(own and median and own > TARGET_RATIO * median)
        record["idle"]["reference_p95_ms"] = median if noisy else own
        record["idle"]["noisy"] = noisy
        judge(record)


def judge(record: dict[str, Any]) -> None:
    """Add a verdict to each phase, to the attack, and the issue check."""
    idle_p95 = record["idle"].get("reference_p95_ms", record["idle"]["p95_ms"])
    for phase in record["phases"]:
        phase["verdict"] = _phase_verdict(phase, idle_p95)
        by = phase["bystander"]
        phase["ratio"] = round(by["p95_ms"] / idle_p95, 2) if by["requests"] and idle_p95 else None
    verdicts = {p["verdict"] for p in record["phases"]}
    ok = record["server_alive"] and not record["idle"]["errors"] and verdicts == {"PASS"}
    record["verdict"] = "PASS" if ok else "FAIL"
    check = _issue_check(record)
    record["issue_check"] = {"what": check[0], "verdict": check[1]} if check else None


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024**2:,.0f} MiB"


def _bytes(value: int) -> str:
    return f"{value:,} B" if value < 1024**2 else f"{value / 1024**2:,.1f} MiB"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _summary(attacks: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| attack | target (bystander p95 < 2x idle) | worst p95 / idle p95 |"
        " peak RSS (over idle) | bytes left | issue check |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for a in attacks:
        if "error" in a:
            lines.append(f"| {a['title']} | NOT RUN | - | - | - | - |")
            continue
        ratios = [p["ratio"] for p in a["phases"] if p["ratio"] is not None]
        peak = max((p["peak_rss_bytes"] for p in a["phases"]), default=0)
        check = a["issue_check"]
        check_text = f"{check['verdict']}: {check['what']}" if check else "-"
        growth = peak - a["idle"]["rss_bytes"]
        lines.append(
            f"| {a['title']} | {a['verdict']} | {max(ratios, default=0):.2f}x |"
            f" {_mb(peak)} ({'+' if growth >= 0 else '-'}{_mb(abs(growth))}) |"
            f" {_bytes(a['disk']['orphan_bytes'])} | {check_text} |"
        )
    return lines


def _attack_section(a: dict[str, Any]) -> list[str]:
    if "error" in a:
        error = ["Not run: the server did not start.", "", "```", a["error"], "```"]
        return [f"### {a['title']}", "", *error, ""]
    idle = a["idle"]
    lines = [
        f"### {a['title']}",
        "",
        f"Idle (bystander alone, {idle['requests']} requests): p50 {_ms(idle['p50_ms'])} ms,"
        f" p95 {_ms(idle['p95_ms'])} ms; server RSS {_mb(idle['rss_bytes'])}."
        f" Server alive after the attack: {'yes' if a['server_alive'] else '**no**'}."
        f" Verdict: **{a['verdict']}**."
        + (
            f" This idle window was noisy (over 2x the run's median idle p95): judged"
            f" against the median, {_ms(idle['reference_p95_ms'])} ms."
            if idle.get("noisy")
            else ""
        ),
        "",
        "| phase | s | attacker got | peak RSS | bystander p50 / p95 ms | p95 / idle |"
        " bystander failures | verdict |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for p in a["phases"]:
        by = p["bystander"]
        failures = {s: n for s, n in by["statuses"].items() if not s.startswith("2")}
        lines.append(
            f"| {p['name']} | {p['seconds']:.1f} | {'; '.join(p['attacker']) or '-'} |"
            f" {_mb(p['peak_rss_bytes'])} | {_ms(by['p50_ms'])} / {_ms(by['p95_ms'])} |"
            f" {p['ratio'] if p['ratio'] is not None else '-'} |"
            f" {', '.join(f'{s} x{n}' for s, n in failures.items()) or '0'} | {p['verdict']} |"
        )
    disk = a["disk"]
    lines += [
        "",
        f"Left on disk: {_bytes(disk['orphan_bytes'])} in {disk['orphan_files']} file(s) no row"
        f" refers to; data directory grew {_bytes(disk['data_dir_growth_bytes'])}"
        f" (still in use by running work: {_bytes(disk['in_use_bytes'])}).",
    ]
    lines += [f"- `{path}`: {_bytes(size)}" for path, size in disk["largest_orphans"].items()]
    if a["issue_check"]:
        lines += [
            "",
            f"Issue check: {a['issue_check']['what']}: **{a['issue_check']['verdict']}**.",
        ]
    if a["notes"]:
        lines += ["", "Notes:", *[f"- {note}" for note in a["notes"]]]
    return [*lines, ""]


def render(results: dict[str, Any]) -> str:
    """The Markdown page."""
    s = results["settings"]
    stack = ", ".join(f"{k} {v}" for k, v in results["stack"].items() if v)
    lines = [
        "# Abuse benchmark: the resource attacks of issue 13",
        "",
        f"Date: {results['date']}. Command: `python -m benchmarks.abuse`"
        f" ({results['seconds']:.0f} s in all).",
        *machine_lines(results),
        f"HTTP stack: {stack}.",
        "",
        "Each attack ran against a fresh `synthdata serve` (the embedded default: SQLite,"
        f" files and the job queue under a scratch home; upload limit"
        f" {s['upload_limit_bytes'] / 1024**2:.0f} MB, as in the issue). The bystander tenant"
        f" called `GET /api/v1/me` {s['bystander_rate']:.0f} times a second (open loop,"
        f" latency from each request's due time) from {s['bystander']}; the attacker sent"
        f" from {s['attacker']}. Idle p95: the bystander alone for {s['idle_s']:.0f} s"
        " before the attack. Target per phase: bystander p95 under 2x idle p95 and no"
        " bystander request failed (a phase shorter than 3 s is judged over 3 s: the quiet"
        " moment after it belongs to it). Peak RSS: the server process and its children, sampled"
        " every 50 ms. Bytes left: files in the data directory (and the server's TMPDIR)"
        " that no dataset, model or job row refers to, new since the attack began. The"
        " benchmark's own client shares the machine's cores with the server.",
        "",
        "## Summary",
        "",
        *_summary(results["attacks"]),
        "",
        "## Attacks",
        "",
    ]
    for attack in results["attacks"]:
        lines += _attack_section(attack)
    return "\n".join(lines).rstrip() + "\n"
