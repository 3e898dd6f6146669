"""The differentially private synthesizer ("dp"): MST over privately found domains.

The whole fit is (epsilon, delta)-DP for adding or removing one row: the column kinds
come from dtypes and the user's options (public), the numbers' bounds and the category
lists are given by the user or measured with noise (`_dp.columns`), then every one-way
marginal, a spanning tree of the columns and the tree's two-way marginals are measured
with noise (`_dp.tree`). The model file holds those noisy measurements after
post-processing, the ledger of what each step spent (`_dp.accounting`), and the
public inputs; not even the row count is exact. See docs/privacy.md, "Differential
privacy".

Fitting draws its noise from OpenDP's secure generator, so two fits of the same table
differ (a seeded fit would let anyone who knows the seed remove the noise); sampling
is seeded as with every synthesizer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._dp.accounting import DEFAULT_DELTA, Ledger
from synthdata.engine._dp.columns import (
    LEVELS,
    NUMERIC,
    Column,
    counts_by_key,
    fine_edges,
    fine_tokens,
    group_cells,
    key_of,
    level_tokens,
    numbers_of,
    private_bounds,
    public_spec,
)
from synthdata.engine._dp.tree import Tree, fit_tree, sample_tree
from synthdata.engine._dp.values import other_label, plain, public_bounds, within_cells
from synthdata.engine.base import CHUNK_ROWS, Synthesizer, register
from synthdata.engine.columns import decode
from synthdata.engine.errors import InputError
from synthdata.engine.keys import constant_column, identifier_column
from synthdata.engine.pii.kinds import DEFAULT_LOCALE
from synthdata.engine.pii.protect import Secret
from synthdata.engine.rare import min_value_count
from synthdata.engine.schema import ColumnKind, TableSchema

# Shares of the rho budget by step (renormalised over the steps a table needs).
SHARES = {"discover": 0.1, "one_way": 0.3, "select": 0.1, "two_way": 0.5}


@register
class DPSynthesizer(Synthesizer):
    """MST-style synthesizer with an (epsilon, delta)-DP fit (SDK `epsilon=`, CLI `--epsilon`)."""

    name = "dp"

    def __init__(
        self,
        *,
        epsilon: float = 1.0,
        delta: float | None = None,
        bins: int = 16,
        bounds: dict[str, list[Any]] | None = None,
        categories: dict[str, list[Any]] | None = None,
    ) -> None:
        """`epsilon`, `delta`: the budget (delta default `DEFAULT_DELTA`, 1e-6); `bins`:
        coarse tokens per number in the two-way marginals; `bounds`: public
        ``[low, high]`` per number or date-time column and `categories`: public value
        lists per categorical column (no budget is spent finding those; they must not
        come from the table itself)."""
        super().__init__(
            epsilon=float(epsilon),
            delta=float(delta) if delta is not None else None,
            bins=int(bins),
            bounds=dict(bounds or {}),
            categories=dict(categories or {}),
        )
        Ledger(float(epsilon), float(delta or DEFAULT_DELTA))  # checks the budget now
        self.ledger: Ledger | None = None
        self._columns: list[Column] = []
        self._fine: list[np.ndarray] = []  # numbers: noisy mass of each fine cell
        self._tree = Tree([], [], np.ones(1), [])

    @property
    def rows_seen(self) -> int:
        """The noisy row count: the exact number of rows read is not kept."""
        return self.fitted_rows

    @rows_seen.setter
    def rows_seen(self, value: int) -> None:
        pass

    def fit(
        self,
        data: pd.DataFrame,
        *,
        schema: TableSchema | None = None,
        overrides: dict[str, str] | None = None,
        date_formats: dict[str, str] | None = None,
        constraints: Iterable[Any] | None = None,
        auto_constraints: bool = False,
        pii: Mapping[str, str] | None = None,
        detect_pii: bool = True,
        pii_locale: str = DEFAULT_LOCALE,
        pii_secret: Secret | None = None,
        min_value_count: int | None = None,
    ) -> DPSynthesizer:
        """Learn `data` privately. Kinds come from dtypes, `overrides` and `date_formats`
        (or the kinds of a given `schema`); PII detection and constraints would read the
        values outside the budget, so they are off (`pii` may only say "keep"; give
        personal columns the kind "identifier" to regenerate them). A category held by
        fewer than `min_value_count` rows passes the noisy threshold as rarely as one
        held by a single row (docs/privacy.md)."""
        if not isinstance(data, pd.DataFrame):
            raise InputError("fit expects a pandas DataFrame (use synthdata.fit for files)")
        if data.shape[1] == 0 or len(data) == 0:
            raise InputError("the table has no rows or no columns")
        if list(constraints or []) or auto_constraints:
            raise InputError("constraints are not available with differential privacy")
        if any(value != "keep" for value in (pii or {}).values()):
            raise InputError(
                "PII treatments learn from the values and are not available with "
                "differential privacy: give such a column the type 'identifier' or drop it"
            )
        labels = list(data.columns)
        self.column_labels = None
        if not all(isinstance(label, str) for label in labels):
            if len({str(label) for label in labels}) != len(labels):
                raise InputError("the table has duplicate column names (as text)")
            data = data.set_axis([str(label) for label in labels], axis=1)
            self.column_labels = labels
        forced = dict(overrides or {})
        if schema is not None:
            forced = {spec.name: spec.kind.value for spec in schema.columns} | forced
        unknown = (set(forced) | set(date_formats or {})) - set(data.columns)
        if unknown:
            raise InputError(f"override for unknown column(s): {', '.join(sorted(unknown))}")
        self.schema = TableSchema(
            [
                public_spec(name, data[name], forced.get(name), (date_formats or {}).get(name))
                for name in data.columns
            ]
        )
        self._min_count = min_value_count
        self._fit(data, self.schema)
        return self

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        options = self.options
        ledger = Ledger(options["epsilon"], options["delta"] or DEFAULT_DELTA)
        modelled = [s for s in schema.columns if s.kind in (*NUMERIC, *LEVELS)]
        bounds, lists = options["bounds"], options["categories"]
        found = [
            s
            for s in modelled
            if (s.kind in NUMERIC and s.name not in bounds)
            or (s.kind == ColumnKind.CATEGORICAL and s.name not in lists)
        ]
        shares = {
            "discover": SHARES["discover"] if found else 0.0,
            "one_way": SHARES["one_way"] if modelled else 0.0,
            "select": SHARES["select"] if len(modelled) > 1 else 0.0,
            "two_way": SHARES["two_way"] if len(modelled) > 1 else 0.0,
        }
        total = sum(shares.values()) or 1.0
        rho = {step: ledger.rho_budget * share / total for step, share in shares.items()}
        rho_found = rho["discover"] / max(len(found), 1)
        delta_found = ledger.delta_threshold / max(
            sum(s.kind == ColumnKind.CATEGORICAL for s in found), 1
        )
        floor = min_value_count(getattr(self, "_min_count", None))
        columns, fine = [], []
        for spec in modelled:
            series = data[spec.name]
            if spec.kind in NUMERIC:
                values, present = numbers_of(series, spec)
                if spec.name in bounds:
                    low, high = public_bounds(bounds[spec.name], spec.kind)
                else:
                    low, high = private_bounds(values[present], ledger, rho_found, spec.name)
                edges = fine_edges(low, high, integer=spec.kind == ColumnKind.INTEGER)
                columns.append(Column(spec.name, edges=edges))
                fine.append(fine_tokens(values, present, edges))
                continue
            if spec.kind == ColumnKind.BOOLEAN:
                levels: list[Any] = [False, True]
            elif spec.name in lists:
                levels = list(lists[spec.name])
            else:
                kept = ledger.kept_keys(
                    counts_by_key(series), rho_found, delta_found, floor, spec.name
                )
                originals = {key_of(v): v for v in series.dropna().unique()}
                levels = [plain(originals[k]) for k in sorted(kept, key=kept.__getitem__)[::-1]]
            columns.append(Column(spec.name, levels=levels))
            fine.append(level_tokens(series, spec, levels))
        self._columns, self._fine = columns, []
        if not columns:
            self.ledger, self.fitted_rows = ledger, 0
            return
        rho_one = rho["one_way"] / len(columns)
        one_way, coarse = [], []
        for column, tokens in zip(columns, fine, strict=True):
            counts = np.bincount(tokens, minlength=column.fine_size)
            noisy = ledger.noisy_counts(counts, rho_one, "one_way", column.name)
            if column.edges is not None:
                column.groups = group_cells(noisy[:-1], int(options["bins"]))
                self._fine.append(np.maximum(noisy[:-1], 0.0))
            merged = np.bincount(column.coarse(np.arange(column.fine_size)), weights=noisy)
            per_cell = (column.fine_size - 1) / max(column.size - 1, 1)
            one_way.append((merged, per_cell / (2 * rho_one)))
            coarse.append(column.coarse(tokens))
        sizes = [column.size for column in columns]
        names = [column.name for column in columns]
        self._tree = fit_tree(
            np.column_stack(coarse), sizes, one_way, names, ledger, rho["select"], rho["two_way"]
        )
        self.ledger = ledger
        self.fitted_rows = round(float(sum(c.sum() for c, _ in one_way)) / len(one_way))

    # -- sampling -------------------------------------------------------------------------
    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        schema = self._require_fitted()
        aux_rng = rng.spawn(1)[0]
        uniform = rng.random((num_rows, 3 * len(self._columns) + len(schema.columns)))
        width = len(self._columns)
        tokens = sample_tree(self._tree, uniform[:, :width]) if width else None
        by_name = {column.name: k for k, column in enumerate(self._columns)}
        numbers = 0
        out: dict[str, pd.Series] = {}
        for position, spec in enumerate(schema.columns):
            k = by_name.get(spec.name)
            if k is None or tokens is None:
                if spec.kind == ColumnKind.IDENTIFIER:
                    out[spec.name] = identifier_column(spec, block * CHUNK_ROWS, num_rows, aux_rng)
                else:
                    out[spec.name] = constant_column(spec, num_rows, uniform[:, -1 - position])
                continue
            column, drawn = self._columns[k], tokens[:, k]
            present = drawn != column.size - 1
            if column.levels is not None:
                levels = [*column.levels, other_label(column.levels)]
                out[spec.name] = decode(np.where(present, drawn, 0), present, spec, levels)
                continue
            values = within_cells(
                column, self._fine[numbers], drawn, uniform[:, width + 2 * k : width + 2 * k + 2]
            )
            numbers += 1
            out[spec.name] = decode(values, present, spec, None)
        return pd.DataFrame(out)

    # -- saving ---------------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        tree = self._tree
        arrays: dict[str, np.ndarray] = {"root": tree.root}
        numbers = 0
        for k, column in enumerate(self._columns):
            if column.edges is not None and column.groups is not None:
                arrays[f"edges_{k}"], arrays[f"groups_{k}"] = column.edges, column.groups
                arrays[f"fine_{k}"] = self._fine[numbers]
                numbers += 1
        for k, conditional in enumerate(tree.conditionals):
            arrays[f"conditional_{k}"] = conditional
        params = {
            "privacy": self.ledger.to_dict() if self.ledger else None,
            "columns": [column.to_dict() for column in self._columns],
            "order": tree.order,
            "parents": tree.parents,
        }
        return params, arrays

    def load_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.ledger = Ledger.from_dict(params["privacy"]) if params.get("privacy") else None
        self._columns, self._fine = [], []
        for k, item in enumerate(params["columns"]):
            column = Column(item["name"], levels=item["levels"])
            if f"edges_{k}" in arrays:
                column.edges, column.groups = arrays[f"edges_{k}"], arrays[f"groups_{k}"]
                self._fine.append(arrays[f"fine_{k}"])
            self._columns.append(column)
        conditionals = [arrays[f"conditional_{k}"] for k in range(len(params["order"]) - 1)]
        self._tree = Tree(
            list(params["order"]), list(params["parents"]), arrays["root"], conditionals
        )
