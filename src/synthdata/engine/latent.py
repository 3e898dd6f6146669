"""One Gaussian copula: marginals per column plus a correlation of their normal scores.

The default synthesizer fits one of these per stratum (see `copula`). Missingness
is a latent dimension of its own, so nulls keep their rate and their links to
other columns.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthdata.engine.columns import Encoded
from synthdata.engine.marginals import LevelMarginal, QuantileMarginal

CORRELATION_ROWS = 250_000  # pins every correlation to about +-0.002

Marginal = QuantileMarginal | LevelMarginal


@dataclass
class ColumnFit:
    """One column inside one copula."""

    name: str
    marginal: Marginal | None  # None when the column is always null here
    value_dim: int
    null_dim: int | None = None
    null_marginal: LevelMarginal | None = None


@dataclass
class GaussianCopula:
    """Marginals and the Cholesky factor of the latent correlation."""

    columns: list[ColumnFit]
    chol: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.chol.shape[0])

    @classmethod
    def fit(
        cls,
        encoded: dict[str, Encoded],
        names: list[str],
        rng: np.random.Generator,
        fitted: dict[str, tuple[Marginal, np.ndarray]] | None = None,
    ) -> GaussianCopula:
        """Fit over `names`; `fitted` holds marginals and scores already computed."""
        fitted = dict(fitted or {})
        todo = [name for name in names if name not in fitted and encoded[name].present.any()]
        # Sorting and searching release the GIL: fit the columns on two threads, each
        # with its own generator so the result does not depend on scheduling.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = pool.map(fit_marginal, [encoded[name] for name in todo], rng.spawn(len(todo)))
            fitted.update(zip(todo, results, strict=True))
        columns: list[ColumnFit] = []
        latent: list[np.ndarray] = []
        for name in names:
            enc = encoded[name]
            if not enc.present.any():
                columns.append(ColumnFit(name, None, -1))
                continue
            marginal, scores = fitted[name]
            column = ColumnFit(name, marginal, len(latent))
            latent.append(scores)
            if not enc.present.all():
                flags = (~enc.present).astype(np.int64)
                column.null_marginal = LevelMarginal.fit(flags, 2)
                column.null_dim = len(latent)
                latent.append(column.null_marginal.to_normal(flags, rng))
            columns.append(column)
        return cls(columns, _cholesky(latent, rng))

    def sample(self, eps: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Map independent normals (rows x >= dims) to (values or codes, present) per column."""
        rows = len(eps)
        latent = eps[:, : self.dims] @ self.chol.T
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for column in self.columns:
            if column.marginal is None:
                out[column.name] = (np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=bool))
                continue
            values = column.marginal.from_normal(latent[:, column.value_dim])
            present = np.ones(rows, dtype=bool)
            if column.null_dim is not None and column.null_marginal is not None:
                present = column.null_marginal.from_normal(latent[:, column.null_dim]) == 0
            out[column.name] = (values, present)
        return out

    def to_state(self, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {f"{prefix}chol": self.chol}
        columns = []
        for i, column in enumerate(self.columns):
            item: dict[str, Any] = {
                "name": column.name,
                "value_dim": column.value_dim,
                "null_dim": column.null_dim,
                "marginal": None,
            }
            if column.marginal is not None:
                item["marginal"] = column.marginal.kind
                arrays[f"{prefix}m{i}"] = _marginal_array(column.marginal)
            if column.null_marginal is not None:
                arrays[f"{prefix}n{i}"] = column.null_marginal.cumulative
            columns.append(item)
        return {"columns": columns}, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str
    ) -> GaussianCopula:
        columns = []
        for i, item in enumerate(params["columns"]):
            marginal: Marginal | None = None
            if item["marginal"] == "quantile":
                marginal = QuantileMarginal(arrays[f"{prefix}m{i}"])
            elif item["marginal"] == "levels":
                marginal = LevelMarginal(arrays[f"{prefix}m{i}"])
            null = arrays.get(f"{prefix}n{i}")
            columns.append(
                ColumnFit(
                    item["name"],
                    marginal,
                    item["value_dim"],
                    item["null_dim"],
                    LevelMarginal(null) if null is not None else None,
                )
            )
        return cls(columns, arrays[f"{prefix}chol"])


def fit_marginal(enc: Encoded, rng: np.random.Generator) -> tuple[Marginal, np.ndarray]:
    """Fit one column's marginal; return it with the column's normal scores (NaN if null)."""
    marginal: Marginal
    if enc.levels is None:
        marginal = QuantileMarginal.fit(enc.values)
    else:
        marginal = LevelMarginal.fit(enc.values, max(len(enc.levels), 1))
    scores = np.full(len(enc.present), np.nan)
    scores[enc.present] = marginal.to_normal(enc.values, rng)
    return marginal, scores


def subset(enc: Encoded, rows: np.ndarray) -> Encoded:
    """The rows of `enc` selected by the boolean mask `rows` (levels stay global)."""
    return Encoded(enc.values[rows[enc.present]], enc.present[rows], enc.levels)


def _marginal_array(marginal: Marginal) -> np.ndarray:
    return marginal.grid if isinstance(marginal, QuantileMarginal) else marginal.cumulative


def _cholesky(latent: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Correlation of the latent scores (pairwise-complete), made positive definite."""
    if not latent:
        return np.eye(0)
    n = len(latent[0])
    rows = np.sort(rng.choice(n, CORRELATION_ROWS, replace=False)) if n > CORRELATION_ROWS else None
    scores = np.column_stack([s if rows is None else s[rows] for s in latent]).astype(np.float32)
    present = ~np.isnan(scores)
    scores = np.nan_to_num(scores, nan=0.0)
    pairs = present.T.astype(np.float32) @ present.astype(np.float32)
    corr = (scores.T @ scores).astype(np.float64) / np.maximum(pairs, 1.0)
    scale = np.sqrt(np.clip(np.diag(corr), 1e-12, None))
    corr = corr / np.outer(scale, scale)
    eigenvalues, vectors = np.linalg.eigh((corr + corr.T) / 2)
    fixed = vectors @ np.diag(np.clip(eigenvalues, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return np.linalg.cholesky(fixed / np.outer(scale, scale))
