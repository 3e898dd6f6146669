"""Loading a file for fitting, with memory bounded by the rows kept, not the file.

The file is streamed in Arrow batches and a seeded uniform sample of at most
`SAMPLE_ROWS` rows and about `SAMPLE_BYTES` decoded bytes is kept: the copula's
statistics (quantiles, frequencies, correlations) are estimated from a million
rows to within a fraction of a percent. A table within both limits is kept whole,
in its order. Bytes on disk do not decide: a 230 KB Parquet file can hold 20M rows.

The sample is the rows with the smallest of one seeded random key per row (a
"bottom-k" sample), so it needs no row count in advance, works for CSV and
Parquet alike, and holds at most twice the limit at any time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.engine.errors import InputError
from synthdata.engine.io import arrow_to_pandas, check_input_file, iter_batches

SAMPLE_ROWS = 1_000_000
SAMPLE_BYTES = 256 * 1024**2  # decoded (Arrow) bytes of the rows kept for fitting


# Kinds whose values are text whatever they look like: "01234" must not become 1234.
_TEXT_KINDS = ("categorical", "identifier")


def text_columns(
    overrides: Mapping[str, str] | None, date_formats: Mapping[str, str] | None = None
) -> set[str]:
    """The columns a CSV reader must keep as text for these overrides and date formats."""
    forced = {name for name, kind in (overrides or {}).items() if str(kind) in _TEXT_KINDS}
    return forced | set(date_formats or {})


def load_for_fit(
    path: str | Path,
    max_bytes: int | None,
    *,
    sample_rows: int = SAMPLE_ROWS,
    sample_bytes: int = SAMPLE_BYTES,
    seed: int = 0,
    text: Collection[str] = (),
) -> pd.DataFrame:
    """Read `path` whole, or a seeded uniform sample of it when it is large.

    At most `sample_rows` rows and about `sample_bytes` decoded bytes are kept.
    CSV columns named in `text` are read as text (see `text_columns`).
    """
    file = check_input_file(path, max_bytes)
    sample = RowSample(sample_rows, sample_bytes, seed)
    for batch in iter_batches(file, max_bytes=max_bytes, text_columns=text):
        sample.add(batch)
    if sample.rows_read == 0:
        raise InputError(f"input file has a header but no rows: {file}")
    return arrow_to_pandas(sample.table(), text_as_categories=True)


class RowSample:
    """A seeded uniform sample without replacement of a stream of record batches.

    Each row gets a random key; the rows with the `limit` smallest keys are kept,
    `limit` being `max_rows` or fewer when rows are wide (`max_bytes`). Batches
    are kept as they come while they fit, and cut back to the limit whenever they
    reach twice it, so memory stays within about twice the limit plus one batch.
    """

    def __init__(self, max_rows: int, max_bytes: int, seed: int) -> None:
        self.limit = max(1, max_rows)
        self.max_bytes = max_bytes
        self.rows_read = 0
        self._rng = np.random.default_rng(seed)
        self._batches: list[pa.RecordBatch] = []
        self._keys: list[np.ndarray] = []
        self._kept = 0
        self._kept_bytes = 0
        self._threshold = 1.0  # keys at or above it can no longer be among the smallest

    def add(self, batch: pa.RecordBatch) -> None:
        """Take the rows of `batch` into the sample."""
        if not batch.num_rows:
            if not self._batches:
                self._batches.append(batch)  # keeps the schema of an empty table
            return
        self.rows_read += batch.num_rows
        keys = self._rng.random(batch.num_rows)
        if self._threshold < 1.0:
            chosen = keys < self._threshold
            batch, keys = batch.filter(pa.array(chosen)), keys[chosen]
        self._batches.append(batch)
        self._keys.append(keys)
        self._kept += batch.num_rows
        self._kept_bytes += batch.nbytes
        if self._kept > 2 * self.limit or self._kept_bytes > 2 * self.max_bytes:
            self._cut()

    def table(self) -> pa.Table:
        """The sample, rows in the order they were read."""
        self._cut()
        return pa.Table.from_batches(self._batches)

    def _cut(self) -> None:
        if self._kept == 0:
            return
        per_row = max(self._kept_bytes / self._kept, 1.0)
        self.limit = max(1, min(self.limit, int(self.max_bytes / per_row)))
        if self._kept <= self.limit:
            return
        table = pa.Table.from_batches(self._batches)
        keys = np.concatenate(self._keys)
        smallest = np.argpartition(keys, self.limit - 1)[: self.limit]
        self._threshold = float(keys[smallest].max())
        order = np.sort(smallest)  # file order, as a whole read would give
        kept = table.take(pa.array(order)).combine_chunks()
        self._batches = kept.to_batches()
        self._keys = [keys[order]]
        self._kept = kept.num_rows
        self._kept_bytes = kept.nbytes
