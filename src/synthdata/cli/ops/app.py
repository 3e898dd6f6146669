"""The `synthdata ops` group: one command per runbook script.

Each topic module (breaker, diagnose, mitigate, performance, security, maintenance)
registers its commands on `ops_app`; `synthdata.cli.ops` imports them all. They import
what a command needs when it runs, so that the group's help starts quickly: the service
(SQLAlchemy, pydantic, Alembic) is reached through `settings_from_env` and
`run_in_session` below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from synthdata.service.core.settings import Settings

T = TypeVar("T")

ops_app = typer.Typer(
    help="The runbook's operational scripts, one command each (./scripts/NAME.sh calls them).",
    no_args_is_help=True,
)


def settings_from_env() -> Settings:
    """The service's settings, as `synthdata admin` reads them (a bad one exits 2)."""
    from synthdata.cli import service

    return service.settings_from_env()


def run_in_session(action: Callable[[Session], T]) -> T:
    """Run `action` in a committed session of the service's database (`cli.service`)."""
    from synthdata.cli import service

    return service.run_in_session(action)


def window_option(text: str, hint: str | None = None) -> timedelta:
    """A look-back window option (`--last`, `--period`...); a bad one is a usage error."""
    from synthdata.ops.timeparse import parse_window

    try:
        return parse_window(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None
