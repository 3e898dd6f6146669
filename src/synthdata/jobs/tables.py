"""The work of a generation job on a dataset of linked tables: one unit, one zip.

The tables are fitted together (`synthdata.relational.fit_tables`, with the metadata
detected and stored at upload) and sampled at the job's scale in one step, not in
row-range chunks: every child row needs its parent rows, so a table cannot be cut
where a single table can. The job still runs under the machinery's lease, retries
and single charge (`jobs.runner_chunks`); the zip is written beside and renamed into place,
so a retry after a crash simply writes it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def generate_tables_file(
    source: Path,
    target: Path,
    *,
    metadata: dict[str, Any] | None,
    scale: float,
    seed: int,
    fmt: str,
) -> int:
    """Fit the tables of the bundle `source`, write `scale` times their rows as a zip of
    `fmt` files to `target`, and return the rows written over all tables."""
    from synthdata.relational import Metadata, fit_tables, read_bundle, write_bundle

    tables = read_bundle(source)
    declared = Metadata.from_json(json.dumps(metadata)) if metadata else None
    model = fit_tables(tables, declared, seed=seed)
    synthetic = model.sample(scale=scale, seed=seed)
    write_bundle(synthetic, target, fmt=fmt)
    return sum(len(frame) for frame in synthetic.values())
