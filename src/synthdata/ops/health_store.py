"""`health-check`'s "object_store" row: the artifact store this configuration names,
probed the way the readiness probe and the lease reaper probe it.

The API and the workers share nothing but PostgreSQL, Redis and the store, so an
operator asks the store itself from where the service runs: the same settings (and
mounted credential files) open the same store through `open_store`, and its
`check()` writes, reads and deletes a probe object. The row names the backend and
`describe()` (bucket, prefix and endpoint, or the directory), never a credential; the
check runs on a daemon thread with a deadline, so a store that hangs costs the
command `STORE_CHECK_SECONDS` and never keeps it from exiting.
"""

from __future__ import annotations

import threading

from synthdata.artifacts import ArtifactStore, open_store, store_config
from synthdata.ops.diagnose import reason
from synthdata.ops.report import Report
from synthdata.service.core.settings import Settings

NAME = "object_store"
STORE_CHECK_SECONDS = 15.0
"""Above the S3 probe's own limits (5 s to connect, 5 s of retries per request), so
that a slow store reports its own error rather than our deadline."""


class _Probe(threading.Thread):
    """`store.check()` on a daemon thread: the command may leave it behind when it hangs."""

    def __init__(self, store: ArtifactStore) -> None:
        super().__init__(name="health-object-store", daemon=True)
        self._store = store
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._store.check()
        except Exception as exc:  # reported, whatever the backend raised
            self.error = exc


def check_object_store(
    report: Report, settings: Settings, *, timeout: float = STORE_CHECK_SECONDS
) -> None:
    """ok when a probe object was written, read back and deleted within `timeout`;
    fail when the store cannot be opened, refuses, or does not answer in time."""
    secrets = _credentials(settings)
    try:
        store = open_store(store_config(settings))
    except Exception as exc:  # a configuration the backend refuses (bucket, endpoint)
        detail = f"cannot open the {settings.store} store: {reason(exc)}"
        report.add(NAME, "fail", _redact(detail, secrets), backend=settings.store)
        return
    where = _redact(store.describe(), secrets)
    probe = _Probe(store)
    probe.start()
    probe.join(timeout)
    if probe.is_alive():
        detail = f"{where}: no answer within {timeout:g} s (probe write, read, delete)"
    elif probe.error is not None:
        failure = _failure(probe.error)
        detail = failure if where in failure else f"{where}: {failure}"
    else:
        report.add(
            NAME,
            "ok",
            f"{where}: probe written, read and deleted",
            backend=store.backend,
            store=where,
        )
        return
    report.add(NAME, "fail", _redact(detail, secrets), backend=store.backend, store=where)


def _failure(exc: BaseException) -> str:
    """The error and, when it wraps one, the first line of its cause (the backend's own
    words: connection refused, no such bucket, access denied)."""
    text = reason(exc)
    cause = exc.__cause__
    if cause is not None:
        text += f" ({reason(cause)})"
    return text


def _credentials(settings: Settings) -> list[str]:
    """Every credential value the settings hold (resolved from files or AWS_* too)."""
    found = [settings.s3_access_key_id or ""]
    for secret in (settings.s3_secret_access_key, settings.s3_session_token):
        if secret is not None:
            found.append(secret.get_secret_value())
    return [value for value in found if value]


def _redact(text: str, secrets: list[str]) -> str:
    """`text` with any credential value blanked: backend errors may quote what they sent."""
    for value in secrets:
        text = text.replace(value, "***")
    return text
