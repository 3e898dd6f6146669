"""The SDK's top-level verbs, accepting DataFrames or file paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from synthdata.engine.base import DEFAULT_SYNTHESIZER, Synthesizer, create_synthesizer
from synthdata.engine.io import DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.loading import FitLimits, sample_for_fit, text_columns
from synthdata.engine.pii.kinds import DEFAULT_LOCALE
from synthdata.engine.registry import private_synthesizer
from synthdata.engine.table_scan import TableSource

TableLike: TypeAlias = "pd.DataFrame | str | Path"


def fit(
    data: TableLike | TableSource,
    *,
    synthesizer: str = DEFAULT_SYNTHESIZER,
    overrides: dict[str, str] | None = None,
    date_formats: dict[str, str] | None = None,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    constraints: Sequence[Any] | str | Path | None = None,
    auto_constraints: bool = False,
    fit_limits: FitLimits | None = None,
    pii: dict[str, str] | None = None,
    detect_pii: bool = True,
    pii_locale: str = DEFAULT_LOCALE,
    pii_secret: str | bytes | None = None,
    min_value_count: int | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    **options: Any,
) -> Synthesizer:
    """Fit a synthesizer (default: "chain") on a DataFrame or a CSV/Parquet path.

    `options` are the synthesizer's parameters (an unknown one is an `InputError`);
    `overrides` force column kinds and `date_formats` give the format of date-times
    written as text (see `infer_schema`). `constraints` (a list, or a YAML file's
    path) hold in every sampled row (see `engine.constraints`), and with
    `auto_constraints` also those found to hold in every real row.

    Personal data is replaced by default: `pii` maps a column to a kind ("email",
    "phone", "person_name", ...) or "keep"; `detect_pii=False` replaces only the columns
    named there; `pii_secret` makes the fakes consistent (see docs/privacy.md, "PII").

    A file, or a `TableSource` (a table in a pyarrow filesystem, e.g. an object
    store), is streamed and a seeded uniform sample within `fit_limits` (default
    `FitLimits()`: a million rows, 1 GB of reading memory) is fitted; the model's
    `rows_seen` and `fitted_rows` say how many rows were read and used.

    A category held by fewer than `min_value_count` real rows (default:
    `SYNTHDATA_MIN_VALUE_COUNT`, else 5) is never sampled verbatim (see `engine.rare`).

    `epsilon` (and `delta`, default 1e-6) fit the "dp" synthesizer, whose whole fit is
    (epsilon, delta)-differentially private (see docs/privacy.md).
    """
    if isinstance(constraints, str | Path):
        from synthdata.engine.constraints import load_constraints

        constraints = load_constraints(constraints)
    if epsilon is not None or delta is not None:
        synthesizer = private_synthesizer(synthesizer, epsilon, delta)
        options = {**options, "epsilon": epsilon, "delta": delta}
    model = create_synthesizer(synthesizer, **options)
    rows_seen: int | None = None
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        text = text_columns(overrides, date_formats)
        sample = sample_for_fit(data, fit_limits, max_bytes=max_input_bytes, text=text)
        frame, rows_seen = sample.frame, sample.rows_seen
    model.fit(
        frame,
        overrides=overrides,
        date_formats=date_formats,
        constraints=constraints,
        auto_constraints=auto_constraints,
        pii=pii,
        detect_pii=detect_pii,
        pii_locale=pii_locale,
        pii_secret=pii_secret,
        min_value_count=min_value_count,
    )
    if rows_seen is not None:
        model.rows_seen = rows_seen
    return model


def load_model(path: str | Path) -> Synthesizer:
    """Load a model saved with `Synthesizer.save`."""
    from synthdata.engine.model_format import load_model as _load

    return _load(Path(path))


def evaluate(real: TableLike, synthetic: TableLike, **options: Any) -> Any:
    """Score quality and privacy of `synthetic` against `real` (see engine.evaluation)."""
    from synthdata.engine.evaluation import evaluate as _evaluate

    return _evaluate(real, synthetic, **options)
