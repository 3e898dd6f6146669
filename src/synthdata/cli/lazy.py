"""Commands that a group names and describes without importing them.

The service's command groups import SQLAlchemy, pydantic and Alembic, and the operator's
toolkit imports much of the service: over a second before anything is printed. A
`LazyGroup` lists such commands from a table (name, one-line help, where the command
lives) and imports a command's module only when the command line reaches it, to run it or
to show its own help. `synthdata --help` therefore imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A command known by its one-line help until it is used.

    `load` returns what to attach: a `typer.Typer` (a group, as with `add_typer`) or a
    command function (as with `app.command`).
    """

    help: str
    load: Callable[[], Any]

    def command(self, name: str) -> Any:
        """Import the command and build it as typer would have (a click command)."""
        target = self.load()
        command: Any
        if isinstance(target, typer.Typer):
            command = typer.main.get_group(target)
        else:
            holder = typer.Typer(add_completion=False)
            holder.command(name)(target)
            command = typer.main.get_command(holder)
        command.name = name
        return command


def attribute(module: str, name: str) -> Callable[[], Any]:
    """A `LazyCommand.load` that imports `module` and returns its attribute `name`."""
    return lambda: getattr(importlib.import_module(module), name)


class LazyGroup(TyperGroup):
    """A typer group that also offers the commands of `lazy_commands`, in that order,
    after its own."""

    lazy_commands: ClassVar[dict[str, LazyCommand]] = {}
    _listing = False  # while the group's help lists its commands

    def list_commands(self, ctx: Any) -> list[str]:
        own = super().list_commands(ctx)
        return [*own, *(name for name in self.lazy_commands if name not in own)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        lazy = self.lazy_commands.get(cmd_name)
        if command is not None or lazy is None:
            return command
        if self._listing:
            # The help shows a name and a line: no need to import the command for that.
            return TyperCommand(cmd_name, help=lazy.help)
        command = lazy.command(cmd_name)
        self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
