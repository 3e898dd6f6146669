"""The default synthesizer: stratified Gaussian copulas with exact marginals and hierarchies.

Every modelled column is mapped to standard-normal scores (see `marginals`), and a
correlation matrix ties them together (see `latent`). Three things make it better
than a textbook copula:
- the categorical column that explains most of the others (say, a customer
  segment) splits the table into strata, each with its own copula, so every trend
  that differs between segments is kept, not averaged away;
- categories are ordered along the direction in which they differ most across the
  numeric columns, so one correlation carries most categorical-numeric trends;
- functional dependencies between categorical columns (a city lies in exactly one
  region) are detected and rebuilt by lookup, where any copula would blur them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine import strata
from synthdata.engine.base import CHUNK_ROWS, Synthesizer, is_modelled, register
from synthdata.engine.columns import Encoded, decode, encode
from synthdata.engine.hierarchy import Derivation, find_derivations
from synthdata.engine.keys import constant_column, identifier_column
from synthdata.engine.latent import GaussianCopula, fit_marginal, subset
from synthdata.engine.schema import ColumnKind, TableSchema

PROFILE_ROWS = 200_000  # rows used to order categories and choose the strata
# Rows each copula is fitted on: a 2,049-point quantile grid, level frequencies and
# correlations from 250,000 rows are within about 0.003 of the full-table values.
FIT_ROWS = 250_000


@dataclass
class _Model:
    levels: dict[str, list[Any] | None] = field(default_factory=dict)
    derived: list[Derivation] = field(default_factory=list)
    groups: list[GaussianCopula] = field(default_factory=list)
    group_cumulative: np.ndarray = field(default_factory=lambda: np.ones(1))
    stratum_column: str | None = None


@register
class GaussianCopulaSynthesizer(Synthesizer):
    """Stratified Gaussian copula over exact empirical marginals (the default, "copula")."""

    name = "copula"

    def __init__(self, *, stratify: bool = True, fit_seed: int = 0) -> None:
        """`stratify`: fit one copula per level of the categorical column that explains
        the others most (off: one copula for the whole table); `fit_seed`: the seed of
        the random choices made while fitting (row samples, tie-breaking draws).
        """
        super().__init__(stratify=stratify, fit_seed=fit_seed)
        self._model = _Model()

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        rng = np.random.default_rng(int(self.options["fit_seed"]))
        encoded = {
            spec.name: encode(data[spec.name], spec)
            for spec in schema.columns
            if is_modelled(spec.kind)
        }
        n = len(data)
        categorical = {s.name for s in schema.columns if s.kind == ColumnKind.CATEGORICAL}
        # A first look at a sample of the rows decides the order of categories and the
        # stratum column; the final marginals are then fitted once, on every row.
        look = _sample_mask(n, PROFILE_ROWS, rng)
        preview = {name: subset(enc, look) for name, enc in encoded.items()}
        ordered = {
            name: fit_marginal(enc, rng) for name, enc in preview.items() if name not in categorical
        }
        profile = np.column_stack([s for _, s in ordered.values()]) if ordered else None
        for name in categorical:
            _order_levels(encoded[name], preview[name], profile)
        derived = find_derivations(encoded, n)
        targets = {d.target for d in derived}
        sources = [name for name in encoded if name not in targets]
        for name in sources:
            if name not in ordered:
                ordered[name] = fit_marginal(preview[name], rng)
        chosen = strata.choose(preview, ordered, sources) if self.options["stratify"] else None
        model = _Model({n: e.levels for n, e in encoded.items()}, derived, stratum_column=chosen)
        if chosen is None:
            masks, weights = [np.ones(n, dtype=bool)], np.ones(1)
        else:
            masks, weights = strata.groups(encoded[chosen], n)
        for mask in masks:
            rows = _at_most(mask, FIT_ROWS, rng)
            part = {name: subset(encoded[name], rows) for name in sources}
            model.groups.append(GaussianCopula.fit(part, sources, rng))
        model.group_cumulative = np.cumsum(weights)
        model.group_cumulative[-1] = 1.0
        self._model = model

    # -- sampling -------------------------------------------------------------------------
    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        schema = self._require_fitted()
        model = self._model
        aux_rng = rng.spawn(1)[0]  # independent of how many normals are drawn below
        dims = max((g.dims for g in model.groups), default=0)
        eps = rng.standard_normal((num_rows, dims))
        aux = aux_rng.random((num_rows, len(schema.columns) + 1))
        group_of = np.searchsorted(model.group_cumulative, aux[:, -1], side="right")
        group_of = np.minimum(group_of, len(model.groups) - 1)
        codes = _sample_groups(model.groups, group_of, eps)
        position_of = {spec.name: i for i, spec in enumerate(schema.columns)}
        pending = list(model.derived)
        while pending:  # sources before targets; the graph is acyclic (finer -> coarser)
            for derivation in [d for d in pending if d.source in codes]:
                values, present = codes[derivation.source]
                uniform = aux[:, position_of[derivation.target]]
                codes[derivation.target] = derivation.apply(values, present, uniform)
                pending.remove(derivation)
        out: dict[str, pd.Series] = {}
        for position, spec in enumerate(schema.columns):
            if spec.name in codes:
                values, present = codes[spec.name]
                out[spec.name] = decode(values, present, spec, model.levels[spec.name])
            elif spec.kind == ColumnKind.IDENTIFIER:
                out[spec.name] = identifier_column(spec, block * CHUNK_ROWS, num_rows, aux_rng)
            else:
                out[spec.name] = constant_column(spec, num_rows, aux[:, position])
        return pd.DataFrame(out)

    # -- saving ---------------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        model = self._model
        arrays: dict[str, np.ndarray] = {"group_cumulative": model.group_cumulative}
        groups = []
        for g, group in enumerate(model.groups):
            params, group_arrays = group.to_state(f"g{g}_")
            groups.append(params)
            arrays.update(group_arrays)
        derived = []
        for i, derivation in enumerate(model.derived):
            params_d, mapping, fallback = derivation.to_state()
            arrays[f"derived_map_{i}"] = mapping
            arrays[f"derived_fallback_{i}"] = fallback
            derived.append(params_d)
        state = {
            "levels": model.levels,
            "derived": derived,
            "groups": groups,
            "stratum_column": model.stratum_column,
        }
        return state, arrays

    def load_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        derived = [
            Derivation.from_state(item, arrays[f"derived_map_{i}"], arrays[f"derived_fallback_{i}"])
            for i, item in enumerate(params["derived"])
        ]
        groups = [
            GaussianCopula.from_state(item, arrays, f"g{g}_")
            for g, item in enumerate(params["groups"])
        ]
        self._model = _Model(
            params["levels"],
            derived,
            groups,
            arrays["group_cumulative"],
            params.get("stratum_column"),
        )


def _sample_groups(
    groups: list[GaussianCopula], group_of: np.ndarray, eps: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Sample every row from its stratum's copula; rows keep their order."""
    if len(groups) == 1:
        return groups[0].sample(eps)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for g, group in enumerate(groups):
        rows = np.flatnonzero(group_of == g)
        if not len(rows):
            continue
        for name, (values, present) in group.sample(eps[rows]).items():
            if name not in out:
                out[name] = (np.zeros(len(eps), dtype=values.dtype), np.zeros(len(eps), bool))
            out[name][0][rows] = values
            out[name][1][rows] = present
    return out


