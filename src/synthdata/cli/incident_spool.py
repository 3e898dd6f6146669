"""`synthdata incident-spool`: keep Alertmanager's notifications while the API cannot.

Point Alertmanager's incident webhook at this process instead of the API (same path,
same bearer token, `SYNTHDATA_ALERT_WEBHOOK_TOKEN`): it stores every notification
durably under the data home and forwards it to the API, retrying while the API or
its database is down, and escalates (PagerDuty/Slack, the API's settings) a group
whose deadline passes before the API could record it. See
`synthdata.service.incidents.spool_server`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from synthdata.cli.console import info
from synthdata.cli.service import settings_from_env

DEFAULT_PORT = 9095


def spool(
    api_url: Annotated[
        str,
        typer.Option(
            envvar="SYNTHDATA_INCIDENT_SPOOL_API_URL",
            help="The API the notifications are forwarded to.",
        ),
    ] = "http://127.0.0.1:8000",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            min=1, max=65535, envvar="SYNTHDATA_INCIDENT_SPOOL_PORT", help="Port to listen on."
        ),
    ] = DEFAULT_PORT,
    spool_file: Annotated[
        Path | None,
        typer.Option(
            envvar="SYNTHDATA_INCIDENT_SPOOL_FILE",
            help="The spool (SQLite); default SYNTHDATA_HOME/incident-spool.sqlite3.",
        ),
    ] = None,
) -> None:
    """Receive Alertmanager's incident webhook durably and forward it to the API."""
    from synthdata.service.incidents.spool import Spool
    from synthdata.service.incidents.spool_server import Forwarder, make_server

    settings = settings_from_env()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    path = spool_file or settings.home / "incident-spool.sqlite3"
    store = Spool(path)
    forwarder = Forwarder(store, api_url, settings)
    server = make_server(host, port, store, forwarder)
    info(f"incident spool on http://{host}:{port} -> {api_url}; spool {path}")
    if not settings.alert_webhook_token:
        info("SYNTHDATA_ALERT_WEBHOOK_TOKEN is not set: notifications are refused (503)")
    forwarder.start()
    try:
        server.serve_forever()  # until Ctrl-C or SIGTERM (see cli/termination.py)
    finally:
        server.server_close()
        forwarder.stop()
        store.close()
