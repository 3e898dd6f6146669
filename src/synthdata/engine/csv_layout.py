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
import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from synthdata.engine.errors import InputError

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


# Appended after the file's end when looking for an unterminated quote: it lands inside
# the last value only if a quote is still open there. Private-use characters, so no
# real table contains it.
_END_MARK = "\ue000synthdata-end-of-file\ue000"


def swallowed_tail(last_batch: pa.RecordBatch, file: Path) -> bool:
    """Whether the end of a CSV file may sit inside an unterminated quoted value.

    Arrow accepts a quote left open at the end of the file, and the value then runs
    to the end: every later line becomes part of one value of the last row. Read
    without `newlines_in_values`, a line break in a value of the last row is the
    sign of it, as is an odd number of quotes on the file's last line. Either only
    makes the file suspect: `unterminated_quote_line` decides.
    """
    if _last_line(file).count(b'"') % 2:
        return True
    if not last_batch.num_rows:
        return False
    for column in last_batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            value = column[-1].as_py()
            if value and ("\n" in value or "\r" in value):
                return True
    return False


def refuse_open_quote(file: Path, delimiter: str, label: str) -> None:
    """Raise `InputError` naming the line where a never-closed quoted value starts."""
    line = unterminated_quote_line(file, delimiter)
    if line is not None:
        raise InputError(
            f"cannot read {label}: the quoted value that starts on line {line} is never "
            "closed (a missing closing quote)"
        )


def unterminated_quote_line(path: Path, delimiter: str) -> int | None:
    """The line on which a quoted value starts that no quote closes, or None.

    Reads the file with Python's CSV reader (the same quoting rules as Arrow's:
    a quote opens a value only at its start, a doubled quote stands for one), which
    tells where each row starts; a few seconds per gigabyte, so only for suspect files.
    """
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(itertools.chain(handle, ["\n", _END_MARK]), delimiter=delimiter)
        start = 1
        try:
            for row in reader:
                if row and row != [_END_MARK] and row[-1].endswith(_END_MARK):
                    return start
                start = reader.line_num + 1
        except csv.Error:  # a value past the reader's field size limit: a quote left open
            return start
    return None


def _last_line(file: Path) -> bytes:
    """The file's last line without its line break (at most its last 64 KiB)."""
    with file.open("rb") as handle:
        handle.seek(max(0, file.stat().st_size - 64 * 1024))
        tail = handle.read().rstrip(b"\r\n")
    return tail[tail.rfind(b"\n") + 1 :]
