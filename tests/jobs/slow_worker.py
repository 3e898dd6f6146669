"""A real `synthdata worker` whose synthesizer is slow, so a test can kill it mid-job.

Run as a script; configured by the same SYNTHDATA_* variables as the real worker.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from synthdata.engine.base import register
from synthdata.engine.copula import GaussianCopulaSynthesizer

SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "0.5"))


@register
class SlowCopula(GaussianCopulaSynthesizer):
    """The copula, sleeping before each sampled block."""

    name = "slow_copula"

    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        time.sleep(SLOW_SECONDS)
        return super()._sample_chunk(num_rows, rng, block)


if __name__ == "__main__":
    from synthdata.jobs.worker import run_worker
    from synthdata.service.core.settings import Settings

    run_worker(Settings(), threads=1)
