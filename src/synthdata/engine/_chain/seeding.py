"""Filling in partial rows ("seed rows"): each row keeps its known cells and gets the
others from the model's distribution given them.

Every seed row is followed by `PARTICLES` candidate rows down the chain. At a
column whose cell the row knows, each candidate takes the known token (and place
inside the bin) and is weighted by the probability its leaf gives that token;
the row then keeps candidates in proportion to the weights (sequential
importance resampling, as for conditions in `_chain.sampling`). So the cells
filled in follow the known ones as the real rows do, including cells of columns
that come before a known one in the chain. A row whose known cells have zero
probability together under the model keeps its candidates unweighted at that
column (its other cells then ignore that one cell) instead of failing.

When the known cells are exactly the first columns of the chain in every row (a
child table's rows given their parent's columns, see `relational`), no candidate
is needed: the rest of the row is drawn given them, as in `sample_free`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synthdata.engine._chain.coupling import WithinCoupling
from synthdata.engine._chain.sampling import PARTICLES, Decoded, join_blocks
from synthdata.engine._chain.tokens import TokenCodec
from synthdata.engine._chain.trees import LeafTree

_BLOCK = 2_048  # seed rows filled together (bounds the candidates' memory)

Known = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Chain position -> (tokens, places inside the bin, known mask), one entry per seed row."""


def fill_rows(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    known: Known,
    rows: int,
    extra: int,
    rng: np.random.Generator,
) -> tuple[Decoded, np.ndarray]:
    """Tokens drawn for every cell of `rows` seed rows given their known cells;
    returns (decoded columns, `extra` uniforms per row) as `sample_free` does."""
    if set(known) == set(range(len(known))) and all(m.all() for _, _, m in known.values()):
        return _after_prefix(codecs, trees, coupling, known, rows, extra, rng)
    parts = []
    for start in range(0, rows, _BLOCK):
        stop = min(rows, start + _BLOCK)
        window = {
            j: (t[start:stop], w[start:stop], k[start:stop]) for j, (t, w, k) in known.items()
        }
        parts.append(_block(codecs, trees, coupling, window, stop - start, extra, rng))
    return join_blocks(codecs, parts, extra)


def _block(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    known: Known,
    rows: int,
    extra: int,
    rng: np.random.Generator,
) -> tuple[Decoded, np.ndarray]:
    k = len(codecs)
    uniform = rng.random((rows, PARTICLES, 2 * k + k + extra))
    places = uniform[:, :, 1 : 2 * k : 2].copy()
    places[:, :, coupling.columns] = coupling.couple(places[:, :, coupling.columns])
    total = rows * PARTICLES
    tokens = np.zeros((total, k), dtype=np.int32)
    within = np.zeros((total, k))
    features = np.zeros((total, k))
    for j, (codec, tree) in enumerate(zip(codecs, trees, strict=True)):
        leaf = tree.leaves(features[:, tree.parents])
        tokens[:, j] = tree.draw(leaf, uniform[:, :, 2 * j].reshape(-1), tree.cumulative)
        within[:, j] = places[:, :, j].reshape(-1)
        if j in known:
            given, place, mask = (np.repeat(a, PARTICLES) for a in known[j])
            tokens[mask, j] = given[mask]
            within[mask, j] = place[mask]
            weight = np.where(mask, _probability(tree, leaf, tokens[:, j]), 1.0)
            features[:, j] = codec.feature(tokens[:, j], within[:, j])
            keep = _resample(weight.reshape(rows, PARTICLES), uniform[:, 0, 2 * k + j])
            picked = (np.arange(rows)[:, None] * PARTICLES + keep).reshape(-1)
            tokens, within, features = tokens[picked], within[picked], features[picked]
        else:
            features[:, j] = codec.feature(tokens[:, j], within[:, j])
    first = np.arange(rows) * PARTICLES
    decoded: Decoded = {}
    for j, codec in enumerate(codecs):
        decoded[codec.name] = codec.decode(tokens[first, j], within[first, j])
    return decoded, uniform[:, 0, 3 * k :]


def _after_prefix(
    codecs: Sequence[TokenCodec],
    trees: Sequence[LeafTree],
    coupling: WithinCoupling,
    known: Known,
    rows: int,
    extra: int,
    rng: np.random.Generator,
) -> tuple[Decoded, np.ndarray]:
    """Rows whose first `len(known)` chain columns are given: the others drawn after them."""
    k = len(codecs)
    uniform = rng.random((rows, 2 * k + extra))
    within = uniform[:, 1 : 2 * k : 2].copy()
    within[:, coupling.columns] = coupling.couple(within[:, coupling.columns])
    tokens = np.zeros((rows, k), dtype=np.int32, order="F")
    features = np.zeros((rows, k), order="F")
    decoded: Decoded = {}
    for j, (codec, tree) in enumerate(zip(codecs, trees, strict=True)):
        if j in known:
            tokens[:, j], within[:, j] = known[j][0], known[j][1]
        else:
            tokens[:, j] = tree.sample(features[:, tree.parents], uniform[:, 2 * j])
        features[:, j] = codec.feature(tokens[:, j], within[:, j])
        decoded[codec.name] = codec.decode(tokens[:, j], within[:, j])
    return decoded, uniform[:, 2 * k :]


def _probability(tree: LeafTree, leaf: np.ndarray, token: np.ndarray) -> np.ndarray:
    """The probability leaf `leaf[i]` gives token `token[i]` (0 where it gives none)."""
    sizes = np.diff(tree.offsets)
    entry_leaf = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    width = int(max(tree.tokens.max(initial=0), token.max(initial=0))) + 1
    keys = entry_leaf * width + tree.tokens  # sorted: leaves in order, tokens ascending
    wanted = leaf.astype(np.int64) * width + token
    position = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    previous = np.concatenate([[0.0], tree.cumulative[:-1]])
    previous[tree.offsets[:-1]] = 0.0
    mass = tree.cumulative - previous
    return np.where(keys[position] == wanted, mass[position], 0.0)


def _resample(weight: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Per row, PARTICLES candidate indices drawn in proportion to `weight` (systematic
    resampling); a row whose weights are all 0 keeps its candidates as they are."""
    width = weight.shape[1]
    dead = weight.sum(axis=1) <= 0
    weight = np.where(dead[:, None], 1.0, weight)
    cumulative = np.cumsum(weight, axis=1)
    cumulative /= cumulative[:, -1:]
    points = (uniform[:, None] + np.arange(width)[None, :]) / width
    chosen = (cumulative[:, None, :] <= points[:, :, None]).sum(axis=2)
    return np.minimum(chosen, width - 1)
