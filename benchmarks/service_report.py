"""The machine description, the targets and the Markdown page of the service benchmark."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from benchmarks.engine_report import machine_info as engine_machine_info

PACKAGES = (
    "inferloop-synthdata",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "pydantic",
    "huey",
    "redis",
    "httpx",
    "numpy",
    "pandas",
    "pyarrow",
    "py-spy",
)
RUNBOOK = {"api_p95_ms": 500, "api_rps": 1000, "gen_1mb_s": 30, "gen_100mb_s": 300}


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS, load average, and the versions of the packages that matter."""
    info = engine_machine_info()
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    info["packages"] = versions
    return info


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _row(target: str, threshold: str, measured: str, ok: bool | None) -> dict[str, Any]:
    verdict = "NOT RUN" if ok is None else ("PASS" if ok else "FAIL")
    return {"target": target, "threshold": threshold, "measured": measured, "verdict": verdict}


_API_TARGETS = (
    ("API rate, open loop", ">= 1000 req/s"),
    ("API p95 at 1000 req/s", "< 50 ms"),
    ("API errors at 1000 req/s", "0"),
)


def _api_rows(target: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not target:
        return [_row(name, threshold, "-", None) for name, threshold in _API_TARGETS]
    rate, p95 = target["achieved_rate"], target["latency_ms"].get("p95")
    errors = target["errors"]
    count = sum(errors.values())
    shown_p95 = "no responses" if p95 is None else f"{p95} ms"
    measured = (f"{rate:.0f} req/s", shown_p95, f"{count} {errors or ''}".strip())
    verdicts = (rate >= 990, p95 is not None and p95 < 50, count == 0)
    return [
        _row(name, threshold, value, ok)
        for (name, threshold), value, ok in zip(_API_TARGETS, measured, verdicts, strict=True)
    ]


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target, PASS/FAIL (NOT RUN for a part that was skipped)."""
    rows = _api_rows(_get(results, "load", "target"))
    for label, limit in (("1MB", 3.0), ("100MB", 60.0)):
        run = _get(results, "e2e", label)
        name, threshold = f"end to end, {label[:-2]} MB CSV", f"< {limit:.0f} s"
        if run:
            median = run["median_s"]
            rows.append(_row(name, threshold, f"{median:.2f} s (median)", median < limit))
        else:
            rows.append(_row(name, threshold, "-", None))
    speedup = _get(results, "chunks", "one_thread_speedup")
    rows.append(
        _row(
            "2 workers vs 1, chunked job (1 CPU thread per worker)",
            ">= 1.6x",
            "-" if speedup is None else f"{speedup:.2f}x",
            None if speedup is None else speedup >= 1.6,
        )
    )
    return rows


def _load(value: list[float] | None) -> str:
    return "-" if not value else " / ".join(f"{v:.2f}" for v in value)


def _load_table(steps: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| path | target rate | achieved (ok) | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU | CPU per request | generator CPU |",  # noqa: E501
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for s in steps:
        lat = s["latency_ms"]
        path = s["url"].split("://", 1)[-1].split("/", 1)[-1]
        errors = ", ".join(f"{k}: {v}" for k, v in s["errors"].items()) or "0"
        lines.append(
            f"| /{path} | {s['target_rate']:.0f}/s | {s['achieved_rate']:.0f}/s | {lat.get('p50', '-')} "  # noqa: E501
            f"| {lat.get('p95', '-')} | {lat.get('p99', '-')} | {lat.get('max', '-')} | {errors} "
            f"| {s['server_cpu_percent']}% | {s['server_cpu_us_per_request'] or '-'} µs "
            f"| {s['client_cpu_percent']}% |"
        )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """The results page: machine, targets with PASS/FAIL, then each part in detail."""
    m = results["machine"]
    title = "Service benchmark" + (" (quick smoke run)" if results.get("quick") else "")
    out = [f"# {title}", "", f"Run {results['date']}, {results['wall_seconds']:.0f} s in all.", ""]
    out += [
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_bytes'] / 1e9:.1f} GB RAM, {m['os']}",
        f"- load average (1/5/15 min) at start: {_load(m['load_average'])}; at end: "
        f"{_load(m.get('load_average_end'))}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        "",
        "## Targets",
        "",
        "| target | threshold | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    out += [
        f"| {r['target']} | {r['threshold']} | {r['measured']} | **{r['verdict']}** |"
        for r in results["targets"]
    ]
    out += [
        "",
        f"Runbook baselines for context: API p95 < {RUNBOOK['api_p95_ms']} ms at > "
        f"{RUNBOOK['api_rps']} req/s; generation < {RUNBOOK['gen_1mb_s']} s (< 1 MB), "
        f"< {RUNBOOK['gen_100mb_s'] // 60} min (1-100 MB).",
    ]
    out += _load_section(results.get("load"))
    out += _e2e_section(results.get("e2e"))
    out += _chunks_section(results.get("chunks"))
    return "\n".join(out) + "\n"


def _load_section(load: dict[str, Any] | None) -> list[str]:
    if not load:
        return []
    steps = [*load["ladder"], load["healthz"], load["target"]]
    out = [
        "",
        f"## 1. Open-loop load: {load['endpoint']} with a customer key",
        "",
        f"`synthdata serve` on the embedded default ({load['api_processes']} API process(es), "
        "SQLite, local queue with its 2 job threads), a fresh server per row. Constant "
        "arrival rate over 64 keep-alive connections; latency counts from each request's "
        "due time (no coordinated omission). Rate limits were raised for the run: one key "
        "from one address at 1000/s is far over the defaults (1200 per key, 3000 per "
        "address per minute); the limiter still runs on every request. `/healthz` (no "
        "authentication, no database) shows the ceiling of the HTTP stack alone. Server CPU "
        "is the server process's user + system time over the run; the generator ran on "
        f"the `{load['target']['event_loop']}` event loop.",
        "",
        *_load_table(steps),
    ]
    stall = load.get("stall")
    if stall and stall.get("groups"):
        out += [
            "",
            f"### The server stalled at {stall['rate']:.0f} req/s: what its {stall['threads']} "
            "threads were doing (py-spy dump after the run)",
            "",
            "| threads | innermost synthdata frame | blocked in |",
            "| ---: | --- | --- |",
        ]
        out += [
            f"| {g['threads']} | `{g['synthdata_frame']}` | `{g['innermost_frame']}` |"
            for g in stall["groups"]
        ]
    prof = load.get("profile")
    if prof and prof.get("concerns"):
        out += [
            "",
            f"### Where the server's CPU goes (py-spy, {prof['samples']} samples at "
            f"{prof['rate']:.0f} req/s, {prof['cpu_us_per_request']} µs CPU per request)",
            "",
            "| concern | share of samples | µs per request |",
            "| --- | ---: | ---: |",
        ]
        out += [
            f"| {c['concern']} | {100 * c['share']:.1f}% | {c['us_per_request'] if c['us_per_request'] is not None else '-'} |"  # noqa: E501
            for c in prof["concerns"]
        ]
    return out


def _e2e_section(e2e: dict[str, Any] | None) -> list[str]:
    if not e2e:
        return []
    out = [
        "",
        "## 2. End to end with `synthdata.Client`",
        "",
        f"Upload the CSV, `generate` as many rows (polling every 50 ms), download; {e2e['server']}.",  # noqa: E501
        "",
        "| CSV | rows | run | total s | upload s | job s (queued / running) | download s | chunks | rows back |",  # noqa: E501
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for run_set in e2e.values():
        if not isinstance(run_set, dict):
            continue
        for number, r in enumerate(run_set["runs"], 1):
            out.append(
                f"| {run_set['csv_bytes'] / 1e6:.1f} MB | {run_set['rows']:,} | {number} "
                f"| {r['total_s']:.2f} | {r['upload_s']:.2f} | {r['job_s']:.2f} "
                f"({r['job_queued_s']} / {r['job_running_s']}) | {r['download_s']:.2f} "
                f"| {r['chunks']} | {r['rows_downloaded']:,} |"
            )
    return out


def _chunks_section(chunks: dict[str, Any] | None) -> list[str]:
    if not chunks:
        return []
    out = [
        "",
        "## 3. Chunked parallelism: one worker process against two",
        "",
        f"One job of {chunks['rows']:,} rows in {chunks['rows'] // chunks['chunk_rows']} chunks "
        f"of {chunks['chunk_rows']:,} (`SYNTHDATA_JOB_CHUNK_ROWS`), CSV, sampled from a model "
        f"trained beforehand on {chunks['source_rows']:,} rows. Redis queue; the API runs with "
        "0 job threads; `synthdata worker` processes share its SQLite database and data "
        "directory. Time from `POST /jobs` until the client sees `succeeded`.",
        "",
        "| workers | CPU threads per worker | seconds | job running s | worker CPU s "
        "| result bytes |",
        "| ---: | --- | ---: | ---: | --- | ---: |",
    ]
    for prefix, threads in (("", "all (unlimited)"), ("one_thread_", "1")):
        for count in (1, 2):
            r = chunks.get(f"{prefix}workers_{count}")
            if r:
                out.append(
                    f"| {count} | {threads} | {r['seconds']:.1f} | {r['job_running_s']} "
                    f"| {r['worker_cpu_s']} | {r['result_bytes']:,} |"
                )
    out += [
        "",
        f"Speed-up with two workers each given one CPU thread "
        f"(`SYNTHDATA_WORKER_CPU_THREADS=1`): **{chunks.get('one_thread_speedup')}x** "
        f"(the target). Unlimited workers: {chunks.get('speedup')}x, because one unlimited "
        "worker already keeps most of both cores busy (compare its CPU time with its wall "
        "time); on a bigger machine the unlimited worker is the faster single worker.",
    ]
    return out
