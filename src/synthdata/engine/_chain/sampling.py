"""Drawing rows down the chain, with or without conditions.

Without conditions each row draws each column from its leaf in turn. With
conditions every output row is followed by `PARTICLES` candidate rows; at each
conditioned column a candidate draws only among the allowed tokens and is
weighted by how much of its leaf's mass they hold, then the row keeps one
candidate in proportion to the weights (sequential importance resampling). The
rows are thus drawn from the model's distribution given the conditions, and a
condition that is rare overall but common for some groups is met by those
groups, as in the real table.

Draws are taken row by row (a row's numbers sit at the same place of the random
stream whatever the number of rows), so the first m rows are the same for any
request of at least m rows, with or without conditions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synthdata.engine._chain.conditions import Allowed
from synthdata.engine._chain.coupling import WithinCoupling
from synthdata.engine._chain.tokens import TokenCodec
from synthdata.engine._chain.trees import LeafTree
from synthdata.engine.errors import InputError

PARTICLES = 16  # candidates per row: enough for conditions down to ~1 % of a leaf's mass
_BLOCK = 4_096  # rows drawn together under conditions (bounds the candidates' memory)
_NEAR_ZERO = 1e-6  # mean allowed mass below which a condition is called impossible

Decoded = dict[str, tuple[np.ndarray, np.ndarray]]


def sample_free(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    num_rows: int,
    extra: int,
    rng: np.random.Generator,
) -> tuple[Decoded, np.ndarray]:
    """Rows without conditions: (decoded columns, `extra` uniforms per row)."""
    k = len(codecs)
    # Column-major: the loop below reads and writes one column at a time, and on wide
    # tables row-major columns are strided (a cache miss per value).
    uniform = rng.random((num_rows, 2 * k + extra))
    within = uniform[:, 1 : 2 * k : 2].copy()
    within[:, coupling.columns] = coupling.couple(within[:, coupling.columns])
    within = np.asfortranarray(within)
    draws = np.asfortranarray(uniform[:, 0 : 2 * k : 2])
    rest = uniform[:, 2 * k :].copy()
    del uniform  # the draws are split out: hold each value once
    tokens = np.zeros((num_rows, k), dtype=np.int32, order="F")
    features = np.zeros((num_rows, k), order="F")
    decoded: Decoded = {}
    for j, (codec, tree) in enumerate(zip(codecs, trees, strict=True)):
        tokens[:, j] = tree.sample(features[:, tree.parents], draws[:, j])
        features[:, j] = codec.feature(tokens[:, j], within[:, j])
        decoded[codec.name] = codec.decode(tokens[:, j], within[:, j])
    return decoded, rest


def sample_conditioned(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    num_rows: int,
    extra: int,
    rng: np.random.Generator,
    allowed: dict[int, Allowed],
) -> tuple[Decoded, np.ndarray]:
    """Rows that meet `allowed` (chain position -> condition): see the module docstring."""
    restricted = {j: trees[j].restrict(a.mass) for j, a in allowed.items()}
    for j, a in allowed.items():
        if float(restricted[j][0].max(initial=0.0)) <= 0.0:
            raise InputError(f"condition {a.text} has zero probability under the model")
    parts = []
    for start in range(0, num_rows, _BLOCK):
        rows = min(_BLOCK, num_rows - start)
        parts.append(_block(codecs, trees, coupling, rows, extra, rng, allowed, restricted))
    return join_blocks(codecs, parts, extra)


def join_blocks(
    codecs: Sequence[TokenCodec], parts: list[tuple[Decoded, np.ndarray]], extra: int
) -> tuple[Decoded, np.ndarray]:
    """The blocks' decoded columns and extra uniforms, one after the other."""
    decoded: Decoded = {}
    for codec in codecs:
        values = [part[0][codec.name] for part in parts]
        decoded[codec.name] = (
            np.concatenate([v for v, _ in values]),
            np.concatenate([p for _, p in values]),
        )
    extras = np.concatenate([part[1] for part in parts]) if parts else np.zeros((0, extra))
    return decoded, extras


def _block(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    rows: int,
    extra: int,
    rng: np.random.Generator,
    allowed: dict[int, Allowed],
    restricted: dict[int, tuple[np.ndarray, np.ndarray]],
) -> tuple[Decoded, np.ndarray]:
    k = len(codecs)
    picks = {j: i for i, j in enumerate(sorted(allowed))}
    uniform = rng.random((rows, PARTICLES, 2 * k + len(picks) + extra))
    last = max(allowed)
    width = PARTICLES  # candidates per row until the last conditioned column, then one
    places = uniform[:, :, 1 : 2 * k : 2].copy()
    places[:, :, coupling.columns] = coupling.couple(places[:, :, coupling.columns])
    tokens = np.zeros((rows * width, k), dtype=np.int32)
    within = np.zeros((rows * width, k))
    features = np.zeros((rows * width, k))
    for j, (codec, tree) in enumerate(zip(codecs, trees, strict=True)):
        draw = uniform[:, :width, 2 * j].reshape(-1)
        place = places[:, :width, j].reshape(-1)
        if j not in allowed:
            tokens[:, j] = tree.sample(features[:, tree.parents], draw)
            within[:, j] = place
            features[:, j] = codec.feature(tokens[:, j], within[:, j])
            continue
        condition = allowed[j]
        mass, cumulative = restricted[j]
        leaf = tree.leaves(features[:, tree.parents])
        chosen = tree.draw(leaf, draw, cumulative)
        tokens[:, j] = chosen
        within[:, j] = condition.low[chosen] + place * (
            condition.high[chosen] - condition.low[chosen]
        )
        features[:, j] = codec.feature(tokens[:, j], within[:, j])
        weight = mass[leaf].reshape(rows, width)
        if float(weight.mean()) < _NEAR_ZERO:
            raise InputError(
                f"condition {condition.text} has (near) zero probability under the model"
            )
        source, keep = _resample(weight, uniform[:, 0, 2 * k + picks[j]])
        kept = [a.reshape(rows, width, k)[source, keep] for a in (tokens, within, features)]
        if j < last:  # every candidate continues from the kept one
            kept = [np.repeat(a, width, axis=0) for a in kept]
        else:
            width = 1
        tokens, within, features = kept
    decoded: Decoded = {}
    for j, codec in enumerate(codecs):
        values, present = codec.decode(tokens[:, j], within[:, j])
        if j in allowed:
            forced = allowed[j].level[tokens[:, j]]
            values = np.where(forced >= 0, forced, values)
        decoded[codec.name] = (values, present)
    return decoded, uniform[:, 0, 2 * k + len(picks) :]


def _resample(weight: np.ndarray, uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, (row, candidate) to keep, the candidate chosen in proportion to `weight`.

    A row whose candidates all have weight 0 takes a candidate of another row of
    the block (one that has a live candidate), so every output row meets the condition.
    """
    rows, width = weight.shape
    total = weight.sum(axis=1)
    source = np.arange(rows)
    dead = total <= 0
    if dead.any():
        donors = np.flatnonzero(~dead)
        source[dead] = donors[
            np.minimum((uniform[dead] * len(donors)).astype(int), len(donors) - 1)
        ]
    weight, total = weight[source], total[source]
    cumulative = np.cumsum(weight, axis=1) / total[:, None]
    keep = np.minimum((cumulative < uniform[:, None]).sum(axis=1), width - 1)
    return source, keep
