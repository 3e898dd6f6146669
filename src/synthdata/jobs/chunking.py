"""Splitting a generation job into row ranges, and reading its parts back as one file.

Each chunk is rows [start_row, start_row + rows) of the model's deterministic
sequence for the job's seed (`Synthesizer.iter_chunks(start_row=...)`), so the
parts read in order equal what a single worker would have written. Nothing joins
the parts on the workers: the result is the parts plus a manifest
(`jobs/manifest.py`), and a download streams them as one file here, block by block
(CSV) or row group by row group (Parquet), never holding a whole part in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

OpenPart = Callable[[str], AbstractContextManager[BinaryIO]]
"""Opens a part by key for reading (the store's `open_read`): seekable, streaming."""

_BLOCK = 1024**2


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


def stream_parts(keys: Sequence[str], fmt: str, open_part: OpenPart) -> Iterator[bytes]:
    """The parts, in order, as the bytes of one CSV or Parquet file."""
    if not keys:
        raise ValueError("no parts to read")
    if fmt == "parquet":
        return _stream_parquet(keys, open_part)
    return _stream_csv(keys, open_part)


def _stream_csv(keys: Sequence[str], open_part: OpenPart) -> Iterator[bytes]:
    """Every part's bytes; the header line only from the first part."""
    for number, key in enumerate(keys):
        with open_part(key) as source:
            block = source.read(_BLOCK)
            if number:
                block = _after_header(block, source)
            while block:
                yield block
                block = source.read(_BLOCK)


def _after_header(block: bytes, source: BinaryIO) -> bytes:
    """What follows the CSV header line, reading on while the header is longer than a
    block; a quoted column name may contain newlines."""
    quoted = False
    while block:
        for position, byte in enumerate(block):
            if byte == 0x22:  # '"'
                quoted = not quoted
            elif byte == 0x0A and not quoted:  # '\n'
                return block[position + 1 :]
        block = source.read(_BLOCK)
    return b""


class _Spool:
    """A write-only sink for `ParquetWriter` whose bytes are taken out as they come,
    so the rewritten file streams instead of landing on disk or in memory whole."""

    def __init__(self) -> None:
        self._blocks: list[bytes] = []
        self._size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._blocks.append(bytes(data))
        self._size += len(data)
        return len(data)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        """Nothing is buffered: `drain` hands out what was written."""

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self._blocks)
        self._blocks.clear()
        return data


def _stream_parquet(keys: Sequence[str], open_part: OpenPart) -> Iterator[bytes]:
    """One Parquet file holding every part's row groups, in order.

    A column that is entirely null in one part is typed "null" there, so the part
    schemas are unified first (reading only the footers) and every row group is cast
    to the one file schema.
    """
    schemas = []
    for key in keys:
        with open_part(key) as source:
            schemas.append(pq.ParquetFile(source).schema_arrow)
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    spool = _Spool()
    writer = pq.ParquetWriter(spool, schema)
    try:
        for key in keys:
            with open_part(key) as source:
                handle = pq.ParquetFile(source)
                for group in range(handle.num_row_groups):
                    writer.write_table(handle.read_row_group(group).cast(schema))
                    if data := spool.drain():
                        yield data
    finally:
        writer.close()
    yield spool.drain()
