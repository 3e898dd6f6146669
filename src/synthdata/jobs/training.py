"""Fitting a synthesizer on a stored table and saving it where a job expects it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from synthdata.engine.base import Synthesizer
from synthdata.jobs import telemetry
from synthdata.observability.metrics import model_training_duration_seconds


@telemetry.step("job.fit")
def fit_to_file(
    source: str | Path, target: Path, synthesizer: str, constraints: list[Any] | None = None
) -> Synthesizer:
    """Fit `synthesizer` on the table at `source` and save it to `target` atomically.

    The upload limit was applied when the table was stored, so no size limit here;
    large tables are sampled by the engine's loader to bound memory.
    """
    from synthdata import fit

    started = time.perf_counter()
    model = fit(source, synthesizer=synthesizer, max_input_bytes=None, constraints=constraints)
    model_training_duration_seconds.labels(synthesizer).observe(time.perf_counter() - started)
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    return model
