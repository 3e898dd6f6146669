"""The one place the CLI writes to the terminal.

Results (tables, JSON) go to stdout so they can be piped; progress, notes and errors go
to stderr. `--quiet` silences progress and notes, never results or errors. Every
command group renders through this module so that all of them honour `--quiet` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # rich.progress is loaded by the commands that show progress only
    from rich.progress import Progress, Task, TaskID

# Rich resolves sys.stdout / sys.stderr when it writes, not when it is created, so these
# module-level consoles follow redirections (pipes, test runners).
console = Console()
err_console = Console(stderr=True)


class _Settings:
    quiet = False


_settings = _Settings()


def set_quiet(quiet: bool) -> None:
    """Turn progress bars and notes off (`True`) or on for the rest of the command."""
    _settings.quiet = quiet


def is_quiet() -> bool:
    """Whether `--quiet` was given."""
    return _settings.quiet


def info(message: str) -> None:
    """Print a note on stderr unless quiet (e.g. where an output was written)."""
    if not _settings.quiet:
        # soft_wrap keeps a long path on one line instead of folding it at 80 columns.
        err_console.print(Text(message), soft_wrap=True)


def error(message: str, *, prefix: str = "error") -> None:
    """Print exactly one line, `<prefix>: <message>`, on stderr, even when quiet."""
    lines = str(message).strip().splitlines()
    text = Text.assemble((f"{prefix}: ", "bold red"), lines[0] if lines else prefix)
    err_console.print(text, soft_wrap=True)


def _count(task: Task) -> Text:
    """`done/total unit`, or nothing while the total is unknown (the spinner says enough)."""
    if task.total is None:
        return Text("")
    unit = task.fields.get("unit", "")
    return Text(f"{int(task.completed):,}/{int(task.total):,} {unit}".rstrip())


@contextmanager
def progress() -> Iterator[Progress]:
    """A rich progress display on stderr, disabled when quiet."""
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    class CountColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return _count(task)

    display = Progress(
        SpinnerColumn(finished_text="[green]done[/]"),
        TextColumn("{task.description}"),
        BarColumn(),
        CountColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=_settings.quiet,
    )
    display.start()
    try:
        yield display
    except BaseException:
        # On failure the bars vanish (and Progress.stop's trailing blank line is skipped),
        # so that the error is the only line left on stderr.
        display.live.transient = True
        display.live.stop()
        raise
    display.stop()


def tracker(display: Progress, task: TaskID) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback, as the SDK takes, that moves `task` forward."""

    def update(done: int, total: int) -> None:
        display.update(task, completed=done, total=total)

    return update
