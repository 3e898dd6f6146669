"""The layout of a CSV file, read from its first lines: delimiter and text columns.

Arrow infers each column's type from its text and, for numbers and date-times,
forgets how the values were written: "01234" becomes 1234 and
"2024-01-01T10:00:00+02:00" becomes a UTC instant. Columns like these are read as
text instead, and schema inference learns their written form, so that synthetic
values are written the same way.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1024**2  # the head of a CSV that decides its delimiter and text columns
_SNIFF_ROWS = 5_000  # rows whose values are looked at
_DELIMITER_ROWS = 50
# Numbers whose leading zeros are part of the value (ZIP codes, account numbers).
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]+")
# Date-times Arrow would parse, but write back in another form: Arrow writes
# "2024-01-01 10:00:00" (and "Z" for UTC), losing a "T", missing seconds or an offset.
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
_ARROW_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?")
# Times of day likewise: Arrow writes "14:30" back as "14:30:00".
_TIME_TEXT = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")
_ARROW_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(\.\d+)?")


@dataclass
class CsvLayout:
    """What the head of a CSV file says about reading all of it."""

    delimiter: str
    header: list[str]
    text_columns: set[str]  # read as text so that their written form survives


def csv_layout(head: str, *, text_columns: Collection[str] = ()) -> CsvLayout:
    """The delimiter and the columns to read as text, from the first lines of a CSV.

    The delimiter is the one of `DELIMITERS` that splits the lines into the same
    number of fields, most fields winning (a comma when nothing splits). Columns in
    `text_columns` (the caller's: e.g. forced categorical) are read as text too.
    """
    complete = head[: head.rfind("\n") + 1] or head  # the last line may be cut short
    delimiter, best = ",", 1
    for candidate in DELIMITERS:
        widths = [len(row) for row in _rows(complete, candidate, _DELIMITER_ROWS)]
        steady = bool(widths) and widths.count(widths[0]) >= 0.9 * len(widths)
        if steady and widths[0] > best:
            delimiter, best = candidate, widths[0]
    rows = _rows(complete, delimiter, _SNIFF_ROWS)
    header = rows[0] if rows else []
    textual = {name for name in text_columns if name in header}
    for position, name in enumerate(header):
        values = (row[position] for row in rows[1:] if position < len(row) and row[position])
        if any(_keeps_text(value) for value in values):
            textual.add(name)
    return CsvLayout(delimiter, header, textual)


def _rows(text: str, delimiter: str, limit: int) -> list[list[str]]:
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        return [row for _, row in zip(range(limit), reader, strict=False) if row]
    except csv.Error:
        return []


def _keeps_text(value: str) -> bool:
    """Whether Arrow would read `value` as a number or date-time written differently."""
    value = value.strip()
    if _LEADING_ZERO.fullmatch(value):
        return True
    if _TIME_TEXT.fullmatch(value):
        return not _ARROW_TIME.fullmatch(value)
    return bool(_DATETIME_TEXT.fullmatch(value)) and not _ARROW_DATETIME.fullmatch(value)
