"""Where numbers fall inside their bins, drawn together instead of independently.

Tokens carry a number only to its bin (one of 32 equal-probability slices); the
place inside the bin is drawn afterwards. Two closely related numbers (a credit
limit and the rating computed from it) sit at matching places inside their bins,
and drawing those places independently would blur the relation by up to a bin's
width. A Gaussian copula over the places (normal scores of the place inside the
bin, one correlation per pair of numeric columns) keeps that fine structure; for
unrelated columns the correlation is near 0 and the places stay independent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

_EDGE = 1e-6


BLOCK_COLUMNS = 64
"""Numeric columns coupled together at most. Up to this many, one copula couples all
of them; past it, each column joins the block of most of its parents (the earlier
columns it shares most information with), so fitting and sampling cost grows
linearly in columns instead of with their square (sampling) or cube (fitting)."""


@dataclass
class WithinCoupling:
    """The correlation of in-bin places across numeric columns, as Cholesky factors.

    `columns` lists the coupled chain positions block after block; `chol` holds
    each block's lower-triangular factor in its rows, left-aligned (one block:
    the square factor itself); `sizes` the block sizes (None: one block).
    """

    columns: np.ndarray  # int32 chain positions of the numeric columns
    chol: np.ndarray
    sizes: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        within: np.ndarray,
        columns: list[int],
        parents: list[np.ndarray] | None = None,
    ) -> WithinCoupling:
        """Learn from the in-bin places (rows x chain columns) of the numeric `columns`."""
        blocks = numeric_blocks(columns, parents or [], BLOCK_COLUMNS)
        if len(blocks) <= 1:
            positions = np.asarray(columns, dtype=np.int32)
            return cls(positions, _factor(within, positions))
        width = max(len(block) for block in blocks)
        positions = np.concatenate([np.asarray(b, dtype=np.int32) for b in blocks])
        chol = np.zeros((len(positions), width))
        start = 0
        for block in blocks:
            size = len(block)
            chol[start : start + size, :size] = _factor(within, np.asarray(block))
            start += size
        return cls(positions, chol, np.array([len(b) for b in blocks], dtype=np.int32))

    def couple(self, uniform: np.ndarray) -> np.ndarray:
        """Turn independent uniforms (... x numeric columns: rows, or rows x candidates)
        into coupled in-bin places."""
        if len(self.columns) < 2:
            return uniform
        flat = uniform.reshape(-1, uniform.shape[-1])
        scores = ndtri(np.clip(flat, _EDGE, 1 - _EDGE))
        if self.sizes is None:
            scores = scores @ self.chol.T
        else:
            start = 0
            for size in self.sizes.tolist():
                end = start + size
                scores[:, start:end] = scores[:, start:end] @ self.chol[start:end, :size].T
                start = end
        return np.clip(ndtr(scores), 0.0, 1.0 - 1e-12).reshape(uniform.shape)


def numeric_blocks(columns: list[int], parents: list[np.ndarray], size: int) -> list[list[int]]:
    """Numeric chain positions in blocks of at most `size`, related columns together.

    Each column, in chain order, joins the block (with room) that holds most of its
    parents, or starts a block. One block when all fit in one.
    """
    if len(columns) <= size:
        return [list(columns)]
    block_of: dict[int, int] = {}
    blocks: list[list[int]] = []
    for j in columns:
        votes = Counter(
            block_of[int(p)]
            for p in parents[j]
            if int(p) in block_of and len(blocks[block_of[int(p)]]) < size
        )
        chosen = votes.most_common(1)[0][0] if votes else len(blocks)
        if chosen == len(blocks):
            blocks.append([])
        blocks[chosen].append(j)
        block_of[j] = chosen
    return blocks


def _factor(within: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The Cholesky factor of the correlation of the normal scores of these columns."""
    if len(positions) < 2:
        return np.eye(len(positions))
    scores = ndtri(np.clip(within[:, positions], _EDGE, 1 - _EDGE))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(scores, rowvar=False))
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(corr))
    corr = corr / scale[:, None] / scale[None, :]
    return np.linalg.cholesky(corr)
