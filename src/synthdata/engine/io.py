"""Reading user tables with one-line errors, and writing outputs atomically.

CSV files are read with the delimiter found in their first lines, and columns whose
written form Arrow would change are read as text (see `csv_layout`).

Outputs are written to a hidden temporary file beside the target and renamed into
place only when complete, so a crash or a bad input never leaves a partial file
that looks finished.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synthdata.engine.atomic import atomic_path as atomic_path
from synthdata.engine.atomic import check_output_path as check_output_path
from synthdata.engine.atomic import create_beside as create_beside
from synthdata.engine.csv_layout import SNIFF_BYTES, csv_layout, refuse_open_quote, swallowed_tail
from synthdata.engine.defaults import DEFAULT_MAX_INPUT_BYTES as DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.errors import InputError
from synthdata.engine.table_limits import TableLimits, parquet_batches
from synthdata.engine.threads import encoder_threads, overlap_stages

FORMATS = ("csv", "parquet")


def detect_format(path: Path, explicit: str | None = None) -> str:
    """Return "csv" or "parquet" from `explicit` or the file extension."""
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    if fmt in ("pq", "parq"):
        fmt = "parquet"
    if fmt in ("tsv", "txt", ""):
        fmt = "csv"
    if fmt not in FORMATS:
        raise InputError(f"unsupported file format {fmt!r} (use .csv or .parquet)")
    return fmt


def check_input_file(path: str | Path, max_bytes: int | None = DEFAULT_MAX_INPUT_BYTES) -> Path:
    """Check that `path` is a readable, non-empty file within the size limit."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"input file not found: {file}")
    if not file.is_file():
        raise InputError(f"input is not a file: {file}")
    size = file.stat().st_size
    if size == 0:
        raise InputError(f"input file is empty: {file}")
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            f"input file is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            "(raise it with --max-input-bytes or SYNTHDATA_MAX_INPUT_BYTES)"
        )
    return file


def iter_batches(
    path: str | Path,
    *,
    fmt: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    batch_bytes: int = 16 * 1024**2,
    text_columns: Collection[str] = (),
    name: str | None = None,
    max_columns: int | None = None,
    max_rows: int | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a CSV or Parquet file as Arrow record batches (bounded memory).

    CSV columns named in `text_columns` are read as text, not parsed as numbers or
    date-times (Parquet columns keep their stored types). A table wider than
    `max_columns` is refused before any row is read; one longer than `max_rows` before
    reading (Parquet: its footer says) or as soon as the count passes (CSV). Errors
    name the file as `name` (e.g. the name it was uploaded under), by default its own.
    """
    file = check_input_file(path, max_bytes)
    kind = detect_format(file, fmt)
    label = name or file.name
    limits = TableLimits(label, max_columns, max_rows)
    delimiter = ","
    try:
        if kind == "parquet":
            yield from parquet_batches(file, batch_bytes, limits)
            return
        head = _check_text(file, label)
        layout = csv_layout(head, text_columns=text_columns)
        delimiter = layout.delimiter
        limits.check_columns(len(layout.header))
        reader = pacsv.open_csv(
            file,
            read_options=pacsv.ReadOptions(block_size=batch_bytes),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True,
                column_types={name: pa.string() for name in layout.text_columns},
            ),
        )
        limits.check_columns(len(reader.schema))
        last = pa.RecordBatch.from_pylist([], schema=reader.schema)
        for batch in reader:
            limits.count_rows(batch.num_rows)
            last = batch
            yield batch
        if swallowed_tail(last, file):
            refuse_open_quote(file, delimiter, label)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        if kind == "csv" and "out of sync with chunker" in str(exc):
            # A value with line breaks in a large file: most often a quote left open.
            refuse_open_quote(file, delimiter, label)
        raise InputError(f"cannot read {label}: {_first_line(exc)}") from None


def read_table(
    path: str | Path,
    *,
    fmt: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    text_columns: Collection[str] = (),
) -> pd.DataFrame:
    """Read a whole CSV or Parquet file into a DataFrame, with one-line errors."""
    batches = list(iter_batches(path, fmt=fmt, max_bytes=max_bytes, text_columns=text_columns))
    if not batches:
        raise InputError(f"input file has a header but no rows: {Path(path)}")
    table = pa.Table.from_batches(batches)
    if table.num_rows == 0:
        raise InputError(f"input file has a header but no rows: {Path(path)}")
    return arrow_to_pandas(table)


def arrow_to_pandas(table: pa.Table, *, text_as_categories: bool = False) -> pd.DataFrame:
    """Convert to pandas; `text_as_categories` keeps text dictionary-encoded (fast, small)."""
    return table.to_pandas(
        split_blocks=True,
        self_destruct=True,
        strings_to_categorical=text_as_categories,
        date_as_object=False,  # date-only columns are dates, not text
    )


def _check_text(file: Path, label: str) -> str:
    """The head of the file as text; a file that is not UTF-8 text is refused with the
    reason, not a traceback."""
    with file.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head[: 64 * 1024]:
        raise InputError(f"cannot read {label}: binary data, not a CSV text file")
    try:
        return head.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the read boundary
            raise InputError(
                f"cannot read {label}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first"
            ) from None
        return head[: exc.start].decode("utf-8").removeprefix("\ufeff")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def write_frames(
    frames: Iterable[pd.DataFrame], target: str | Path, *, fmt: str | None = None
) -> Path:
    """Write DataFrame chunks to one CSV or Parquet file, atomically.

    Encoding runs on worker threads (Arrow releases the GIL) while the next chunk is
    being produced: CSV chunks are encoded two at a time and appended in order,
    Parquet row groups are written by one thread.
    """
    final = Path(target)
    kind = detect_format(final, fmt)
    with atomic_path(final) as tmp:
        written = _write_csv(frames, tmp) if kind == "csv" else _write_parquet(frames, tmp)
        if not written:
            raise InputError("nothing to write: zero rows requested")
    return final


def _tables(frames: Iterable[pd.DataFrame]) -> Iterator[pa.Table]:
    """Arrow tables of the chunks, all cast to the first chunk's schema."""
    schema: pa.Schema | None = None
    for frame in frames:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if schema is None:
            schema = table.schema
        else:
            table = table.cast(schema)
        yield table


def _csv_bytes(table: pa.Table, header: bool) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=header))
    return buffer.getvalue()


def _write_csv(frames: Iterable[pd.DataFrame], path: Path) -> bool:
    written = False
    if not overlap_stages():  # one CPU thread (engine/threads.py): encode in turn
        with path.open("wb") as out:
            for table in _tables(frames):
                out.write(_csv_bytes(table, not written))
                written = True
        return written
    pending: deque[Future[bytes]] = deque()
    with ThreadPoolExecutor(max_workers=encoder_threads(2)) as pool, path.open("wb") as out:
        for table in _tables(frames):
            pending.append(pool.submit(_csv_bytes, table, not written))
            written = True
            while len(pending) > 2:
                out.write(pending.popleft().result())
        while pending:
            out.write(pending.popleft().result())
    return written


def _write_parquet(frames: Iterable[pd.DataFrame], path: Path) -> bool:
    if not overlap_stages():  # one CPU thread (engine/threads.py): write in turn
        tables = _tables(frames)
        first = next(tables, None)
        if first is None:
            return False
        with pq.ParquetWriter(path, first.schema) as single:
            single.write_table(first)
            for table in tables:
                single.write_table(table)
        return True
    writer: pq.ParquetWriter | None = None
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            for table in _tables(frames):
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, table)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                pending.exception()  # never close the file under a running write
            if writer is not None:
                writer.close()
    return writer is not None
