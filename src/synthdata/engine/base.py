"""The synthesizer surface shared by every algorithm.

The registry by name lives in `engine.registry` (importable without NumPy or pandas)
and is re-exported here, where the algorithms and callers import it from.

`fit` validates and prepares the table, then calls the algorithm's `_fit`;
`sample` calls `_sample_chunk` once per fixed-size chunk, each chunk drawing from
its own seed derived from the user's seed, so the same seed gives the same rows
whether they are asked for at once or streamed to a file.

Each synthesizer declares its parameters as keyword-only arguments of `__init__`
(with types and defaults); `create_synthesizer` refuses a name or a type that the
signature does not accept, so a typo fails loudly instead of being ignored.
"""

from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.engine._constraints.sampling import constrained_chunk
from synthdata.engine.constraints import (
    ConditionCheck,
    Constraint,
    FixedCombinations,
    declared_totals,
    derive,
    fit_constraints,
    kept_for,
    propose_constraints,
    unmet,
)
from synthdata.engine.errors import InputError, NotFittedError
from synthdata.engine.parameters import check_parameters
from synthdata.engine.pii.kinds import DEFAULT_LOCALE
from synthdata.engine.pii.protect import Secret, protect_frame
from synthdata.engine.rare import RARE_LEVEL, RareColumn, pool_rare, replace_rare
from synthdata.engine.rare import min_value_count as rare_min_count
from synthdata.engine.registry import DEFAULT_SYNTHESIZER as DEFAULT_SYNTHESIZER
from synthdata.engine.registry import list_synthesizers as list_synthesizers
from synthdata.engine.registry import register as register
from synthdata.engine.registry import synthesizer_class
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema
from synthdata.engine.threads import overlap_stages

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) while fitting or sampling."""

CHUNK_ROWS = 100_000
# Below this many rows most synthetic values are real ones (every category, constant
# and number with few values is drawn from the real rows): fitting warns.
SMALL_TABLE_ROWS = 50
FILL_TRIES = 20  # draws of a seed row's empty cells before a constraint is called unmeetable
_RARE_STREAM = 2**20  # spawn key of rare values' replacements: no chunk stream uses it


class SmallTableWarning(UserWarning):
    """The table is so small that the synthetic rows mostly repeat the real ones."""


class Synthesizer(ABC):
    """Learns a table and samples new rows of the same shape."""

    name: ClassVar[str]
    supports_save: ClassVar[bool] = True
    """Whether `save` can write this synthesizer to a model file (SDV's cannot)."""
    supports_conditions: ClassVar[bool] = False
    """Whether `sample` takes `conditions` (its `_sample_chunk` takes them as a keyword)."""

    def __init__(self, **parameters: Any) -> None:
        """Subclasses declare their parameters as keyword-only arguments and pass them here."""
        self.options = parameters  # kept under this name: algorithms read it while fitting
        self.schema: TableSchema | None = None
        self.fitted_rows = 0
        # Rows of the source table read while fitting: more than `fitted_rows` when a
        # large file was sampled (engine/loading.py), else the same.
        self.rows_seen = 0
        self.column_labels: list[Hashable] | None = None  # the user's, when not all text
        self.constraints: list[Constraint] = []  # every sampled row meets them
        # Categories pooled as rare while fitting, by column (engine/rare.py).
        self.rare_values: dict[str, RareColumn] = {}

    def get_parameters(self) -> dict[str, Any]:
        """The parameters this synthesizer was created with, by name (as SDV's)."""
        return dict(self.options)

    @classmethod
    def parameter_names(cls) -> list[str] | None:
        """The keyword parameters `__init__` accepts (None: any, it takes ``**kwargs``)."""
        names = []
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if parameter.kind == parameter.VAR_KEYWORD:
                return None
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                names.append(parameter.name)
        return names

    # -- public steps -------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        *,
        schema: TableSchema | None = None,
        overrides: dict[str, str] | None = None,
        date_formats: dict[str, str] | None = None,
        constraints: Iterable[Constraint | str | Mapping[str, Any]] | None = None,
        auto_constraints: bool = False,
        pii: Mapping[str, str] | None = None,
        detect_pii: bool = True,
        pii_locale: str = DEFAULT_LOCALE,
        pii_secret: Secret | None = None,
        min_value_count: int | None = None,
    ) -> Synthesizer:
        """Learn `data`; `schema`, or per-column `overrides` and `date_formats`, replace
        inference (see `infer_schema`). Columns of personal data (found, or named in
        `pii`: ``{"col": "email" | ... | "keep"}``) are replaced by fakes of
        `pii_locale`; with `pii_secret` the same real value always gets the same fake
        (see `engine.pii`); the secret is not kept. Every row `sample` returns meets `constraints`
        (see `engine.constraints`), and with `auto_constraints` also every constraint
        found to hold in all the real rows (`engine.constraints.propose_constraints`).

        Column names that are not text (``0``, ``1``...) are modelled as text ("0") and
        given back as they were by `sample`. A category held by fewer than
        `min_value_count` real rows (default: `SYNTHDATA_MIN_VALUE_COUNT`, else 5) is
        never sampled: it is replaced (see `engine.rare`; `rare_values` says where).
        """
        if not isinstance(data, pd.DataFrame):
            raise InputError("fit expects a pandas DataFrame (use synthdata.fit for files)")
        if len(data) == 0:
            raise InputError("the table has no rows")
        labels = list(data.columns)
        self.column_labels = None
        if not all(isinstance(label, str) for label in labels):
            if len({str(label) for label in labels}) != len(labels):
                raise InputError("the table has duplicate column names (as text)")
            data = data.set_axis([str(label) for label in labels], axis=1)
            self.column_labels = labels
        if len(data) < SMALL_TABLE_ROWS:
            warnings.warn(
                SmallTableWarning(
                    f"the table has only {len(data)} row(s): the synthetic rows will mostly "
                    "repeat real values (categories, constants and numbers with few values "
                    "are drawn from the real rows); do not treat them as private"
                ),
                stacklevel=2,
            )
        self.schema = schema or infer_schema(
            data,
            overrides,
            date_formats=date_formats,
            pii=pii,
            detect_pii=detect_pii,
            pii_locale=pii_locale,
        )
        data = protect_frame(data, self.schema, pii_secret)  # before anything reads values
        data, self.rare_values = pool_rare(data, self.schema, rare_min_count(min_value_count))
        self.fitted_rows = self.rows_seen = len(data)
        declared = list(constraints or [])
        if auto_constraints:
            declared += propose_constraints(data, self.schema)
        self.constraints = fit_constraints(declared, data, self.schema)
        if self.rare_values:
            for constraint in self.constraints:
                if isinstance(constraint, FixedCombinations):
                    constraint.forbid(RARE_LEVEL)
        self._fit(data, self.schema)
        return self

    def sample(
        self,
        num_rows: int,
        *,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Return `num_rows` synthetic rows; the same seed gives the same rows.

        `conditions` maps columns to a value, a list of values, or a ``(low, high)``
        range (numbers and dates; None for an open end); every row meets them all.
        """
        chunks = list(self.iter_chunks(num_rows, seed=seed, conditions=conditions))
        if not chunks:
            return self._empty_frame()
        return _in_memory(pd.concat(chunks, ignore_index=True))

    def fill(
        self, partial_rows: pd.DataFrame, *, seed: int | None = None, as_written: bool = False
    ) -> pd.DataFrame:
        """Fill in the empty cells of `partial_rows` ("seed rows", imputation).

        Returns one row per partial row, in order: its known cells as given, the others
        drawn from the model's distribution given them; constraints hold in every row
        (a row that breaks one is drawn again, up to `FILL_TRIES` times). `as_written`
        keeps the forms files are written in (date-only dates stay dates).
        """
        schema = self._require_fitted()
        if not self.supports_conditions:
            raise InputError(
                f"the {self.name} synthesizer cannot fill in partial rows (the chain "
                "synthesizer can)"
            )
        if not isinstance(partial_rows, pd.DataFrame):
            raise InputError("fill expects a pandas DataFrame of partial rows")
        partial = partial_rows.reset_index(drop=True)
        partial.columns = pd.Index([str(label) for label in partial.columns])
        unknown = [name for name in partial.columns if name not in schema.names]
        if unknown:
            raise InputError(f"seed rows: unknown column {unknown[0]!r}")
        declared = declared_totals(self.constraints)
        given = [n for n in partial.columns if partial[n].notna().any()]
        for name in given:
            if name in declared:
                raise InputError(
                    f"seed rows give column {name!r}, which is derived from its parts by "
                    f"the constraint {declared[name].describe()}: give the parts instead"
                )
        kept = kept_for(self.constraints, given)
        if partial.empty:
            return self._empty_frame()
        rng = np.random.default_rng(seed)
        frame = self._fill(partial, rng)
        todo = np.arange(len(partial))
        for _ in range(FILL_TRIES):
            for name in given:  # known cells as given, not as the model would write them
                known = todo[partial[name].notna().to_numpy()[todo]]
                column = frame[name].astype(object).to_numpy()
                column[known] = partial[name].to_numpy(object)[known]
                frame[name] = column
            derive(frame, schema, kept)
            failing = unmet(frame, schema, kept).any(axis=0)
            todo = np.flatnonzero(failing)
            if not todo.size:
                break
            redrawn = self._fill(partial.iloc[todo].reset_index(drop=True), rng)
            # Rows put back in place by concatenation, which keeps each column's type.
            frame = pd.concat([frame.drop(index=todo), redrawn.set_axis(todo)]).sort_index()
        else:
            worst = int(unmet(frame, schema, kept).sum(axis=1).argmax())
            raise InputError(
                f"{todo.size:,} seed row(s) cannot meet the constraint "
                f"{kept[worst].describe()} (first: row {int(todo[0])})"
            )
        frame = self.release_rare(frame, rng.spawn(1)[0])
        frame = frame[schema.names].infer_objects()
        if self.column_labels is not None:
            frame.columns = pd.Index(self.column_labels)
        return frame if as_written else _in_memory(frame)

    def _fill(self, partial: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """One row per partial row, drawn given its known cells (see `fill`)."""
        raise NotImplementedError

    def iter_chunks(
        self,
        num_rows: int,
        *,
        seed: int | None = None,
        progress: Progress | None = None,
        start_row: int = 0,
        conditions: dict[str, Any] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the synthetic rows in chunks of at most `CHUNK_ROWS` (bounded memory).

        `start_row` produces rows [start_row, start_row + num_rows) of the sequence for
        `seed`, so several workers can each write one part of a large job and the parts
        join up to exactly what one worker would have written.
        """
        schema = self._require_fitted()
        if num_rows < 0 or start_row < 0:
            raise InputError("the number of rows must not be negative")
        if conditions and not self.supports_conditions:
            raise InputError(
                f"the {self.name} synthesizer cannot sample with conditions "
                "(the chain synthesizer can)"
            )
        extra = {"conditions": conditions} if conditions else {}
        # A condition on a declared total conditions the model's own draw of it (so its
        # parts fit) and is checked again once the total is derived from them.
        declared = declared_totals(self.constraints)
        constraints = kept_for(self.constraints, conditions or {})
        constraints += [
            ConditionCheck(name, condition)
            for name, condition in (conditions or {}).items()
            if name in declared
        ]
        entropy = np.random.SeedSequence(seed).entropy
        plan = []
        position, end = start_row, start_row + num_rows
        while position < end:
            block, offset = divmod(position, CHUNK_ROWS)
            take = min(CHUNK_ROWS - offset, end - position)
            plan.append((block, offset, take))
            position += take

        def make(block: int, offset: int, take: int) -> pd.DataFrame:
            if constraints:
                frame = constrained_chunk(
                    lambda rows, rng: self._sample_chunk(rows, rng, block, **extra),
                    offset + take,
                    entropy,
                    block,
                    schema,
                    constraints,
                    block * CHUNK_ROWS,
                    conditioned=bool(conditions),
                )
            else:
                rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block,)))
                frame = self._sample_chunk(offset + take, rng, block, **extra)
            # The replacements' own stream: the rows drawn above do not depend on them.
            rare_seed = np.random.SeedSequence(entropy, spawn_key=(block, _RARE_STREAM))
            frame = self.release_rare(frame, rare_seed)
            if offset:
                frame = frame.iloc[offset:].reset_index(drop=True)
            frame = frame[schema.names]
            if self.column_labels is not None:
                frame.columns = pd.Index(self.column_labels)
            return frame

        # The next chunk is sampled on a second thread while the caller writes this one
        # (NumPy releases the GIL), so sampling and writing overlap; not in a process
        # limited to one CPU thread (engine/threads.py), where they take turns.
        done = 0
        if not overlap_stages():
            for block, offset, take in plan:
                frame = make(block, offset, take)
                done += take
                yield frame
                if progress is not None:
                    progress(done, num_rows)
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            ahead: Future[pd.DataFrame] | None = pool.submit(make, *plan[0]) if plan else None
            for index, (_, _, take) in enumerate(plan):
                assert ahead is not None
                frame = ahead.result()
                ahead = pool.submit(make, *plan[index + 1]) if index + 1 < len(plan) else None
                done += take
                yield frame
                if progress is not None:
                    progress(done, num_rows)

    def release_rare(self, frame: pd.DataFrame, seed: Any) -> pd.DataFrame:
        """`frame` with the pooled rare level swapped for each column's replacement."""
        if not self.rare_values:
            return frame
        rng = np.random.default_rng(seed)
        return replace_rare(frame, self.rare_values, self._require_fitted(), rng)

    # -- for algorithms -------------------------------------------------------------------
    @abstractmethod
    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        """Learn the table; `schema` is already settled."""

    @abstractmethod
    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        """Return `num_rows` rows drawn with `rng`; `block` numbers the chunk (for keys).

        Must be prefix-stable: the first m rows are the same whatever `num_rows` >= m.
        """

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return (JSON-safe parameters, named numeric arrays) for saving."""
        raise NotImplementedError(f"the {self.name} synthesizer cannot be saved")

    def load_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what `to_state` returned."""
        raise NotImplementedError(f"the {self.name} synthesizer cannot be loaded")

    def save(self, path: str | Path) -> Path:
        """Save the fitted model to `path` (see docs/model-format.md)."""
        from synthdata.engine.model_format import save_model

        return save_model(self, Path(path))

    # -- helpers --------------------------------------------------------------------------
    def _require_fitted(self) -> TableSchema:
        if self.schema is None:
            raise NotFittedError(f"the {self.name} synthesizer has not been fitted")
        return self.schema

    def _empty_frame(self) -> pd.DataFrame:
        labels = self.column_labels or self._require_fitted().names
        return pd.DataFrame({label: [] for label in labels})


def _in_memory(frame: pd.DataFrame) -> pd.DataFrame:
    """In memory, plain text and datetime64 columns are what users expect (files keep
    dictionary-encoded text and date-only dates)."""
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        elif isinstance(frame[name].dtype, pd.ArrowDtype):  # dates
            frame[name] = frame[name].astype("datetime64[s]")
    return frame


def create_synthesizer(name: str = DEFAULT_SYNTHESIZER, **options: Any) -> Synthesizer:
    """Return a new, unfitted synthesizer by registry name.

    `options` are the synthesizer's parameters; an unknown name or a value of the wrong
    type is an `InputError` that lists what the synthesizer accepts.
    """
    cls = synthesizer_class(name)
    check_parameters(cls, options)
    return cls(**options)


def is_modelled(kind: ColumnKind) -> bool:
    """Whether a column of this kind takes part in the learnt dependencies."""
    return kind not in (ColumnKind.IDENTIFIER, ColumnKind.CONSTANT, ColumnKind.EMPTY)
