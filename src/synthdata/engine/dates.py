"""Date-times written as text: finding their format, reading them, writing them back.

A text column of dates ("31/12/2020") is modelled as a date-time and written back
in its own format, so that synthetic values look like the real ones. The format is
a `strftime` pattern, plus one extension: ``%:z`` is an offset written with a colon
("+02:00"), as Python 3.12's ``strftime`` spells it.

When every value carries the same UTC offset, the offset is kept (stored as the
column's `timezone`, e.g. "+02:00"); mixed offsets are written in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import product

import numpy as np
import pandas as pd

_DATES = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")
_TIMES = (
    "",
    " %H:%M:%S",
    " %H:%M",
    " %H:%M:%S.%f",
    "T%H:%M:%S",
    "T%H:%M",
    "T%H:%M:%S.%f",
    " %I:%M:%S %p",
    " %I:%M %p",
)
_ZONES = ("", "Z", "%z")
# Times of day alone ("14:30") are date-times on 1 January 1900, written back as times.
_TIMES_OF_DAY = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M:%S %p", "%I:%M %p")
CANDIDATES = (
    *(
        date + time + zone
        for date, time, zone in product(_DATES, _TIMES, _ZONES)
        if time or not zone  # an offset only after a time of day
    ),
    *_TIMES_OF_DAY,
)
# A value that could be a date (digits, a separator, digits, the same separator) or a
# time of day (hours and minutes, maybe seconds and AM/PM).
_DATE_LIKE = re.compile(
    r"\s*(\d{1,4}([-/.])\d{1,2}\2\d{1,4}([ T].*)?|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s?[AaPp][Mm])?)"
)
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_SAMPLE = 200  # distinct values a candidate format is tried on before the whole column


def detect_format(values: pd.Series) -> str | None:
    """The first of `CANDIDATES` that reads every distinct value of `values`, or None.

    Day-first formats come before month-first ones, so "01/02/2020" alone is read as
    1 February; both write the same text back.
    """
    uniques = _uniques(values)
    head = _as_text(uniques[:_SAMPLE])
    if not len(head) or not all(_DATE_LIKE.fullmatch(v) for v in head):
        return None  # most text columns stop here, after one look at a few values
    distinct: np.ndarray | None = None
    for candidate in CANDIDATES:
        if not _reads_all(head, candidate):
            continue
        distinct = _as_text(uniques) if distinct is None else distinct
        if _reads_all(distinct, candidate):
            return _offset_style(candidate, distinct)
    return None


def unreadable(values: pd.Series, fmt: str) -> str | None:
    """The first value of `values` that `fmt` cannot read, or None when all can."""
    distinct = _distinct_text(values)
    parsed = pd.to_datetime(
        pd.Series(distinct), format=_parse_format(fmt), errors="coerce", utc=True
    )
    bad = distinct[parsed.isna().to_numpy()]
    return str(bad[0]) if len(bad) else None


def fixed_offset(values: pd.Series, fmt: str) -> str | None:
    """The one UTC offset all values are written with ("+02:00"), "UTC" if mixed, or None.

    None means the format has no offset: the values are naive date-times.
    """
    if "%z" not in fmt and "%:z" not in fmt:
        return None
    offsets = {_OFFSET.search(v) for v in _distinct_text(values)[:10_000]}
    texts = {m.group(1) for m in offsets if m is not None}
    if len(texts) != 1:
        return "UTC"
    text = texts.pop()
    if text == "Z":
        return "UTC"
    return f"{text[:3]}:{text[-2:]}"


def parse(values: pd.Series, fmt: str) -> pd.Series:
    """Read text `values` with `fmt`: naive, or UTC when the format has an offset.

    Each distinct value is read once (columns are often dictionary-encoded).
    """
    aware = "%z" in fmt or "%:z" in fmt
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories.astype(str)).str.strip()
        stamps = pd.to_datetime(categories, format=_parse_format(fmt), errors="raise", utc=aware)
        return pd.Series(stamps.to_numpy()[values.cat.codes.to_numpy()], index=values.index)
    text = values.astype(str).str.strip()
    return pd.to_datetime(text, format=_parse_format(fmt), errors="raise", utc=aware)


def write(stamps: pd.Series, fmt: str, timezone: str | None) -> pd.Series:
    """Write date-times as text in `fmt` (nulls stay null); aware ones in `timezone`."""
    if timezone is not None and getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(tzinfo(timezone))
    text = stamps.dt.strftime(_parse_format(fmt))
    if fmt.endswith("%:z"):
        text = text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
    return text.astype(object).where(stamps.notna(), None)


def tzinfo(name: str) -> str | dt.tzinfo:
    """A timezone pandas accepts: an IANA name as is, "+02:00" as a fixed offset."""
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{2}):?(\d{2})", name)
    if match is None:
        return name
    sign = 1 if match.group(1) == "+" else -1
    offset = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return dt.timezone(sign * offset)


_UNITS = [
    ("D", 86_400 * 10**9),
    ("h", 3_600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
]


def coarsest_unit(stamps: pd.Series) -> str:
    """The coarsest unit ("D", "h", ... "ns") that every date-time is a whole multiple of."""
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = stamps.dropna().astype("datetime64[ns]").astype("int64").to_numpy()[:100_000]
    for unit, size in _UNITS:
        if np.all(nanos % size == 0):
            return unit
    return "ns"


def _parse_format(fmt: str) -> str:
    return fmt.replace("%:z", "%z")


def _offset_style(fmt: str, distinct: np.ndarray) -> str:
    """`fmt` with ``%:z`` when the offsets are written with a colon."""
    if not fmt.endswith("%z"):
        return fmt
    found = _OFFSET.search(str(distinct[0]))
    if found is not None and ":" in found.group(1):
        return fmt[:-2] + "%:z"
    return fmt


def _reads_all(values: np.ndarray, fmt: str) -> bool:
    aware = "%z" in fmt
    try:
        parsed = pd.to_datetime(pd.Series(values), format=fmt, errors="coerce", utc=aware)
    except (ValueError, TypeError):
        return False
    return not bool(parsed.isna().any())


def _distinct_text(values: pd.Series) -> np.ndarray:
    return _as_text(_uniques(values))


def _uniques(values: pd.Series) -> np.ndarray:
    present = values.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):
        return np.asarray(present.cat.remove_unused_categories().cat.categories)
    return np.asarray(present.unique())


def _as_text(values: np.ndarray) -> np.ndarray:
    return np.asarray([str(v).strip() for v in values], dtype=object)
