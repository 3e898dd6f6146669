"""Limits on a table's shape, checked before its rows are decoded where the file allows.

Bytes on disk say little about the cost of a table: a Parquet file of a few
hundred kilobytes can hold twenty million rows of one repeated value, and a 1 MB
CSV can have 100,000 columns. Readers check columns before any row, and rows from
the Parquet footer before reading (for CSV, as the count passes the limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.engine.errors import InputError

PARQUET_BATCH_ROWS = 65_536
TEXT_BYTES_GUESS = 32  # decoded bytes assumed per text value when sizing Parquet batches


class TableLimits:
    """The column and row limits of one read (None: no limit); errors name the table."""

    def __init__(self, label: str, max_columns: int | None, max_rows: int | None) -> None:
        self.label = label
        self.max_columns = max_columns
        self.max_rows = max_rows
        self.rows = 0

    def check_columns(self, columns: int) -> None:
        """Refuse a table of more than `max_columns` columns."""
        if self.max_columns is not None and columns > self.max_columns:
            raise InputError(
                f"{self.label} has {columns:,} columns, over the limit of "
                f"{self.max_columns:,} columns"
            )

    def check_rows(self, rows: int) -> None:
        """Refuse a table that says it has more than `max_rows` rows."""
        if self.max_rows is not None and rows > self.max_rows:
            raise InputError(
                f"{self.label} has {rows:,} rows, over the limit of {self.max_rows:,} rows"
            )

    def count_rows(self, rows: int) -> None:
        """Add rows just read; refuse as soon as the total passes `max_rows`."""
        self.rows += rows
        if self.max_rows is not None and self.rows > self.max_rows:
            raise InputError(f"{self.label} has more than {self.max_rows:,} rows, the limit")


def parquet_batches(file: Path, batch_bytes: int, limits: TableLimits) -> Iterator[pa.RecordBatch]:
    """A Parquet file's batches of about `batch_bytes` decoded, after checking its footer."""
    parquet = pq.ParquetFile(file)
    schema = parquet.schema_arrow
    limits.check_columns(len(schema))
    limits.check_rows(parquet.metadata.num_rows)
    rows = max(1, min(PARQUET_BATCH_ROWS, batch_bytes // row_bytes(schema)))
    yield from parquet.iter_batches(batch_size=rows)


def parquet_rows(file: Path) -> int:
    """The row count a Parquet file's footer gives (nothing decoded)."""
    return int(pq.ParquetFile(file).metadata.num_rows)


def row_bytes(schema: pa.Schema) -> int:
    """About how many bytes one decoded row of `schema` takes."""
    total = 0
    for field in schema:
        try:
            total += max(1, field.type.bit_width // 8)
        except ValueError:  # variable width: text, binary, nested
            total += TEXT_BYTES_GUESS
    return max(total, 1)
