"""The SDK's top-level verbs, accepting DataFrames or file paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from synthdata.engine.base import DEFAULT_SYNTHESIZER, Synthesizer, create_synthesizer
from synthdata.engine.io import DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.loading import load_for_fit

TableLike: TypeAlias = "pd.DataFrame | str | Path"


def fit(
    data: TableLike,
    *,
    synthesizer: str = DEFAULT_SYNTHESIZER,
    overrides: dict[str, str] | None = None,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    **options: Any,
) -> Synthesizer:
    """Fit a synthesizer (default: "chain") on a DataFrame or a CSV/Parquet path."""
    model = create_synthesizer(synthesizer, **options)
    frame = data if isinstance(data, pd.DataFrame) else load_for_fit(data, max_input_bytes)
    return model.fit(frame, overrides=overrides)


def load_model(path: str | Path) -> Synthesizer:
    """Load a model saved with `Synthesizer.save`."""
    from synthdata.engine.model_format import load_model as _load

    return _load(Path(path))


def evaluate(real: TableLike, synthetic: TableLike, **options: Any) -> Any:
    """Score quality and privacy of `synthetic` against `real` (see engine.evaluation)."""
    from synthdata.engine.evaluation import evaluate as _evaluate

    return _evaluate(real, synthetic, **options)
