"""Writing a file whole or not at all, with the permissions any program's file gets.

Outputs are written to a hidden `.part` file beside the target and renamed into
place only when complete, so a crash, a signal or a bad input never leaves a partial
file that looks finished. Standard library only: the ops commands use it too, and
they must start without pandas or Arrow.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from synthdata.engine.errors import InputError


def check_output_path(target: str | Path) -> Path:
    """Refuse an output whose directory does not exist (a typo in a path should not
    silently create a tree of directories), before any slow step."""
    final = Path(target)
    folder = final.parent
    if not folder.exists():
        raise InputError(f"output directory does not exist: {folder} (create it first)")
    if not folder.is_dir():
        raise InputError(f"output directory is not a directory: {folder}")
    if final.is_dir():
        raise InputError(f"output is a directory, not a file: {final}")
    return final


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it to `target` only on success.

    The file gets the permissions a plain `open(target, "w")` would give it (0666
    less the umask), not the 0600 of `tempfile.mkstemp`. Missing parent directories
    are created (the service's storage relies on it); the CLI refuses them first
    with `check_output_path`.
    """
    final = Path(target)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = create_beside(final)
    except OSError as exc:
        raise InputError(f"cannot write {final}: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def create_beside(final: Path) -> Path:
    """Create a new, empty, hidden `.part` file next to `final`.

    Created with mode 0666 so that the kernel applies the umask, as for any file a
    program writes; reading the umask instead (`os.umask` sets it to read it) would
    race with other threads creating files.
    """
    for _ in range(tempfile.TMP_MAX):
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        try:
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(final.parent))
