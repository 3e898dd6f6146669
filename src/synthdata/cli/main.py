"""The `synthdata` command: the root app, its global options, and its error policy.

Command groups live in their own modules under `cli/`: the engine's are attached at the
bottom of this file with `app.add_typer`, the others are named in `LAZY_COMMANDS` and
imported only when used, so that `synthdata --help` starts quickly.

Errors are turned into exit codes in ONE place, `SynthdataGroup.invoke`, which every
command of every group runs inside:

- a `SynthDataError` (bad input, bad option, damaged model) or an unreadable file:
  one line `error: ...` on stderr, exit code 2;
- anything else is a bug: one line `internal error: ...`, exit code 1, and the
  traceback too when SYNTHDATA_DEBUG=1.

Outputs are written atomically by the SDK, so a failed command leaves no partial file.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import Annotated, Any

import typer

from synthdata import __version__
from synthdata.cli import engine
from synthdata.cli.console import error, set_quiet
from synthdata.cli.lazy import LazyCommand, LazyGroup, attribute
from synthdata.cli.termination import TERMINATED_EXIT, Terminated, sigterm_as_interrupt
from synthdata.engine.errors import SynthDataError

USAGE_EXIT = 2
INTERNAL_EXIT = 1

# Failures that are the user's to fix (the input, an option, the file system), as opposed
# to bugs. The readers' own errors (`user_errors`) count too: the engine may let one slip.
USER_ERRORS: tuple[type[BaseException], ...] = (
    SynthDataError,
    UnicodeError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def user_errors() -> tuple[type[BaseException], ...]:
    """`USER_ERRORS`, and the errors of pyarrow's and pandas' readers if they are loaded
    (if not, none of theirs can have been raised; importing them costs a second)."""
    found = list(USER_ERRORS)
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        found += [pa.ArrowInvalid, pa.ArrowTypeError]
    if "pandas" in sys.modules:
        import pandas as pd

        found += [pd.errors.ParserError, pd.errors.EmptyDataError]
    return tuple(found)


def exit_code_for(exc: BaseException) -> int:
    """Report `exc` as one line on stderr and return the exit code it deserves."""
    if _debug():
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, SynthDataError):
        error(str(exc))
        return USAGE_EXIT
    caught = user_errors()
    if isinstance(exc, OSError) and isinstance(exc, caught):
        where = f": {exc.filename}" if exc.filename else ""
        error(f"{exc.strerror or exc}{where}")
        return USAGE_EXIT
    if isinstance(exc, caught):
        error(f"cannot read the data: {_first_line(exc)}")
        return USAGE_EXIT
    hint = "" if _debug() else " (set SYNTHDATA_DEBUG=1 for the traceback)"
    error(f"{type(exc).__name__}: {_first_line(exc)}{hint}", prefix="internal error")
    return INTERNAL_EXIT


@functools.cache
def _monitoring_app() -> typer.Typer:
    # Dashboards (cli/monitoring.py) and the local stack (cli/stack.py) share one group.
    from synthdata.cli import monitoring, stack

    monitoring.app.registered_commands.extend(stack.app.registered_commands)
    return monitoring.app


# The command groups after the engine's, listed by `synthdata --help` from this table and
# imported only when used (see cli/lazy.py): the service's pull in SQLAlchemy, pydantic and
# Alembic. Each line is what the root help says of the group; the group has its own help.
LAZY_COMMANDS = {
    "serve": LazyCommand(
        "Run the REST API (and, with the local queue, the job workers) until interrupted.",
        attribute("synthdata.cli.service", "serve"),
    ),
    "worker": LazyCommand(
        "Consume the job queue (run any number of these; stop with Ctrl-C or SIGTERM).",
        attribute("synthdata.cli.service", "worker"),
    ),
    "admin": LazyCommand(
        "Customers, API keys and migrations, in the server's database.",
        attribute("synthdata.cli.service", "admin_app"),
    ),
    "ops": LazyCommand(
        "The runbook's operational scripts, one command each (./scripts/NAME.sh calls them).",
        attribute("synthdata.cli.ops", "ops_app"),
    ),
    "incident": LazyCommand(
        "Incidents opened from Alertmanager: list, show, ack, resolve, note, tick, escalate.",
        attribute("synthdata.cli.incident", "app"),
    ),
    "incident-spool": LazyCommand(
        "Take Alertmanager's incident webhook durably and forward it to the API.",
        attribute("synthdata.cli.incident_spool", "spool"),
    ),
    "monitoring": LazyCommand(
        "Grafana dashboards and the local monitoring stack.", _monitoring_app
    ),
}


class SynthdataGroup(LazyGroup):
    """The root group: runs the chosen command and applies the error policy to it."""

    lazy_commands = LAZY_COMMANDS

    # `ctx` is the Context of the click that typer runs on (vendored since typer 0.26).
    def invoke(self, ctx: Any) -> Any:
        try:
            with sigterm_as_interrupt():  # SIGTERM cleans up like Ctrl-C
                return super().invoke(ctx)
        except Terminated:
            raise typer.Exit(TERMINATED_EXIT) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # the command line's own: usage errors, --help, --version, Ctrl-C
        except Exception as exc:
            raise typer.Exit(exit_code_for(exc)) from None


def _debug() -> bool:
    return os.environ.get("SYNTHDATA_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"synthdata {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="synthdata",
    cls=SynthdataGroup,
    help="Inferloop Synthetic Data: turn a real table into a faithful, privacy-safe one.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Errors are reported by SynthdataGroup; a pretty traceback with locals could print data.
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print no progress or notes (results only).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Inferloop Synthetic Data: turn a real table into a faithful, privacy-safe one."""
    set_quiet(quiet)


# -- command groups -----------------------------------------------------------------------
# generate, fit, sample, evaluate and schema sit at the top level (no group name); the
# other commands and groups follow them, from LAZY_COMMANDS.
app.add_typer(engine.app)
