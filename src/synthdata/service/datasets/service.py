"""Storing, inspecting and deleting uploaded tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from synthdata.engine.errors import InputError
from synthdata.engine.io import arrow_to_pandas, iter_batches
from synthdata.engine.schema import TableSchema, infer_schema
from synthdata.engine.table_limits import parquet_rows

SCHEMA_SAMPLE_ROWS = 100_000
"""Rows read to infer the schema at upload (the model is fitted on the whole table)."""


def inspect_table(
    path: Path,
    fmt: str,
    *,
    name: str | None = None,
    max_columns: int | None = None,
    max_rows: int | None = None,
) -> tuple[int, TableSchema]:
    """Count the rows of a stored table and infer its schema from the first rows.

    Streams the file, so memory stays bounded whatever its size. A table over
    `max_columns` or `max_rows` is refused (`InputError`) before its rows are
    decoded where the format allows (Parquet's footer holds both counts, so a
    Parquet file is read only as far as the schema needs). Errors name the table
    as `name`: the customer's file name, not the stored one.
    """
    kept: list[pa.RecordBatch] = []
    sampled = 0
    rows = 0
    batches = iter_batches(
        path, fmt=fmt, max_bytes=None, name=name, max_columns=max_columns, max_rows=max_rows
    )
    for batch in batches:
        rows += batch.num_rows
        if sampled < SCHEMA_SAMPLE_ROWS and batch.num_rows:
            take = batch.slice(0, SCHEMA_SAMPLE_ROWS - sampled)
            kept.append(take)
            sampled += take.num_rows
        if fmt == "parquet" and sampled >= SCHEMA_SAMPLE_ROWS:
            rows = parquet_rows(path)  # the footer's count: no need to decode the rest
            break
    if rows == 0:
        raise InputError("the table has a header but no rows")
    frame = arrow_to_pandas(pa.Table.from_batches(kept))
    return rows, infer_schema(frame)
