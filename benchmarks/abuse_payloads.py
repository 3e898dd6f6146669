"""The attackers' files and bodies, made on the fly in the benchmark's scratch folder.

Each file is written once, the first time an attack asks for it, and in pieces, so
the benchmark process itself stays small (the 20M-row Parquet file is one 1M-row
batch written 20 times).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np

BOMB_ROWS = 20_000_000
WIDE_COLUMNS = 100_000
WIDE_JOB_COLUMNS = 3_000
TEXT_FIELDS = 120_000
TEXT_FIELD_BYTES = 1024
CHUNKED_BODY_BYTES = 256 * 1024**2
FIELDS_BODY_BYTES = TEXT_FIELDS * (TEXT_FIELD_BYTES + 60)  # with each part's head, about
_MIB = 1024**2


class Payloads:
    """The attack files, made when first used."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    @cached_property
    def bomb(self) -> Path:
        """20M rows of four low-entropy columns, zstd Parquet: a few hundred KB on disk."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        batch_rows = 1_000_000
        index = np.arange(batch_rows)
        batch = pa.table(
            {
                "region": pa.array(np.array(["north", "south", "east", "west"])[index % 4]),
                "active": pa.array(index % 3 == 0),
                "amount": pa.array((index % 10).astype(np.int64)),
                "score": pa.array((index % 5).astype(np.float64) / 4),
            }
        )
        path = self.folder / "bomb.parquet"
        with pq.ParquetWriter(path, batch.schema, compression="zstd") as writer:
            for _ in range(BOMB_ROWS // batch_rows):
                writer.write_table(batch, row_group_size=batch_rows)
        return path

    @cached_property
    def wide(self) -> Path:
        """A CSV of 100,000 columns: the header and three rows of digits, about 1.3 MB."""
        path = self.folder / f"wide-{WIDE_COLUMNS}.csv"
        with path.open("w") as out:
            out.write(",".join(f"c{j:05d}" for j in range(WIDE_COLUMNS)) + "\n")
            for row in range(3):
                out.write(",".join(str((j + row) % 10) for j in range(WIDE_COLUMNS)) + "\n")
        return path

    def wide_table(self, columns: int = WIDE_JOB_COLUMNS) -> Path:
        """A CSV of `columns` columns and 1,000 rows of small numbers: a table to fit."""
        path = self.folder / f"wide-{columns}.csv"
        if path.exists():
            return path
        values = np.random.default_rng(0).integers(0, 100, size=(1000, columns))
        with path.open("w") as out:
            out.write(",".join(f"c{j}" for j in range(columns)) + "\n")
            for row in values:
                out.write(",".join(map(str, row)) + "\n")
        return path

    @cached_property
    def mixed(self) -> Path:
        """The benchmark table (datasets.py), 20,000 rows: jobs on it run for a while."""
        from benchmarks.datasets import write_mixed_csv

        path = self.folder / "mixed.csv"
        write_mixed_csv(path, 20_000, seed=0)
        return path


def multipart_text_fields(boundary: str) -> Iterator[bytes]:
    """120,000 distinct 1 KB text fields, then a tiny `file` part (so that a server that
    keeps reading accepts the upload), in pieces of about 1 MB."""
    value = b"x" * TEXT_FIELD_BYTES
    per_piece = _MIB // (TEXT_FIELD_BYTES + 100)
    for first in range(0, TEXT_FIELDS, per_piece):
        yield b"".join(
            b'--%s\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n%s\r\n'
            % (boundary.encode(), i, value)
            for i in range(first, min(first + per_piece, TEXT_FIELDS))
        )
    yield (
        b'--%s\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\na,b\r\n1,2\r\n3,4\r\n--%s--\r\n"
    ) % (boundary.encode(), boundary.encode())


def new_boundary() -> str:
    return f"abuse{secrets.token_hex(8)}"


def huge_json_body() -> Iterator[bytes]:
    """A JSON job request whose one string is 256 MB long, in 1 MiB pieces."""
    yield b'{"rows": 1, "dataset_id": "'
    filler = b"a" * _MIB
    for _ in range(CHUNKED_BODY_BYTES // _MIB):
        yield filler
    yield b'"}'
