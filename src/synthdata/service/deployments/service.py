"""Recording process starts, and the digest that tells one configuration from another."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session, sessionmaker

from synthdata.service.core.db import session_scope
from synthdata.service.core.settings import Settings
from synthdata.service.deployments.models import Deployment

log = logging.getLogger("synthdata.service")

COMPONENTS = ("api", "worker")

# Settings whose value is a credential (or is one, like a Slack webhook URL): left out of
# the digest, so rotating a secret is not mistaken for a configuration change and the
# digest says nothing about the secret. `rate_limit_per_key` is a number, not a key.
_SECRET_NAME = re.compile(r"password|secret|token|webhook|(?:routing|api|private|access)_key")


def _without_credentials(value: Any) -> Any:
    """A URL with its user and password removed (other values unchanged)."""
    if not isinstance(value, str) or "://" not in value:
        return value
    parts = urlsplit(value)
    if parts.username is None and parts.password is None:
        return value
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings without secrets: secret fields dropped, credentials cut from URLs."""
    values = settings.model_dump(mode="json")
    return {
        name: _without_credentials(value)
        for name, value in sorted(values.items())
        if not _SECRET_NAME.search(name)
    }


def config_digest(settings: Settings) -> str:
    """sha256 of the non-secret settings: equal digests, equal configuration."""
    canonical = json.dumps(public_settings(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_start(session: Session, component: str, *, settings: Settings) -> Deployment:
    """Insert the row saying this process (`api` or `worker`) started, with what."""
    from synthdata import __version__

    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r} (known: {', '.join(COMPONENTS)})")
    deployment = Deployment(
        component=component,
        version=__version__,
        config_digest=config_digest(settings),
        host=socket.gethostname()[:200],
        pid=os.getpid(),
    )
    session.add(deployment)
    session.flush()
    return deployment


def record_process_start(
    sessions: sessionmaker[Session], component: str, *, settings: Settings
) -> None:
    """`record_start` in its own transaction; a failure is logged, never raised.

    A process whose database is down must still start (its /readyz says what is
    wrong), so not being able to write this row cannot stop it.
    """
    try:
        with session_scope(sessions) as session:
            record_start(session, component, settings=settings)
    except Exception as exc:
        log.warning("start of %s not recorded in the deployments table: %s", component, exc)
