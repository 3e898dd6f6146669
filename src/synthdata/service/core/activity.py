"""Which API keys are in use: the source of the `synthdata_active_users` gauge.

Requests only note a key in memory; a background thread writes each key's
`last_used_at` to the database at most once a minute, outside any request's
transaction (SQLite allows one writer at a time). The gauge counts the keys used
in the last five minutes at scrape time, so every replica reports the same number.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.customers.models import ApiKey

ACTIVE_WINDOW = timedelta(minutes=5)
WRITE_EVERY_SECONDS = 60.0
FLUSH_EVERY_SECONDS = 2.0

log = logging.getLogger("synthdata.service")


class Activity:
    """Records key use (throttled, written in the background) and counts active keys."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._noted: dict[str, float] = {}
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def seen(self, key_id: str) -> None:
        """Note that `key_id` made a request now (cheap: no I/O on the request path)."""
        now = time.monotonic()
        with self._lock:
            if now - self._noted.get(key_id, -WRITE_EVERY_SECONDS) < WRITE_EVERY_SECONDS:
                return
            self._noted[key_id] = now
            self._pending[key_id] = utcnow()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="key-activity", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Write the noted uses to the database now."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with session_scope(self.sessions) as session:
                for key_id, moment in pending.items():
                    session.execute(
                        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=moment)
                    )
        except Exception:  # a missed note only makes the gauge lag; never fail over it
            log.warning("could not record API key activity", exc_info=True)

    def active_keys(self) -> int:
        """Distinct keys used in the last five minutes."""
        self.flush()
        since = utcnow() - ACTIVE_WINDOW
        with session_scope(self.sessions) as session:
            query = select(func.count()).select_from(ApiKey).where(ApiKey.last_used_at >= since)
            return int(session.scalar(query) or 0)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_EVERY_SECONDS)
            self._wake.clear()
            self.flush()
