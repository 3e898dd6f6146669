"""The SDK's top-level verbs, accepting DataFrames or file paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from synthdata.engine.base import DEFAULT_SYNTHESIZER, Synthesizer, create_synthesizer
from synthdata.engine.io import DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.loading import load_for_fit, text_columns

TableLike: TypeAlias = "pd.DataFrame | str | Path"


def fit(
    data: TableLike,
    *,
    synthesizer: str = DEFAULT_SYNTHESIZER,
    overrides: dict[str, str] | None = None,
    date_formats: dict[str, str] | None = None,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    constraints: Sequence[Any] | str | Path | None = None,
    auto_constraints: bool = False,
    **options: Any,
) -> Synthesizer:
    """Fit a synthesizer (default: "chain") on a DataFrame or a CSV/Parquet path.

    `options` are the synthesizer's parameters (an unknown one is an `InputError`);
    `overrides` force column kinds and `date_formats` give the format of date-times
    written as text (see `infer_schema`). `constraints` (a list, or a YAML file's
    path) hold in every sampled row (see `engine.constraints`), and with
    `auto_constraints` also those found to hold in every real row.
    """
    if isinstance(constraints, str | Path):
        from synthdata.engine.constraints import load_constraints

        constraints = load_constraints(constraints)
    model = create_synthesizer(synthesizer, **options)
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        text = text_columns(overrides, date_formats)
        frame = load_for_fit(data, max_input_bytes, text=text)
    return model.fit(
        frame,
        overrides=overrides,
        date_formats=date_formats,
        constraints=constraints,
        auto_constraints=auto_constraints,
    )


def load_model(path: str | Path) -> Synthesizer:
    """Load a model saved with `Synthesizer.save`."""
    from synthdata.engine.model_format import load_model as _load

    return _load(Path(path))


def evaluate(real: TableLike, synthetic: TableLike, **options: Any) -> Any:
    """Score quality and privacy of `synthetic` against `real` (see engine.evaluation)."""
    from synthdata.engine.evaluation import evaluate as _evaluate

    return _evaluate(real, synthetic, **options)
