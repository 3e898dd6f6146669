"""`synthdata ops performance-benchmark | performance-report | compare-performance`.

The runbook's "Performance Monitoring Scripts". The benchmark stores each run under
`SYNTHDATA_DATA_DIR/performance/`; the report and the comparison read those runs and,
when it answers, Prometheus (`SYNTHDATA_PROMETHEUS_URL`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synthdata.cli.console import info, progress
from synthdata.cli.ops.app import ops_app, settings_from_env
from synthdata.ops.report import Report, Status, emit

if TYPE_CHECKING:
    from synthdata.ops.perf_generation import GenerationResult

JsonOption = Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")]


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    md = "md"


def _seconds(text: str) -> float:
    from synthdata.ops.timeparse import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


PREFLIGHT_TIMEOUT_S = 5.0


def _preflight(url: str, headers: list[str]) -> tuple[Status, str] | None:
    """One request before the load: (status, why) when the run would be pointless, or an
    `info` finding when the service is slow (the run goes on: a latency incident is
    exactly when the benchmark must measure, so only a refused or unreachable service
    stops it)."""
    import httpx

    pairs = dict(h.split(":", 1) for h in headers if ":" in h)
    try:
        response = httpx.get(
            url,
            headers={k.strip(): v.strip() for k, v in pairs.items()},
            timeout=PREFLIGHT_TIMEOUT_S,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return "unreachable", f"{url}: {exc or type(exc).__name__} (is the service running?)"
    except httpx.TimeoutException:
        return "info", (
            f"{url} accepted the connection but answered nothing within "
            f"{PREFLIGHT_TIMEOUT_S:g} s: slow, measuring anyway"
        )
    except httpx.HTTPError as exc:
        return "unreachable", f"{url}: {exc or type(exc).__name__} (is the service running?)"
    if response.status_code in (401, 403):
        return "fail", (
            f"{url} answered {response.status_code}: the API key is missing or refused "
            "(--api-key or SYNTHDATA_API_KEY)"
        )
    return None


@ops_app.command("performance-benchmark")
def performance_benchmark(
    duration: Annotated[str, typer.Option(help="How long to measure: 30s, 10m, 1h.")] = "1m",
    rps: Annotated[float, typer.Option(min=0.1, help="Requests per second (open loop).")] = 100.0,
    url: Annotated[
        str | None,
        typer.Option(
            help="The running service's base URL "
            "(default: SYNTHDATA_API_URL, else http://127.0.0.1:SYNTHDATA_PORT)."
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="SYNTHDATA_API_KEY", help="A customer API key.")
    ] = None,
    endpoint: Annotated[str, typer.Option(help="The GET endpoint to load.")] = "/api/v1/usage",
    generation: Annotated[
        bool, typer.Option("--generation", help="Also time one small generation job.")
    ] = False,
    warmup: Annotated[str | None, typer.Option(help="Unmeasured time first, e.g. 5s.")] = None,
    connections: Annotated[int, typer.Option(min=1, help="Keep-alive connections.")] = 64,
    header: Annotated[
        list[str] | None, typer.Option("--header", hidden=True, help="Extra 'Name: value'.")
    ] = None,
    json_flag: JsonOption = False,
) -> None:
    """Open-loop load on a running service, judged against the runbook's baselines."""
    from synthdata.ops.perf_generation import run_generation
    from synthdata.ops.perf_store import runs_dir, save_run
    from synthdata.ops.performance import GENERATION_BASELINE_S, BenchmarkPlan, run_benchmark

    seconds = _seconds(duration)
    if seconds * rps < 1:
        raise typer.BadParameter("duration x rps is less than one request", param_hint="--rps")
    settings = settings_from_env()
    url = url or settings.api_url
    headers = [*(header or []), *([f"X-API-Key: {api_key}"] if api_key else [])]
    plan = BenchmarkPlan(url.rstrip("/"), endpoint, rps, seconds, headers, connections=connections)
    plan.warmup_s = _seconds(warmup) if warmup else 0.0
    report = Report(f"performance-benchmark ({endpoint} at {rps:g}/s for {duration})")
    if generation and not api_key:
        raise typer.BadParameter("--generation needs --api-key (or SYNTHDATA_API_KEY)")
    problem = _preflight(plan.url + endpoint, headers)
    if problem is not None:
        report.add("service", *problem)
        if problem[0] != "info":
            raise typer.Exit(emit(report, as_json=json_flag))

    def job() -> GenerationResult:
        info("timing one small generation job")
        return run_generation(plan.url, api_key or "", 4 * GENERATION_BASELINE_S["small"])

    with progress() as display:
        task = display.add_task(f"GET {endpoint} at {rps:g}/s", total=None, unit="requests")
        run = run_benchmark(
            plan,
            progress=lambda done, total: display.update(task, completed=done, total=total),
            generation=job if generation else None,
        )
    path = save_run(run, runs_dir(settings.data_dir))
    for check in run["verdict"]["checks"]:
        baseline = f" [baseline {check['baseline']}]" if check["baseline"] else ""
        report.add(check["name"], check["status"], check["detail"] + baseline)
    report.add("stored", "info", str(path))
    report.extra.update(run=run, file=str(path))
    raise typer.Exit(emit(report, as_json=json_flag))


@ops_app.command("performance-report")
def performance_report(
    period: Annotated[str, typer.Option(help="How far back: 24h, 7d, 30d.")] = "7d",
    format: Annotated[ReportFormat, typer.Option("--format", help="pdf, html or md.")] = (
        ReportFormat.pdf
    ),
    output: Annotated[Path | None, typer.Option(help="Where to write the report.")] = None,
    json_flag: JsonOption = False,
) -> None:
    """Charts and a summary of the stored runs and Prometheus over a period."""
    from synthdata.ops.perf_report import build_report, collect, default_output

    seconds = _seconds(period)
    settings = settings_from_env()
    now = datetime.now(UTC)
    data = collect(settings.data_dir, settings.prometheus_url, seconds, now)
    target = output or default_output(settings.data_dir, format.value, now)
    report = build_report(data, format.value, target)
    raise typer.Exit(emit(report, as_json=json_flag))


@ops_app.command("compare-performance")
def compare_performance(
    baseline: Annotated[
        str, typer.Option(help="today, yesterday, this-week, last-week, 7d, DATE or A..B.")
    ] = "last-week",
    current: Annotated[str, typer.Option(help="Same forms as --baseline.")] = "today",
    endpoint: Annotated[str | None, typer.Option(help="Only runs against this endpoint.")] = None,
    json_flag: JsonOption = False,
) -> None:
    """Flag a regression: p95 worse by > 20 % or error rate up by > 0.1 point."""
    from synthdata.ops.perf_compare import compare, resolve_window

    now = datetime.now(UTC)
    windows = []
    for name, text in (("--baseline", baseline), ("--current", current)):
        try:
            windows.append(resolve_window(text, now))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=name) from None
    settings = settings_from_env()
    report = compare(
        settings.data_dir, settings.prometheus_url, *windows, endpoint=endpoint, now=now
    )
    raise typer.Exit(emit(report, as_json=json_flag))
