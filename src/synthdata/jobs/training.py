"""Fitting a synthesizer on a stored table and saving it where a job expects it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from synthdata.engine.base import Synthesizer
from synthdata.engine.loading import FitLimits
from synthdata.engine.table_scan import TableSource
from synthdata.jobs import telemetry
from synthdata.observability.metrics import model_training_duration_seconds
from synthdata.service.core.settings import Settings

log = logging.getLogger("synthdata.jobs")


def fit_limits(settings: Settings) -> FitLimits:
    """The sample a job fits on: `fit_max_rows` rows within `fit_memory_mb` of reading.

    The seed is fixed, so a dataset always gives the same sample (and the model
    cache's key, which names the limits, stays valid).
    """
    return FitLimits(max_rows=settings.fit_max_rows, memory_mb=settings.fit_memory_mb)


@telemetry.step("job.fit")
def fit_to_file(
    source: str | Path | TableSource,
    target: Path,
    synthesizer: str,
    constraints: list[Any] | None = None,
    limits: FitLimits | None = None,
) -> Synthesizer:
    """Fit `synthesizer` on the table at `source` and save it to `target` atomically.

    The upload limit was applied when the table was stored, so no size limit here;
    a table over `limits` (see `fit_limits`) is sampled by the engine's loader, so
    memory stays bounded whatever its size.
    """
    from synthdata import fit

    started = time.perf_counter()
    model = fit(
        source,
        synthesizer=synthesizer,
        max_input_bytes=None,
        constraints=constraints,
        fit_limits=limits,
    )
    if model.rows_seen > model.fitted_rows:
        log.info(
            "fitted %s on a sample of %d of %d rows",
            synthesizer,
            model.fitted_rows,
            model.rows_seen,
        )
    model_training_duration_seconds.labels(synthesizer).observe(time.perf_counter() - started)
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    return model
