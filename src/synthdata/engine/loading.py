"""Loading a table for fitting, with memory bounded by the rows kept, not the table.

The table is streamed in Arrow batches and a seeded uniform sample of at most
`FitLimits.max_rows` rows, and of rows within `FitLimits.memory_mb` of reading
memory, is kept: the copula's statistics (quantiles, frequencies, correlations) are
estimated from a million rows to within a fraction of a percent. A table within
both limits is kept whole, in its order. Bytes on disk do not decide: a 230 KB
Parquet file can hold 20M rows.

The sample is the rows with the smallest of one seeded random key per row (a
"bottom-k" sample), so it needs no row count in advance, works for CSV and
Parquet alike, local or in an object store (`table_scan.TableSource`), and holds
at most twice the limit at any time. The keys come from one seeded stream in row
order, so the same table and seed give the same sample whatever the batch sizes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.engine.errors import InputError
from synthdata.engine.io import arrow_to_pandas, check_input_file, detect_format, iter_batches
from synthdata.engine.table_scan import (
    CSV_BLOCK_BYTES,
    MAX_CSV_BLOCK_BYTES,
    TableSource,
    scan_batches,
)

SAMPLE_ROWS = 1_000_000
SAMPLE_BYTES = 256 * 1024**2  # decoded (Arrow) bytes of the rows kept for fitting
# Measured peak memory of a read above the process's baseline (pyarrow 26, 2 GB of
# decoded Parquet and 0.5 GB of CSV): about 100 MB for the readers and allocator, plus
# three times the sample (twice it before each cut, one batch and the cut's copies).
# The budget keeps `READER_MB` for the first and a quarter of the rest for the sample.
READER_MB = 128
BUDGET_PER_SAMPLE_BYTE = 4
MIN_MEMORY_MB = 256
MAX_BATCH_BYTES = 16 * 1024**2
MB = 1024**2
MAX_KEPT_BATCHES = 256


@dataclass(frozen=True)
class FitLimits:
    """How much of a table fitting keeps (the `fit_max_rows`, `fit_memory_mb` settings).

    At most `max_rows` rows; and as many rows as fit the sample's share of `memory_mb`
    (`sample_bytes`), measured in decoded bytes per row as the table is read, so that
    reading stays within `memory_mb` above the process's baseline whatever the
    table's size. The synthesizer then fits on those rows only.
    """

    max_rows: int = SAMPLE_ROWS
    memory_mb: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_rows < 1:
            raise InputError("the fit sample needs at least one row (fit_max_rows)")
        if self.memory_mb < MIN_MEMORY_MB:
            raise InputError(f"fit_memory_mb must be at least {MIN_MEMORY_MB}")

    @property
    def sample_bytes(self) -> int:
        """Decoded bytes the kept rows may take."""
        return (self.memory_mb - READER_MB) * MB // BUDGET_PER_SAMPLE_BYTE

    @property
    def batch_bytes(self) -> int:
        """Decoded bytes of one batch read: small against the sample."""
        return max(64 * 1024, min(MAX_BATCH_BYTES, self.memory_mb * MB // 16))


@dataclass(frozen=True)
class FitSample:
    """The rows fitting uses, and how many rows the table had."""

    frame: pd.DataFrame
    rows_seen: int
    rows_used: int


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
    batches = iter_batches(file, max_bytes=max_bytes, text_columns=text)
    return _sample(batches, RowSample(sample_rows, sample_bytes, seed), str(file)).frame


def sample_for_fit(
    source: str | Path | TableSource,
    limits: FitLimits | None = None,
    *,
    max_bytes: int | None = None,
    text: Collection[str] = (),
) -> FitSample:
    """The rows to fit on from a local file or a `TableSource`, within `limits`.

    A local CSV goes through the engine's own reader (delimiter sniffing, a quote
    left open named by line); Parquet and every `TableSource` through
    `table_scan.scan_batches`, which streams ranged reads from an object store.
    """
    limits = limits or FitLimits()
    if not isinstance(source, TableSource):
        source = check_input_file(source, max_bytes)
    label = source.name if isinstance(source, TableSource) else str(source)
    block = CSV_BLOCK_BYTES
    while True:
        sample = RowSample(limits.max_rows, limits.sample_bytes, limits.seed)
        try:
            return _sample(_batches(source, limits, block, text, max_bytes), sample, label)
        except InputError as exc:
            # A CSV row longer than a block: read again in blocks four times larger.
            if "straddl" not in str(exc) or block >= MAX_CSV_BLOCK_BYTES:
                raise
            block *= 4


def _batches(
    source: Path | TableSource,
    limits: FitLimits,
    csv_block: int,
    text: Collection[str],
    max_bytes: int | None,
) -> Iterable[pa.RecordBatch]:
    if isinstance(source, TableSource):
        return scan_batches(
            source, batch_bytes=limits.batch_bytes, text_columns=text, csv_block_bytes=csv_block
        )
    if detect_format(source) == "parquet":
        return scan_batches(
            TableSource.local(source), batch_bytes=limits.batch_bytes, text_columns=text
        )
    return iter_batches(source, max_bytes=max_bytes, batch_bytes=csv_block, text_columns=text)


def _sample(batches: Iterable[pa.RecordBatch], sample: RowSample, label: str) -> FitSample:
    for batch in batches:
        sample.add(batch)
    if sample.rows_read == 0:
        raise InputError(f"input file has a header but no rows: {label}")
    frame = arrow_to_pandas(sample.table(), text_as_categories=True)
    return FitSample(frame, rows_seen=sample.rows_read, rows_used=len(frame))


class RowSample:
    """A seeded uniform sample without replacement of a stream of record batches.

    Each row gets a random key; the rows with the `limit` smallest keys are kept,
    `limit` being `max_rows` or fewer when rows are wide (`max_bytes`). Batches
    are kept as they come while they fit, and cut back to the limit whenever they
    reach twice it, so memory stays within about twice the limit plus two batches.
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
                self._keep(batch, np.empty(0))  # keeps the schema of an empty table
            return
        self.rows_read += batch.num_rows
        keys = self._rng.random(batch.num_rows)
        if self._threshold < 1.0:
            chosen = keys < self._threshold
            batch, keys = batch.filter(pa.array(chosen)), keys[chosen]
        self._keep(batch, keys)
        if self._kept > 2 * self.limit or self._kept_bytes > 2 * self.max_bytes:
            self._cut()

    def table(self) -> pa.Table:
        """The sample, rows in the order they were read."""
        self._cut()
        return pa.Table.from_batches(self._batches)

    def _keep(self, batch: pa.RecordBatch, keys: np.ndarray) -> None:
        self._batches.append(batch)
        self._keys.append(keys)
        self._kept += batch.num_rows
        self._kept_bytes += batch.nbytes

    def _cut(self) -> None:
        if self._kept == 0:
            return
        per_row = max(self._kept_bytes / self._kept, 1.0)
        self.limit = max(1, min(self.limit, int(self.max_bytes / per_row)))
        if self._kept <= self.limit:
            return
        # The limit-th smallest key; batches are cut one at a time, each old batch
        # freed as its kept rows are copied out, so the cut needs one batch more,
        # not a second copy of the sample. Rows stay in file order.
        keys = np.concatenate(self._keys)
        self._threshold = float(np.partition(keys, self.limit - 1)[self.limit - 1])
        del keys
        batches, all_keys = self._batches, self._keys
        self._batches, self._keys = [], []
        self._kept = self._kept_bytes = 0
        while batches:
            batch, keys = batches.pop(0), all_keys.pop(0)
            chosen = keys <= self._threshold  # later rows must be below it (`add`)
            if chosen.any():
                self._keep(batch.filter(pa.array(chosen)), keys[chosen])
        if len(self._batches) > MAX_KEPT_BATCHES:  # a long table leaves many small ones
            self._batches = [pa.concat_batches(self._batches)]
            self._keys = [np.concatenate(self._keys)]
