"""Drawing a chunk of rows that meet every constraint.

Candidates come in rounds of 1,024, 2,048, 4,096... rows up to 131,072 (then
131,072 each), each round from its own seed (derived from the chunk's), and the
chunk keeps the first rows that meet every constraint, in order. Round sizes do
not depend on how many rows are asked for, so the first m rows are the same for
any request of at least m rows (prefix-stable, as every chunk must be). On a
model that meets the constraints in most rows the candidates cost at most about
twice the rows kept.

Sampling gives up, with an error naming the constraint that refused the most
rows, once fewer than 1 in 1,000 candidates pass (judged from 7,168 on): a
constraint the model almost never meets, alone or under the conditions asked
for, fails at once instead of looping; one met by 1 in 50 costs about 50
candidates per row, in rounds of bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from synthdata.engine.constraints import Constraint, derive, unmet
from synthdata.engine.errors import InputError
from synthdata.engine.keys import identifier_column
from synthdata.engine.schema import ColumnKind, TableSchema

FIRST_ROUND = 1_024
LAST_ROUND = 131_072  # rounds grow to this size and stay there (bounds the memory)
MIN_PASS_RATE = 0.001
_MIN_TRIED = 7 * FIRST_ROUND  # three rounds before the pass rate is judged
_KEYS_STREAM = 1 << 30  # spawn key of the identifier stream (rounds use 0, 1, 2...)

Draw = Callable[[int, np.random.Generator], pd.DataFrame]
"""Draws n candidate rows with a generator (the synthesizer's chunk sampler)."""


def constrained_chunk(
    draw: Draw,
    rows: int,
    entropy: int | Sequence[int] | None,
    block: int,
    schema: TableSchema,
    constraints: list[Constraint],
    key_start: int,
    conditioned: bool = False,
) -> pd.DataFrame:
    """`rows` rows from `draw` that meet every constraint (see the module docstring)."""
    kept: list[pd.DataFrame] = []
    have = tried = 0
    rejecting = [c for c in constraints if c.method == "rejection"]
    refused = np.zeros(len(rejecting), dtype=np.int64)
    round_ = 0
    while True:
        size = min(FIRST_ROUND << min(round_, 20), LAST_ROUND)
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block, round_)))
        candidates = draw(size, rng)
        derive(candidates, schema, constraints)
        failed = unmet(candidates, schema, rejecting)
        refused += failed.sum(axis=1)
        good = ~failed.any(axis=0)
        kept.append(candidates[good])
        have += int(good.sum())
        tried += size
        round_ += 1
        if have >= rows:
            break
        if tried >= _MIN_TRIED and have < MIN_PASS_RATE * tried:
            worst = rejecting[int(np.argmax(refused))] if rejecting else constraints[0]
            under = " under the conditions asked for" if conditioned else ""
            raise InputError(
                f"constraint {worst.describe()} is met by {have:,} of {tried:,} rows the "
                f"model draws{under}: it is (nearly) impossible here"
            )
    frame = pd.concat(kept, ignore_index=True).iloc[:rows].reset_index(drop=True)
    # Keys are numbered by output row, not by candidate, so they stay unique and in order.
    keys = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block, _KEYS_STREAM)))
    for spec in schema.columns:
        if spec.kind == ColumnKind.IDENTIFIER:
            frame[spec.name] = identifier_column(spec, key_start, rows, keys)
    return frame
