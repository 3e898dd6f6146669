"""Columns as small integer tokens, and tokens back to values.

Every modelled column becomes one token per row, so that one kind of model (a
classification tree) can learn any column given the tokens of the columns before it:

- a column with levels (categories, booleans, numbers with few distinct values) has
  one token per level, most frequent first; past `max_levels`, the rarest levels
  share one "rare" token and are drawn by their own frequencies when it is sampled;
- a numeric or date-time column has one token per equal-probability bin of its
  empirical distribution; a sampled bin becomes a value by drawing a probability
  inside the bin and reading it off the column's quantile grid, so the marginal is
  kept to the grid's resolution and no real value is copied on purpose;
- nulls have a token of their own, so missingness depends on the other columns too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from synthdata.engine.columns import Encoded
from synthdata.engine.errors import InputError
from synthdata.engine.marginals import QuantileMarginal

_EDGE = 1e-9
# Trees see a number's place inside its bin in quarters: finer splits where the data
# supports them, at a quarter of the cost of exact places on wide tables (300 columns:
# 23 s with bins only, 28 s in quarters, 73 s exact, fit + sample on 2 cores).
SUBSTEPS = 4


@dataclass
class TokenCodec:
    """How one column maps to tokens 0..n_tokens-1 and back."""

    name: str
    levels: list[Any] | None  # level values, most frequent first (None: numeric)
    grid: np.ndarray | None  # numeric: the quantile grid
    bins: int  # value tokens: levels kept apart, or numeric bins
    rare_cumulative: np.ndarray | None  # levels past `bins - 1`: cumulative frequencies
    has_null: bool

    @property
    def n_tokens(self) -> int:
        return self.bins + int(self.has_null)

    @property
    def null_token(self) -> int:
        return self.bins

    # -- fitting --------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, name: str, enc: Encoded, *, bins: int, max_levels: int
    ) -> tuple[TokenCodec, np.ndarray, np.ndarray]:
        """Learn the codec of one encoded column.

        Returns it with the column's tokens and, per row, where in its bin the value
        lies (in [0, 1); 0.5 for levels and nulls, which have no inside).
        """
        has_null = not bool(enc.present.all())
        tokens = np.full(len(enc.present), -1, dtype=np.int32)
        within = np.full(len(enc.present), 0.5)
        if enc.levels is not None:
            codec, values = cls._fit_levels(name, enc, max_levels, has_null)
        else:
            codec, values, inside = cls._fit_numeric(name, enc, bins, has_null)
            within[enc.present] = inside
        tokens[enc.present] = values
        if has_null:
            tokens[~enc.present] = codec.null_token
        return codec, tokens, within

    @classmethod
    def _fit_levels(
        cls, name: str, enc: Encoded, max_levels: int, has_null: bool
    ) -> tuple[TokenCodec, np.ndarray]:
        assert enc.levels is not None
        counts = np.bincount(enc.values, minlength=len(enc.levels))
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] > 0]
        rank = np.empty(len(enc.levels), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        levels = [enc.levels[i] for i in order]
        codes = rank[enc.values]
        rare = None
        kept = len(levels)
        if len(levels) > max_levels:
            kept = max_levels - 1  # the last token stands for every rarer level
            tail = counts[order[kept:]].astype(np.float64)
            rare = np.cumsum(tail / tail.sum())
            rare[-1] = 1.0
            codes = np.minimum(codes, kept)
        bins = kept + (1 if rare is not None else 0)
        return cls(name, levels, None, bins, rare, has_null), codes

    @classmethod
    def _fit_numeric(
        cls, name: str, enc: Encoded, bins: int, has_null: bool
    ) -> tuple[TokenCodec, np.ndarray, np.ndarray]:
        marginal = QuantileMarginal.fit(enc.values)
        position = ndtr(marginal.to_normal(enc.values, np.random.default_rng(0)))
        codes = np.minimum((position * bins).astype(np.int32), bins - 1)
        inside = np.clip(position * bins - codes, 0.0, 1.0 - _EDGE)
        return cls(name, None, marginal.grid, bins, None, has_null), codes, inside

    def feature(self, tokens: np.ndarray, within: np.ndarray) -> np.ndarray:
        """What trees split on: the token, and for numbers also the place inside the bin
        (in `SUBSTEPS` steps).

        A number's place lets a tree split finer than its bins where the data
        supports it (the credit limit that sets a rating), at no cost for levels.
        """
        if self.grid is None:
            return tokens.astype(np.float64)
        quarter = np.floor(within * SUBSTEPS) / SUBSTEPS
        return tokens + np.where(tokens == self.null_token, 0.5, quarter)

    # -- sampling -------------------------------------------------------------------------
    def decode(self, tokens: np.ndarray, uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (values or level codes, non-null mask) for `decode` in engine.columns.

        `uniform` is one draw in [0, 1) per row: where in its bin a number lands, or
        which rare level a "rare" token becomes.
        """
        present = tokens != self.null_token if self.has_null else np.ones(len(tokens), bool)
        value_tokens = np.where(present, tokens, 0)
        if self.grid is None:
            codes = value_tokens.astype(np.int64)
            if self.rare_cumulative is not None:
                rare = codes == self.bins - 1
                pick = np.searchsorted(self.rare_cumulative, uniform[rare], side="right")
                codes[rare] = self.bins - 1 + np.minimum(pick, len(self.rare_cumulative) - 1)
            return codes, present
        probability = (value_tokens + uniform) / self.bins
        marginal = QuantileMarginal(self.grid)
        values = marginal.from_normal(ndtri(np.clip(probability, _EDGE, 1 - _EDGE)))
        return values, present

    # -- saving ---------------------------------------------------------------------------
    def to_state(self, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params = {
            "name": self.name,
            "levels": self.levels,
            "bins": self.bins,
            "has_null": self.has_null,
        }
        arrays: dict[str, np.ndarray] = {}
        if self.grid is not None:
            arrays[f"{prefix}grid"] = self.grid
        if self.rare_cumulative is not None:
            arrays[f"{prefix}rare"] = self.rare_cumulative
        return params, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str
    ) -> TokenCodec:
        return cls(
            params["name"],
            params["levels"],
            arrays.get(f"{prefix}grid"),
            int(params["bins"]),
            arrays.get(f"{prefix}rare"),
            bool(params["has_null"]),
        )


