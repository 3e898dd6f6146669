"""A durable spool of Alertmanager notifications, kept apart from the API and its database.

The incident record lives in the database the API monitors: with the API or the
database down, a notification has nowhere to go. Alertmanager retries it only while
the alert group lasts in its memory, and when the alert resolved meanwhile it sends
the resolution alone, of an incident never opened. `synthdata incident-spool` (see
`spool_server`) is the webhook Alertmanager posts to instead: it writes each
notification here before it answers 200, then forwards them, in the order received,
to the API's webhook, retrying until the API takes each one.

Stored in SQLite (the standard library's), with `synchronous=FULL`: a notification
acknowledged to Alertmanager survives a crash of the spool or of its machine.

The spool also keeps the response clock while the API cannot: a group whose
notifications are all still undelivered past the acknowledgement deadline of its
alerts (counted from their `startsAt`, `policy.ack_due_at`) is escalated by the spool
(`overdue_groups`, `record_escalation`), and the API is told with the next delivery
of that group (`SpoolEscalation`), so that it does not page a second time.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from synthdata.service.incidents import policy
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook

# The header a forwarded notification carries when the spool escalated its group.
ESCALATION_HEADER = "X-Synthdata-Spool-Escalation"
# Delivered notifications are kept this long: a group's deliveries tell whether the
# API has the episode (and owns its escalation).
KEEP_DELIVERED = timedelta(days=2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    group_key TEXT NOT NULL,
    body TEXT NOT NULL,
    delivered_at TEXT,
    rejected TEXT
);
CREATE INDEX IF NOT EXISTS ix_notifications_group ON notifications (group_key, id);
CREATE TABLE IF NOT EXISTS escalations (
    group_key TEXT NOT NULL,
    episode_start TEXT NOT NULL,
    escalated_at TEXT NOT NULL,
    body TEXT NOT NULL,
    reported_at TEXT,
    PRIMARY KEY (group_key, episode_start)
);
"""


class SpoolEscalation(BaseModel):
    """An escalation the spool sent (or skipped: target not configured) for a group."""

    at: datetime
    target: str = Field(max_length=20)
    outcome: Literal["sent", "skipped"]
    dedup_key: str = Field(max_length=100)
    episode_start: datetime


@dataclass(frozen=True)
class Pending:
    """One notification not yet taken by the API."""

    id: int
    group_key: str
    body: str


@dataclass(frozen=True)
class Overdue:
    """A group whose alerts' acknowledgement deadline passed before the API had them."""

    group_key: str
    payload: AlertmanagerWebhook
    severity: policy.Severity
    episode_start: datetime
    ack_due_at: datetime

    @property
    def reference(self) -> str:
        """Names the episode until the API gives it an incident id (stable per episode)."""
        seed = f"{self.group_key}\n{self.episode_start.isoformat()}".encode()
        return "spool-" + hashlib.sha256(seed).hexdigest()[:24]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class Spool:
    """The spool file; safe to share between the receiver's and the forwarder's threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, payload: AlertmanagerWebhook, body: str, now: datetime) -> int:
        """Store one notification durably; its id (the order it is forwarded in)."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO notifications (received_at, group_key, body) VALUES (?, ?, ?)",
                (_iso(now), payload.groupKey, body),
            )
        return int(cursor.lastrowid or 0)

    def pending(self, limit: int = 100) -> list[Pending]:
        """The oldest notifications neither delivered nor rejected, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, group_key, body FROM notifications"
                " WHERE delivered_at IS NULL AND rejected IS NULL ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [Pending(*row) for row in rows]

    def pending_count(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM notifications WHERE delivered_at IS NULL AND rejected IS NULL"
            ).fetchone()
        return int(row[0])

    def delivered(self, notification_id: int, now: datetime) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE notifications SET delivered_at = ? WHERE id = ?",
                (_iso(now), notification_id),
            )
            # Old deliveries are only needed to tell whether the API has an episode.
            self._db.execute(
                "DELETE FROM notifications WHERE (delivered_at IS NOT NULL OR rejected IS NOT NULL)"
                " AND received_at < ?",
                (_iso(now - KEEP_DELIVERED),),
            )

    def rejected(self, notification_id: int, reason: str) -> None:
        """The API refused it for good (a payload it will never take): stop retrying it."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE notifications SET rejected = ? WHERE id = ?",
                (reason[:500] or "rejected", notification_id),
            )

    # -- the response clock while the API cannot keep it ----------------------------------
    def overdue_groups(self, now: datetime) -> list[Overdue]:
        """Groups to escalate: latest undelivered notification firing, its deadline
        passed, nothing of the episode delivered to the API, not escalated yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT group_key, body FROM notifications WHERE id IN ("
                " SELECT max(id) FROM notifications"
                " WHERE delivered_at IS NULL AND rejected IS NULL GROUP BY group_key)"
            ).fetchall()
        found = []
        for group_key, body in rows:
            overdue = _overdue(group_key, AlertmanagerWebhook.model_validate_json(body), now)
            if overdue is not None and not self._api_has(overdue):
                found.append(overdue)
        return found

    def _api_has(self, overdue: Overdue) -> bool:
        start = _iso(overdue.episode_start)
        with self._lock:
            delivered = self._db.execute(
                "SELECT 1 FROM notifications WHERE group_key = ? AND delivered_at IS NOT NULL"
                " AND received_at >= ? LIMIT 1",
                (overdue.group_key, start),
            ).fetchone()
            escalated = self._db.execute(
                "SELECT 1 FROM escalations WHERE group_key = ? AND episode_start = ?",
                (overdue.group_key, start),
            ).fetchone()
        return delivered is not None or escalated is not None

    def record_escalation(self, overdue: Overdue, escalation: SpoolEscalation) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO escalations"
                " (group_key, episode_start, escalated_at, body) VALUES (?, ?, ?, ?)",
                (
                    overdue.group_key,
                    _iso(overdue.episode_start),
                    _iso(escalation.at),
                    escalation.model_dump_json(),
                ),
            )

    def unreported_escalation(self, group_key: str) -> SpoolEscalation | None:
        """An escalation of the group the API has not been told of yet."""
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM escalations WHERE group_key = ? AND reported_at IS NULL"
                " ORDER BY episode_start DESC LIMIT 1",
                (group_key,),
            ).fetchone()
        return SpoolEscalation.model_validate_json(row[0]) if row else None

    def escalation_reported(self, group_key: str, now: datetime) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE escalations SET reported_at = ?"
                " WHERE group_key = ? AND reported_at IS NULL",
                (_iso(now), group_key),
            )


def _overdue(group_key: str, payload: AlertmanagerWebhook, now: datetime) -> Overdue | None:
    firing = [a for a in payload.alerts if a.status == "firing"]
    if not firing:
        return None  # over before anyone had to answer it
    severity = policy.worst(policy.alert_severity(a.labels) for a in firing)
    start = min(a.startsAt or now for a in firing)
    due = policy.ack_due_at(severity, start)
    if due > now:
        return None
    return Overdue(group_key, payload, severity, start, due)
