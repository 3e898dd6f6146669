"""Durations and timestamps as operators type them and as logs and APIs write them.

One grammar for every `--last`, `--older-than`, `--duration` and rule window:
one or more `<number><unit>` groups, Prometheus-style (`30s`, `10m`, `4h`, `7d`,
`2w`, `1y`, `500ms`, `1h30m`, `1.5m`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86_400,
    "w": 604_800,
    "y": 31_536_000,
}
_GROUP = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(rf"(?:{_GROUP.pattern})+")


def parse_duration(text: str) -> timedelta:
    """`30s`, `10m`, `4h`, `7d`, `1h30m`, `500ms`... as a timedelta; ValueError otherwise."""
    cleaned = text.strip().lower()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(
            f"{text!r} is not a duration: a number and a unit (ms, s, m, h, d, w or y),"
            " such as 30s, 10m, 4h, 7d or 1h30m"
        )
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _GROUP.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    return timedelta(seconds=seconds)


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 time (`...Z`, an offset, or naive meaning UTC) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
