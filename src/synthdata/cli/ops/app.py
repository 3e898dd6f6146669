"""The `synthdata ops` group: one command per runbook script.

Each topic module (breaker, diagnose, mitigate, performance, security, maintenance)
registers its commands on `ops_app`; `synthdata.cli.ops` imports them all.
"""

from __future__ import annotations

import typer

ops_app = typer.Typer(
    help="The runbook's operational scripts, one command each (./scripts/NAME.sh calls them).",
    no_args_is_help=True,
)
