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

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

_EDGE = 1e-6


@dataclass
class WithinCoupling:
    """The correlation of in-bin places across numeric columns, as a Cholesky factor."""

    columns: np.ndarray  # int32 chain positions of the numeric columns
    chol: np.ndarray  # lower-triangular factor of their correlation

    @classmethod
    def fit(cls, within: np.ndarray, columns: list[int]) -> WithinCoupling:
        """Learn from the in-bin places (rows x chain columns) of the numeric `columns`."""
        positions = np.asarray(columns, dtype=np.int32)
        if len(positions) < 2:
            return cls(positions, np.eye(len(positions)))
        scores = ndtri(np.clip(within[:, positions], _EDGE, 1 - _EDGE))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.nan_to_num(np.corrcoef(scores, rowvar=False))
        np.fill_diagonal(corr, 1.0)
        values, vectors = np.linalg.eigh(corr)
        corr = (vectors * np.maximum(values, 1e-6)) @ vectors.T
        scale = np.sqrt(np.diag(corr))
        corr = corr / scale[:, None] / scale[None, :]
        return cls(positions, np.linalg.cholesky(corr))

    def couple(self, uniform: np.ndarray) -> np.ndarray:
        """Turn independent uniforms (... x numeric columns: rows, or rows x candidates)
        into coupled in-bin places."""
        if len(self.columns) < 2:
            return uniform
        flat = uniform.reshape(-1, uniform.shape[-1])
        scores = ndtri(np.clip(flat, _EDGE, 1 - _EDGE)) @ self.chol.T
        return np.clip(ndtr(scores), 0.0, 1.0 - 1e-12).reshape(uniform.shape)
