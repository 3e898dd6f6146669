"""The engine runs of the control benchmark: conditional sampling and constraints.

Both engines run in the benchmark's own process (one native thread, see
`benchmarks.control`). Ours is the default `chain` synthesizer with conditions passed to
`sample` and constraints to `fit`; SDV's `GaussianCopulaSynthesizer` runs as its users
run it: metadata from `Metadata.detect_from_dataframes`, default settings, conditions
through `sdv.sampling.Condition` and `sample_from_conditions`, constraints through
`sdv.cag` and `add_constraints` before `fit`. Every call that can fail is caught: a
failure is a result, reported with its error, never the end of the run.
"""

from __future__ import annotations

import statistics
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.constraints import (
    Constraint,
    FixedCombinations,
    Inequality,
    OneHot,
    unmet,
)
from synthdata.engine.schema import TableSchema

OURS = "chain"
SDV = "sdv_gaussian_copula"
ENGINES = (OURS, SDV)
SDV_TABLE = "table"
TARGET_SHARE = 0.01
SHARE_RANGE = (0.005, 0.02)


class Engine:
    """One engine fitted on one table: fit, sample, conditional sample (all timed)."""

    label: str

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        raise NotImplementedError

    def sample_where(self, rows: int, seed: int, column: str, value: Any) -> pd.DataFrame:
        raise NotImplementedError


class Ours(Engine):
    def __init__(self, train: pd.DataFrame, constraints: list[dict[str, Any]] | None = None):
        import synthdata

        self.label = f"synthdata {synthdata.__version__} {OURS}"
        self.model = synthdata.fit(train, synthesizer=OURS, constraints=constraints)

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        return self.model.sample(rows, seed=seed)

    def sample_where(self, rows: int, seed: int, column: str, value: Any) -> pd.DataFrame:
        return self.model.sample(rows, seed=seed, conditions={column: value})


class Sdv(Engine):
    def __init__(self, train: pd.DataFrame, constraints: list[Any] | None = None):
        import sdv
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        self.label = f"SDV {sdv.__version__} GaussianCopulaSynthesizer (defaults)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metadata = Metadata.detect_from_dataframes({SDV_TABLE: train})
            self.model = GaussianCopulaSynthesizer(metadata)
            if constraints:
                self.model.add_constraints(constraints)
            self.model.fit({SDV_TABLE: train})

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _table(self.model.sample(rows))

    def sample_where(self, rows: int, seed: int, column: str, value: Any) -> pd.DataFrame:
        from sdv.sampling import Condition

        np.random.seed(seed)
        condition = Condition(num_rows=rows, column_values={column: value})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _table(self.model.sample_from_conditions([condition]))


def _table(result: Any) -> pd.DataFrame:
    """SDV 2 returns {table name: frame} from its sampling calls."""
    return next(iter(result.values())) if isinstance(result, dict) else result


def create(engine: str, train: pd.DataFrame, constraints: list[Any] | None = None) -> Engine:
    """Fit `engine` on `train` (with constraints in that engine's own form)."""
    return Ours(train, constraints) if engine == OURS else Sdv(train, constraints)


def timed(call: Callable[[], Any], repeats: int = 1) -> tuple[Any, float, list[float]]:
    """(first result, median seconds, every run's seconds) of `repeats` runs of `call`."""
    first: Any = None
    seconds = []
    for index in range(repeats):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
        if index == 0:
            first = result
    return first, statistics.median(seconds), seconds


def failure(exc: BaseException) -> str:
    """One line naming the error, its traceback printed for the log."""
    traceback.print_exc()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:400]}"


def levels_by_closeness(train: pd.DataFrame, schema: TableSchema) -> list[dict[str, Any]]:
    """Every categorical (or boolean) level, closest share to 1 % first.

    Ties go to the earlier column, then the smaller value as text: deterministic.
    """
    found = []
    for position, spec in enumerate(schema.columns):
        if spec.kind.value not in ("categorical", "boolean"):
            continue
        counts = train[spec.name].value_counts(dropna=True)
        for value, count in counts.items():
            share = float(count) / len(train)
            key = (abs(share - TARGET_SHARE), position, str(value))
            level = {"column": spec.name, "value": _plain(value), "share": share}
            found.append((key, {**level, "real_rows": int(count)}))
    return [level for _, level in sorted(found, key=lambda item: item[0])]


def pick_condition(train: pd.DataFrame, schema: TableSchema) -> dict[str, Any] | None:
    """The level closest to 1 % of the rows among those within `SHARE_RANGE`, or None."""
    low, high = SHARE_RANGE
    fitting = [x for x in levels_by_closeness(train, schema) if low <= x["share"] <= high]
    return fitting[0] if fitting else None


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value both engines take."""
    return value.item() if isinstance(value, np.generic) else value


def validity(
    frame: pd.DataFrame, schema: TableSchema, constraints: list[Constraint]
) -> dict[str, Any]:
    """Share of rows meeting every constraint, and each constraint's own share."""
    failing = unmet(frame, schema, constraints)
    each = {
        c.describe(): float(1 - row.mean()) for c, row in zip(constraints, failing, strict=True)
    }
    rows_ok = ~failing.any(axis=0) if len(constraints) else np.ones(len(frame), dtype=bool)
    return {"validity": float(rows_ok.mean()) if len(frame) else None, "per_constraint": each}


def sdv_constraints(constraints: list[Constraint]) -> tuple[dict[str, Any], dict[str, str]]:
    """Our constraints in `sdv.cag` form where SDV has one (by our description); the
    others with the reason."""
    from sdv import cag

    expressed: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for c in constraints:
        if isinstance(c, Inequality):
            expressed[c.describe()] = cag.Inequality(c.low, c.high, strict_boundaries=c.strict)
        elif isinstance(c, FixedCombinations):
            expressed[c.describe()] = cag.FixedCombinations(column_names=list(c.names))
        elif isinstance(c, OneHot):
            expressed[c.describe()] = cag.OneHotEncoding(column_names=list(c.names))
        else:
            missing[c.describe()] = f"no {c.kind} constraint in sdv.cag"
    return expressed, missing


def sdv_refusal(train: pd.DataFrame, constraint: Any) -> str | None:
    """None when SDV's `add_constraints` takes `constraint` on this table's metadata,
    else its error (checked one at a time, so one refusal does not hide the others)."""
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metadata = Metadata.detect_from_dataframes({SDV_TABLE: train})
            GaussianCopulaSynthesizer(metadata).add_constraints([constraint])
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return None
