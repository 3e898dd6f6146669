"""The `synthdata` command: the root app, its global options, and its error policy.

Command groups live in their own modules under `cli/` and are attached at the bottom
of this file with `app.add_typer`. Errors are turned into exit codes in ONE place,
`SynthdataGroup.invoke`, which every command of every group runs inside:

- a `SynthDataError` (bad input, bad option, damaged model) or an unreadable file:
  one line `error: ...` on stderr, exit code 2;
- anything else is a bug: one line `internal error: ...`, exit code 1, and the
  traceback too when SYNTHDATA_DEBUG=1.

Outputs are written atomically by the SDK, so a failed command leaves no partial file.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import pandas as pd
import pyarrow as pa
import typer
from typer.core import TyperGroup

from synthdata import __version__
from synthdata.cli import engine
from synthdata.cli import incident as incident_cli
from synthdata.cli import monitoring as monitoring_cli
from synthdata.cli import service as service_cli
from synthdata.cli import stack as stack_cli
from synthdata.cli.console import error, set_quiet
from synthdata.cli.ops import ops_app
from synthdata.engine.errors import SynthDataError

USAGE_EXIT = 2
INTERNAL_EXIT = 1

# Failures that are the user's to fix (the input, an option, the file system), as opposed
# to bugs. The readers' own errors are listed because the engine may let one slip through.
USER_ERRORS: tuple[type[BaseException], ...] = (
    SynthDataError,
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    UnicodeError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def exit_code_for(exc: BaseException) -> int:
    """Report `exc` as one line on stderr and return the exit code it deserves."""
    if _debug():
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, SynthDataError):
        error(str(exc))
        return USAGE_EXIT
    if isinstance(exc, OSError) and isinstance(exc, USER_ERRORS):
        where = f": {exc.filename}" if exc.filename else ""
        error(f"{exc.strerror or exc}{where}")
        return USAGE_EXIT
    if isinstance(exc, USER_ERRORS):
        error(f"cannot read the data: {_first_line(exc)}")
        return USAGE_EXIT
    hint = "" if _debug() else " (set SYNTHDATA_DEBUG=1 for the traceback)"
    error(f"{type(exc).__name__}: {_first_line(exc)}{hint}", prefix="internal error")
    return INTERNAL_EXIT


class SynthdataGroup(TyperGroup):
    """The root group: runs the chosen command and applies the error policy to it."""

    # `ctx` is the Context of the click that typer runs on (vendored since typer 0.26).
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
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
# generate, fit, sample, evaluate and schema sit at the top level (no group name).
app.add_typer(engine.app)
# serve, worker, admin ... and ops ... (the service's commands).
app.command("serve")(service_cli.serve)
app.command("worker")(service_cli.worker)
app.add_typer(service_cli.admin_app, name="admin")
app.add_typer(ops_app, name="ops")
app.add_typer(incident_cli.app, name="incident")
# `synthdata monitoring ...`: dashboards (cli/monitoring.py) and the local stack (cli/stack.py)
# share one group.
monitoring_cli.app.registered_commands.extend(stack_cli.app.registered_commands)
app.add_typer(monitoring_cli.app, name="monitoring")
