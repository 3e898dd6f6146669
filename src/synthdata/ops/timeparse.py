"""Durations and timestamps as operators type them and as logs and APIs write them.

One grammar for every `--last`, `--older-than`, `--duration` and rule window:
one or more `<number><unit>` groups, Prometheus-style (`30s`, `10m`, `4h`, `7d`,
`2w`, `1y`, `500ms`, `1h30m`, `1.5m`), and one way to print a window back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

# Milliseconds per unit, largest first: the order the groups of one duration must keep.
_UNIT_MS = {
    "y": 31_536_000_000,
    "w": 604_800_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1000,
    "ms": 1,
}
_GROUP = re.compile(r"(\d+(?:\.\d+)?)(ms|[smhdwy])")
_WHOLE = re.compile(rf"(?:{_GROUP.pattern})+")
_FORM = "a number and a unit (ms, s, m, h, d, w or y), such as 30s, 10m, 4h, 7d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """`30s`, `10m`, `4h`, `7d`, `1h30m`, `500ms`... as a timedelta; ValueError otherwise.

    Units are lower case and, as in Prometheus, a duration's groups go from the
    largest unit to the smallest (`1h30m`, never `30m1h`); `M` is not months. The
    result is a whole number of milliseconds, and more than zero.
    """
    cleaned = text.strip()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a duration: {_FORM}")
    groups = _GROUP.findall(cleaned)
    sizes = [_UNIT_MS[unit] for _, unit in groups]
    if any(later >= earlier for earlier, later in pairwise(sizes)):
        raise ValueError(f"{text!r}: put the largest unit first, once each (1h30m, not 30m1h)")
    milliseconds = sum((Decimal(number) * _UNIT_MS[unit] for number, unit in groups), Decimal(0))
    if milliseconds != milliseconds.to_integral_value():
        raise ValueError(f"{text!r}: a duration is a whole number of milliseconds")
    if milliseconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    try:
        return timedelta(milliseconds=int(milliseconds))
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def parse_window(text: str) -> timedelta:
    """A look-back window (`--last`, `--period`, `--older-than`): whole seconds.

    Elasticsearch's date math (`now-30m`) has no milliseconds, and no check looks
    back less than a second.
    """
    window = parse_duration(text)
    if window % timedelta(seconds=1):
        raise ValueError(f"{text!r}: a window is a whole number of seconds, such as 30s or 4h")
    return window


def duration_text(window: timedelta) -> str:
    """The shortest exact `<n><unit>` for a window (Prometheus and Elasticsearch read it)."""
    milliseconds = window // timedelta(milliseconds=1)
    for unit in ("d", "h", "m", "s"):
        if milliseconds and milliseconds % _UNIT_MS[unit] == 0:
            return f"{milliseconds // _UNIT_MS[unit]}{unit}"
    return f"{milliseconds}ms"


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 time (`...Z`, an offset, or naive meaning UTC) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
