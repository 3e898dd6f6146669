"""Who runs a command, as incident timelines and the audit log record it.

`--by NAME` names the operator; without it, the operating-system user running the
CLI (`getpass.getuser()`: LOGNAME, USER, LNAME, USERNAME, then the password
database), so that two people working one incident from one host are told apart.
The audit log's `source` says it came from the CLI, and on which host (over HTTP the
source is the caller's address and the actor its API key).
"""

from __future__ import annotations

import getpass
import socket
from typing import Annotated

import typer

# When the OS names nobody (a container user without a passwd entry or LOGNAME).
UNKNOWN_USER = "cli"
MAX_LENGTH = 100  # the actor columns (timeline, audit log, acknowledged_by ...)


def _check(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > MAX_LENGTH or not name.isprintable():
        raise typer.BadParameter(f"give 1 to {MAX_LENGTH} printable characters")
    return name


ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        callback=_check,
        help="Who is acting, for the timeline and audit log (default: your OS user name).",
    ),
]


def operator(by: str | None) -> str:
    """`--by` if given, else the operating-system user."""
    if by:
        return by
    try:
        return getpass.getuser()[:MAX_LENGTH] or UNKNOWN_USER
    except (OSError, KeyError):  # no login name and no passwd entry
        return UNKNOWN_USER


def cli_source() -> str:
    """The audit log's `source` for a CLI action: the CLI and the host it ran on."""
    return f"cli@{socket.gethostname()}"[:100]