def _sample_mask(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of `size` random rows (all rows when there are fewer)."""
    return _at_most(np.ones(n, dtype=bool), size, rng)


def _at_most(mask: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`mask` thinned to a uniform random `size` of its rows when it has more."""
    chosen = np.flatnonzero(mask)
    if len(chosen) <= size:
        return mask
    thinned = np.zeros(len(mask), dtype=bool)
    thinned[rng.choice(chosen, size, replace=False)] = True
    return thinned


def _order_levels(enc: Encoded, preview: Encoded, profile: np.ndarray | None) -> None:
    """Reorder categories along the first principal direction of their numeric means.

    The copula links a category to numbers only through its position in [0, 1), so
    putting categories with similar numeric profiles next to each other lets one
    correlation coefficient carry most of the categorical-numeric trend. `preview`
    (a sample of the rows, aligned with `profile`) is reordered too.
    """
    if enc.levels is None or len(enc.levels) < 3 or profile is None:
        return
    k = len(enc.levels)
    rows = np.nan_to_num(profile[preview.present])
    codes = preview.values
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    means = (
        np.column_stack(
            [np.bincount(codes, weights=rows[:, j], minlength=k) for j in range(rows.shape[1])]
        )
        / np.maximum(counts, 1)[:, None]
    )
    weights = np.sqrt(counts / max(counts.sum(), 1.0))[:, None]
    _, _, vt = np.linalg.svd(means * weights, full_matrices=False)
    order = np.argsort(means @ vt[0], kind="stable")
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    enc.values = remap[enc.values]
    enc.levels = [enc.levels[i] for i in order]
    preview.values = remap[preview.values]
    preview.levels = enc.levels
