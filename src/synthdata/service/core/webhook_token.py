"""The incident webhook's bearer token, shared through one file under the service's home.

Alertmanager must present the token the API expects. A new user runs `make run` in one
shell and `synthdata monitoring up` in another, with SYNTHDATA_ALERT_WEBHOOK_TOKEN set
in neither; so, unless that variable is set, both ends use one file
(`SYNTHDATA_ALERT_WEBHOOK_TOKEN_FILE`, default `<SYNTHDATA_HOME>/secrets/alert-webhook-token`):
`monitoring up` creates it when it is missing (`ensure_token`) and the server reads it
on every webhook call (`read_token`), so the order the two are started in does not
matter, and a token replaced by hand is used without a restart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

TOKEN_BYTES = 24


def read_token(path: Path) -> str:
    """The token in `path` ("" when the file is missing, empty or unreadable)."""
    try:
        return path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return ""


def ensure_token(path: Path) -> str:
    """The token in `path`, created (random, mode 0600) when there is none.

    Two processes creating it at once agree: the token is written to a private
    temporary file first and hard-linked into place, which fails for the second one,
    who then reads the winner's token.
    """
    existing = read_token(path)
    if existing:
        return existing
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".token-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(TOKEN_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # appears whole, or not at all
        except FileExistsError:
            # Another process won (its file is complete: it was linked whole), or an
            # empty file was left by hand, which is replaced.
            if not read_token(path):
                os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return read_token(path)
