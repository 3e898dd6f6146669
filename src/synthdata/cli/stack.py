"""`synthdata monitoring ...`: the local monitoring stack and the generated manifests.

    synthdata monitoring up [--api-url URL] [--worker-url URL] [--state-dir DIR]
                            [--incident-spool-port PORT]
    synthdata monitoring status
    synthdata monitoring down
    synthdata monitoring build [--check]

The work is done by `synthdata.ops.monitoring_stack`; this module parses options and
prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdata.cli.console import console, error, info
from synthdata.ops import monitoring_stack as stack

app = typer.Typer(
    help="The monitoring stack: Prometheus, Alertmanager, the incident spool and exporters "
    "on this machine, and the Kubernetes manifests generated from the shipped configuration.",
    no_args_is_help=True,
)

StateDir = Annotated[
    Path, typer.Option("--state-dir", help="Configurations, data, logs and pid files.")
]
MonitoringDir = Annotated[
    Path | None, typer.Option("--monitoring-dir", help="The monitoring/ folder (default: found).")
]


def _say(message: str) -> None:
    console.print(message, soft_wrap=True, highlight=False, markup=False)


@app.command("up")
def up(
    api_url: Annotated[
        str | None,
        typer.Option(
            help="The API whose /metrics to scrape and to which the incident spool forwards "
            "the incident webhook (default: SYNTHDATA_API_URL, else "
            "http://127.0.0.1:SYNTHDATA_PORT)."
        ),
    ] = None,
    worker_url: Annotated[str, typer.Option(help="The worker whose /metrics to scrape.")] = (
        "http://127.0.0.1:8001"
    ),
    state_dir: StateDir = Path("./var/monitoring"),
    prometheus_port: Annotated[int, typer.Option(help="Prometheus port (loopback).")] = 9090,
    alertmanager_port: Annotated[int, typer.Option(help="Alertmanager port (loopback).")] = 9093,
    incident_spool_port: Annotated[
        int,
        typer.Option(
            help="The incident spool's port (loopback): Alertmanager's incident webhook, "
            "stored there and forwarded to the API."
        ),
    ] = 9095,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The service's database (default: as the service reads it, "
            "SYNTHDATA_DATABASE_URL, else SQLite under SYNTHDATA_HOME). PostgreSQL is "
            "scraped through postgres_exporter; otherwise there is no database exporter "
            "job and no alert on one."
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="The service's Redis (default: SYNTHDATA_REDIS_URL), scraped through "
            "redis_exporter; without one there is no Redis job and no alert on it."
        ),
    ] = None,
    exporters: Annotated[
        bool, typer.Option(help="Start the installed exporters of the jobs scraped.")
    ] = True,
    monitoring_dir: MonitoringDir = None,
) -> None:
    """Start Prometheus (shipped rules), Alertmanager (shipped routing) and the incident
    spool on loopback, for the service as SYNTHDATA_* configures it (the same variables
    as `make run`)."""
    from synthdata.cli.service import settings_from_env

    options = stack.StackOptions.for_service(
        settings_from_env(),
        state_dir=state_dir,
        api_url=api_url,
        worker_url=worker_url,
        prometheus_port=prometheus_port,
        alertmanager_port=alertmanager_port,
        incident_spool_port=incident_spool_port,
        monitoring_dir=monitoring_dir,
        database_url=database_url,
        redis_url=redis_url,
        exporters=exporters,
    )
    try:
        components = stack.up(options, log=info)
    except (stack.StackError, FileNotFoundError) as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    for component in components:
        _say(f"{component.name}\t{component.url}\tpid {component.pid}")


@app.command("status")
def status(state_dir: StateDir = Path("./var/monitoring")) -> None:
    """Show each process of the stack (exit 1 if one is not healthy, 3 if none runs)."""
    rows = stack.status(state_dir)
    if not rows:
        info(f"nothing recorded under {state_dir}")
        raise typer.Exit(3)
    for row in rows:
        pid = f"pid {row.pid}" if row.pid else "-"
        _say(f"{row.name}\t{row.state}\t{row.url}\t{pid}\t{row.detail}")
    if any(row.state != "healthy" for row in rows):
        raise typer.Exit(1)


@app.command("down")
def down(state_dir: StateDir = Path("./var/monitoring")) -> None:
    """Stop the processes `up` started."""
    stopped = stack.down(state_dir, log=info)
    if not stopped:
        info("nothing was running")


@app.command("build")
def build(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if a file is out of date.")
    ] = False,
    monitoring_dir: MonitoringDir = None,
) -> None:
    """Regenerate the PrometheusRule and the Alertmanager Secret from the shipped files."""
    folder = stack.find_monitoring_dir(monitoring_dir)
    changed = stack.build_manifests(folder, check=check)
    for path in changed:
        _say(f"{'out of date' if check else 'wrote'}: {path}")
    if check and changed:
        raise typer.Exit(1)
    if not changed:
        info("generated manifests are up to date")
