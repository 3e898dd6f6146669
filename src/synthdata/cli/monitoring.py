"""`synthdata monitoring ...`: the runbook's dashboard scripts as commands.

    import-dashboard --file X.json | --id 7249 --title "..."   (./scripts/import-dashboard.sh)
    generate-dashboards [--template T] [--check]               (./scripts/generate-dashboards.sh)
    backup-dashboards --output F                               (./scripts/backup-dashboards.sh)

Grafana is reached at `SYNTHDATA_GRAFANA_URL` (the older `GRAFANA_URL` is still read,
with a deprecation line) with the API token `GRAFANA_TOKEN` (sent as a
Bearer token). The work is done by `synthdata.ops.dashboards`. The same group holds
the local monitoring stack's commands (up, status, down, build), from `cli/stack.py`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from synthdata.cli.console import console, error, info
from synthdata.ops.dashboards import (
    DASHBOARDS_DIR,
    DEFAULT_DATASOURCE_UID,
    Dashboard,
    GrafanaClient,
    GrafanaError,
    backup,
    build,
    drift,
    lint,
    load_template,
    read_dashboard_file,
    resolve_gnet_inputs,
    write_dashboards,
)
from synthdata.service.core.settings import deprecated_env_lines

app = typer.Typer(
    help="Grafana dashboards (import, generate, back up, lint) and the local monitoring "
    "stack (up, status, down, build: Prometheus, Alertmanager and exporters).",
    no_args_is_help=True,
)

DEFINITIONS = DASHBOARDS_DIR.parent / "dashboards.py"
UrlOption = Annotated[
    str | None,
    typer.Option("--grafana-url", envvar="SYNTHDATA_GRAFANA_URL", help="Grafana base URL."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="GRAFANA_TOKEN", help="Grafana API token.", show_default=False),
]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Grafana's refusals and unusable files: one line on stderr, exit code 2."""
    for line in deprecated_env_lines():
        error(line, prefix="warning")
    try:
        yield
    except (GrafanaError, OSError) as exc:
        error(str(exc))
        raise typer.Exit(2) from None


@app.command("import-dashboard")
def import_dashboard(
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Dashboard JSON (bare, {'dashboard': ...} or a backup)."),
    ] = None,
    gnet_id: Annotated[
        int | None, typer.Option("--id", help="grafana.com dashboard id, fetched through Grafana.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title to give the dashboard.")] = None,
    folder_uid: Annotated[str | None, typer.Option(help="Grafana folder uid.")] = None,
    datasource_uid: Annotated[
        str, typer.Option(help="Data source uid bound to a grafana.com dashboard's inputs.")
    ] = DEFAULT_DATASOURCE_UID,
    overwrite: Annotated[
        bool, typer.Option("--overwrite/--no-overwrite", help="Replace a dashboard of that uid.")
    ] = True,
    message: Annotated[str, typer.Option(help="Version history note.")] = "",
    grafana_url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Create or replace dashboards in Grafana (POST /api/dashboards/db)."""
    if bool(file) == (gnet_id is not None):
        error("give either --file or --id")
        raise typer.Exit(2)
    with _user_errors(), GrafanaClient.from_env(grafana_url, token) as client:
        if gnet_id is not None:
            boards = [resolve_gnet_inputs(client.gnet_dashboard(gnet_id), datasource_uid)]
        else:
            boards = [board for path in file or [] for board in read_dashboard_file(path)]
        if title:
            if len(boards) != 1:
                raise GrafanaError("--title applies to one dashboard; the file holds several")
            boards[0]["title"] = title
        for board in boards:
            reply = client.import_dashboard(
                board,
                folder_uid=folder_uid,
                overwrite=overwrite,
                message=message or "imported by synthdata monitoring import-dashboard",
            )
            console.print(
                f"imported {board['title']!r}: uid {reply.get('uid')}, "
                f"version {reply.get('version')}, {client.url}{reply.get('url', '')}"
            )


def _load_definitions(path: Path) -> tuple[Dashboard, ...]:
    spec = importlib.util.spec_from_file_location("synthdata_dashboard_definitions", path)
    if spec is None or spec.loader is None or not path.exists():
        raise GrafanaError(f"{path}: dashboard definitions not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dashboards: tuple[Dashboard, ...] = tuple(module.DASHBOARDS)
    return dashboards


@app.command("generate-dashboards")
def generate_dashboards(
    template: Annotated[
        Path | None,
        typer.Option(help="JSON service template; without it, the built-in dashboards."),
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="Service(s) to fill into the template.")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where to write (default: monitoring/grafana/dashboards, "
            "or its services/ folder for templates)."
        ),
    ] = None,
    definitions: Annotated[
        Path, typer.Option(help="Python file defining DASHBOARDS.")
    ] = DEFINITIONS,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the files are stale.")
    ] = False,
    push: Annotated[
        bool, typer.Option("--import", help="Also import the generated dashboards into Grafana.")
    ] = False,
    grafana_url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Build dashboards from Python definitions or a template and write their JSON."""
    with _user_errors():
        if template is not None:
            specs = tuple(load_template(template, service or ()))
            target = output_dir or DASHBOARDS_DIR / "services"
        else:
            specs = _load_definitions(definitions)
            target = output_dir or DASHBOARDS_DIR
        if check:
            stale = drift(specs, target)
            for name in stale:
                error(f"{target / name} is out of date: run generate-dashboards")
            if stale:
                raise typer.Exit(1)
            console.print(f"{len(specs)} dashboards up to date in {target}")
            return
        for path in write_dashboards(specs, target):
            info(f"wrote {path}")
        if push:
            _push([build(spec) for spec in specs], grafana_url, token)
        console.print(f"{len(specs)} dashboards generated in {target}")


def _push(boards: list[dict[str, Any]], url: str | None, token: str | None) -> None:
    with GrafanaClient.from_env(url, token) as client:
        for board in boards:
            reply = client.import_dashboard(board, message="generate-dashboards --import")
            info(f"imported {board['uid']} (version {reply.get('version')})")


@app.command("backup-dashboards")
def backup_dashboards(
    output: Annotated[Path, typer.Option(help="JSON file to write (every dashboard).")],
    grafana_url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Save every dashboard in Grafana to one file (restore with import-dashboard --file)."""
    with _user_errors(), GrafanaClient.from_env(grafana_url, token) as client:
        count = backup(client, output)
    console.print(f"backed up {count} dashboards to {output}")


@app.command("lint-dashboards")
def lint_dashboards(
    files: Annotated[list[Path] | None, typer.Argument(help="Dashboard JSON files.")] = None,
) -> None:
    """Check units, the $datasource variable and rate() windows of dashboard files."""
    paths = files or sorted(DASHBOARDS_DIR.glob("*.json"))
    failed = False
    with _user_errors():
        for path in paths:
            for board in read_dashboard_file(path):
                for problem in lint(board):
                    failed = True
                    error(f"{path}: {problem}")
    if failed:
        raise typer.Exit(1)
    console.print(f"{len(paths)} dashboard files ok")


if __name__ == "__main__":
    app()
