"""`synthdata ops`: cleanup-metrics, cleanup-storage, backup-monitoring-config,
monitoring-maintenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdata.cli.ops.app import ops_app, settings_from_env, window_option
from synthdata.ops.report import emit

JsonOption = Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")]
MonitoringDirOption = Annotated[
    Path | None,
    typer.Option(help="The monitoring/ folder (default: $SYNTHDATA_MONITORING_DIR or the repo's)."),
]
BackupDirOption = Annotated[
    Path, typer.Option("--output", help="Folder for the timestamped tar.gz.")
]
DEFAULT_BACKUP_DIR = Path("var/backups/monitoring")


def _monitoring_dir(explicit: Path | None) -> Path:
    from synthdata.ops.monitoring_stack import find_monitoring_dir

    try:
        return find_monitoring_dir(explicit)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--monitoring-dir") from None


@ops_app.command("cleanup-metrics")
def cleanup_metrics(
    older_than: Annotated[str, typer.Option(help="Delete samples older than this (90d).")] = "90d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    json_flag: JsonOption = False,
) -> None:
    """Delete old samples through Prometheus' admin API (needs --web.enable-admin-api)."""
    from synthdata.ops.maintenance_cleanup import cleanup_metrics as run

    settings = settings_from_env()
    report = run(
        settings.prometheus_url, window_option(older_than, "--older-than"), dry_run=dry_run
    )
    raise typer.Exit(emit(report, as_json=json_flag))


@ops_app.command("cleanup-storage")
def cleanup_storage(
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Grace period: keep unreferenced files younger than this "
            "(default: SYNTHDATA_ORPHAN_GRACE_SECONDS, 6h)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would go; delete nothing.")
    ] = False,
    json_flag: JsonOption = False,
) -> None:
    """Remove files under the data directory that no dataset, model or job references
    (the sweep every worker runs each SYNTHDATA_ORPHAN_SWEEP_INTERVAL_SECONDS)."""
    from datetime import timedelta

    from synthdata.ops.maintenance_cleanup import cleanup_storage as run

    settings = settings_from_env()
    grace = (
        window_option(older_than, "--older-than")
        if older_than is not None
        else timedelta(seconds=settings.orphan_grace_seconds)
    )
    raise typer.Exit(emit(run(settings, grace, dry_run=dry_run), as_json=json_flag))


@ops_app.command("backup-monitoring-config")
def backup_monitoring_config(
    output: BackupDirOption = DEFAULT_BACKUP_DIR,
    monitoring_dir: MonitoringDirOption = None,
    json_flag: JsonOption = False,
) -> None:
    """Archive monitoring/ and the live Prometheus, Alertmanager and Grafana configuration
    (exit 3 when a live part could not be reached; the files are backed up anyway)."""
    from synthdata.ops.maintenance_backup import backup_monitoring_config as run

    report = run(settings_from_env(), _monitoring_dir(monitoring_dir), output)
    raise typer.Exit(emit(report, as_json=json_flag))


@ops_app.command("monitoring-maintenance")
def monitoring_maintenance(
    weekly: Annotated[
        bool, typer.Option("--weekly", help="Run the weekly checklist (the only one so far).")
    ] = False,
    backup_dir: Annotated[
        Path, typer.Option(help="Where the weekly configuration backup goes.")
    ] = DEFAULT_BACKUP_DIR,
    older_than: Annotated[str, typer.Option(help="Cutoff of the cleanup dry run.")] = "90d",
    silence_horizon: Annotated[str, typer.Option(help="Flag silences ending within this.")] = "7d",
    monitoring_dir: MonitoringDirOption = None,
    json_flag: JsonOption = False,
) -> None:
    """Rule checks and tests, Alertmanager config, dashboard drift, live Prometheus and
    Alertmanager health, a config backup and a cleanup dry run."""
    from synthdata.ops.maintenance import WeeklyOptions
    from synthdata.ops.maintenance import weekly as run

    if not weekly:
        raise typer.BadParameter("say which checklist to run: --weekly", param_hint="--weekly")
    options = WeeklyOptions(
        backup_dir=backup_dir,
        older_than=window_option(older_than, "--older-than"),
        silence_horizon=window_option(silence_horizon, "--silence-horizon"),
    )
    report = run(settings_from_env(), _monitoring_dir(monitoring_dir), options)
    raise typer.Exit(emit(report, as_json=json_flag))
