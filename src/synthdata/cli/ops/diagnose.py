"""`synthdata ops`: health-check, check-recent-deployments, check-resources,
check-error-logs, check-log-pipeline (the runbook's "Alert Investigation" and
"Check log pipeline health").

Each prints a table (or `--json`) of findings and exits 0 when all is well, 1 when
something is wrong, 3 when a part could not be reached.
"""

from __future__ import annotations

from typing import Annotated

import typer

from synthdata.cli.ops.app import ops_app, settings_from_env, window_option
from synthdata.ops.report import emit

# The runbook's slow-request threshold (ms); here, so that `--help` imports nothing more.
DEFAULT_SLOW_MS = 1000

JsonOption = Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")]


def _check_window(value: str) -> str:
    """Refuse a bad `--last` while the options are parsed (a usage error, exit 2)."""
    window_option(value)
    return value


def _check_level(value: str) -> str:
    from synthdata.ops.logs import normalize_level

    try:
        return normalize_level(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


LAST_HELP = "The window, such as 30m, 4h, 7d or 1h30m."


@ops_app.command("health-check")
def health_check(
    comprehensive: Annotated[
        bool,
        typer.Option(
            "--comprehensive",
            help="Also Prometheus (and its targets), Alertmanager, Grafana, the log pipeline, "
            "the firing alerts and the API's 5xx ratio and p95 from Prometheus.",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="The API to probe (/healthz, /readyz) "
            "(default: SYNTHDATA_API_URL, else http://127.0.0.1:SYNTHDATA_PORT)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Service, database, queue, Redis, storage and workers (and the monitoring stack, and
    what it sees: alerts, errors, latency), each with the time its check took."""
    from synthdata.ops.health import health_check as check

    settings = settings_from_env()
    report = check(settings, url=url or settings.api_url, comprehensive=comprehensive)
    raise typer.Exit(emit(report, as_json=as_json))


@ops_app.command("check-recent-deployments")
def check_recent_deployments(
    last: Annotated[
        str, typer.Option("--last", callback=_check_window, metavar="DURATION", help=LAST_HELP)
    ] = "4h",
    as_json: JsonOption = False,
) -> None:
    """Process starts in the window; a version or configuration change is the first suspect."""
    from synthdata.ops.deployments import recent_deployments

    report = recent_deployments(settings_from_env(), window=window_option(last))
    raise typer.Exit(emit(report, as_json=as_json))


@ops_app.command("check-resources")
def check_resources(
    detailed: Annotated[
        bool,
        typer.Option(
            "--detailed", help="Also the top processes and Prometheus's node/container figures."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """CPU, memory and disk against the alert thresholds; database, Redis and queue sizes."""
    from synthdata.ops.resources import check_resources as check

    report = check(settings_from_env(), detailed=detailed)
    raise typer.Exit(emit(report, as_json=as_json))


@ops_app.command("check-error-logs")
def check_error_logs(
    last: Annotated[
        str, typer.Option("--last", callback=_check_window, metavar="DURATION", help=LAST_HELP)
    ] = "1h",
    level: Annotated[
        str,
        typer.Option(
            "--level", callback=_check_level, help="This level and above: DEBUG ... CRITICAL."
        ),
    ] = "ERROR",
    slow: Annotated[
        bool,
        typer.Option(
            "--slow",
            help="Slow requests instead of errors (the runbook's query): "
            "response_time at or above --min-ms, by endpoint.",
        ),
    ] = False,
    min_ms: Annotated[
        int, typer.Option("--min-ms", min=0, metavar="MS", help="The --slow threshold.")
    ] = DEFAULT_SLOW_MS,
    limit: Annotated[int, typer.Option(min=1, help="Groups shown (most frequent first).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Error lines in the window, grouped by error and endpoint, with request id, customer and
    traceback (Elasticsearch, or the log file when it is not configured or not reachable)."""
    settings, window = settings_from_env(), window_option(last)
    if slow:
        from synthdata.ops.slow_requests import slow_requests

        report = slow_requests(settings, window=window, threshold_ms=min_ms, limit=limit)
    else:
        from synthdata.ops.logs import error_logs

        report = error_logs(settings, window=window, level=level, limit=limit)
    raise typer.Exit(emit(report, as_json=as_json))


@ops_app.command("check-log-pipeline")
def check_log_pipeline(as_json: JsonOption = False) -> None:
    """Fluent Bit, Elasticsearch (health, newest document) and the local log file."""
    from synthdata.ops.pipeline import log_pipeline

    report = log_pipeline(settings_from_env())
    raise typer.Exit(emit(report, as_json=as_json))