def tokenize(codec: TokenCodec, enc: Encoded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens and in-bin places of given values (the known cells of seed rows).

    Returns (tokens, within, known): `known` is false where the cell is null (to be
    filled in); a level the real table never held is an `InputError`.
    """
    n = len(enc.present)
    tokens = np.zeros(n, dtype=np.int32)
    within = np.full(n, 0.5)
    known = enc.present.copy()
    if codec.grid is None:
        rank = {_level_key(v): i for i, v in enumerate(codec.levels or [])}
        given = [_level_key(v) for v in (enc.levels or [])]
        if enc.levels is None:  # numbers given for a column of few numeric levels
            given = [_level_key(v) for v in np.unique(enc.values)]
            codes = np.searchsorted(np.unique(enc.values), enc.values)
        else:
            codes = enc.values
        unknown = [v for v in given if v not in rank]
        if unknown:
            raise InputError(
                f"seed rows: {unknown[0]!r} never occurs in column {codec.name!r} of the real table"
            )
        lookup = np.array([rank[v] for v in given], dtype=np.int64)
        ranks = lookup[codes] if len(lookup) else np.zeros(len(codes), dtype=np.int64)
        tokens[known] = np.minimum(ranks, codec.bins - 1)
        return tokens, within, known
    if enc.levels is not None:
        numbers = np.asarray(enc.levels, dtype=np.float64)[enc.values]
    else:
        numbers = np.asarray(enc.values, dtype=np.float64)
    # The value's own place, whatever the number of seed rows (not `to_normal`, whose
    # clipping depends on how many values it is given).
    position = np.clip(QuantileMarginal(codec.grid).cdf(numbers), 0.0, 1.0 - _EDGE)
    codes = np.minimum((position * codec.bins).astype(np.int32), codec.bins - 1)
    tokens[known] = codes
    within[known] = np.clip(position * codec.bins - codes, 0.0, 1.0 - _EDGE)
    return tokens, within, known


def _level_key(value: Any) -> Any:
    """Levels compare as numbers when they are numbers (1 == 1.0), else as themselves."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value
