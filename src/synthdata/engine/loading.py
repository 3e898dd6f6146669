"""Loading a file for fitting, with bounded memory for inputs larger than RAM allows.

Up to `FULL_READ_BYTES` the whole file is read. Above it, the file is streamed in
Arrow batches and a uniform random sample of about `SAMPLE_ROWS` rows is kept:
the copula's statistics (quantiles, frequencies, correlations) are estimated
from a million rows to within a fraction of a percent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.engine.errors import InputError
from synthdata.engine.io import arrow_to_pandas, check_input_file, iter_batches

FULL_READ_BYTES = 256 * 1024**2
SAMPLE_ROWS = 1_000_000


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
    seed: int = 0,
    text: Collection[str] = (),
) -> pd.DataFrame:
    """Read `path` whole, or a seeded uniform sample of it when it is large.

    CSV columns named in `text` are read as text (see `text_columns`).
    """
    file = check_input_file(path, max_bytes)
    size = file.stat().st_size
    rng = np.random.default_rng(seed)
    kept: list[pa.RecordBatch] = []
    seen_bytes = 0
    rows = 0
    fraction = 1.0
    for batch in iter_batches(file, max_bytes=max_bytes, text_columns=text):
        if size > FULL_READ_BYTES and batch.num_rows:
            if fraction == 1.0:
                # Estimate the whole file's rows from the first batch's bytes per row.
                seen_bytes = max(batch.nbytes, 1)
                estimated = size / seen_bytes * batch.num_rows
                fraction = min(1.0, sample_rows / max(estimated, 1))
            mask = rng.random(batch.num_rows) < fraction
            batch = batch.filter(pa.array(mask))
        rows += batch.num_rows
        kept.append(batch)
    if rows == 0:
        raise InputError(f"input file has a header but no rows: {file}")
    return arrow_to_pandas(pa.Table.from_batches(kept), text_as_categories=True)
