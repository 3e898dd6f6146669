"""The `synthdata ops` group: one command per runbook script.

Each topic module (breaker, diagnose, mitigate, performance, security, maintenance)
registers its commands on `ops_app`; `synthdata.cli.ops` imports them all.
"""

from __future__ import annotations

from datetime import timedelta

import typer

ops_app = typer.Typer(
    help="The runbook's operational scripts, one command each (./scripts/NAME.sh calls them).",
    no_args_is_help=True,
)


def window_option(text: str, hint: str | None = None) -> timedelta:
    """A look-back window option (`--last`, `--period`...); a bad one is a usage error."""
    from synthdata.ops.timeparse import parse_window

    try:
        return parse_window(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None
