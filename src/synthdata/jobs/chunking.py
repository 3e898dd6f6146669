"""Splitting a generation job into row ranges, and joining the parts into one file.

Each chunk is rows [start_row, start_row + rows) of the model's deterministic
sequence for the job's seed (`Synthesizer.iter_chunks(start_row=...)`), so the
joined parts equal what a single worker would have written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.engine.io import atomic_path
from synthdata.jobs import telemetry

_COPY_BYTES = 8 * 1024**2


@dataclass(frozen=True)
class ChunkPlan:
    """One row range of a job."""

    index: int
    start_row: int
    rows: int


def plan_chunks(total_rows: int, chunk_rows: int) -> list[ChunkPlan]:
    """Cut `total_rows` into ranges of at most `chunk_rows` (at least one range)."""
    if total_rows <= 0 or chunk_rows <= 0:
        raise ValueError("rows and chunk size must be positive")
    return [
        ChunkPlan(index, start, min(chunk_rows, total_rows - start))
        for index, start in enumerate(range(0, total_rows, chunk_rows))
    ]


@telemetry.step("job.write")
def join_parts(parts: Sequence[Path], target: Path, fmt: str) -> Path:
    """Join part files, in order, into `target` atomically (parts are left in place,
    except that a single part is simply renamed)."""
    if not parts:
        raise ValueError("no parts to join")
    if len(parts) == 1:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(parts[0], target)
        return target
    with atomic_path(target) as tmp:
        if fmt == "parquet":
            _join_parquet(parts, tmp)
        else:
            _join_csv(parts, tmp)
    return target


def _join_csv(parts: Sequence[Path], out: Path) -> None:
    with out.open("wb") as sink:
        for number, part in enumerate(parts):
            with part.open("rb") as source:
                if number:
                    _skip_header(source)
                _append(source, sink)


def _append(source: BinaryIO, sink: BinaryIO) -> None:
    """Copy the rest of `source` to the end of `sink`, in the kernel where it can.

    The join is the one serial step of a chunked job; `copy_file_range` spares the
    round trip of every byte through user space (and may share blocks outright).
    """
    start = source.tell()
    remaining = os.fstat(source.fileno()).st_size - start
    sink.flush()
    try:
        while remaining > 0:
            copied = os.copy_file_range(source.fileno(), sink.fileno(), remaining, start)
            if copied == 0:
                break
            start += copied
            remaining -= copied
    except OSError:  # e.g. not supported by the filesystem: copy through user space
        pass
    if remaining > 0:
        source.seek(start)
        shutil.copyfileobj(source, sink, _COPY_BYTES)


def _skip_header(source: object) -> None:
    """Advance past the CSV header line, respecting quoted names that contain newlines."""
    read = source.read  # type: ignore[attr-defined]
    quoted = False
    while True:
        byte = read(1)
        if not byte:
            return
        if byte == b'"':
            quoted = not quoted
        elif byte == b"\n" and not quoted:
            return


def _join_parquet(parts: Sequence[Path], out: Path) -> None:
    # A column that is entirely null in one part is typed "null" there: unify the
    # part schemas so that every part can be cast to one file schema.
    schemas = [pq.read_schema(part) for part in parts]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(out, schema) as writer:
        for part in parts:
            handle = pq.ParquetFile(part)
            for group in range(handle.num_row_groups):
                writer.write_table(handle.read_row_group(group).cast(schema))
