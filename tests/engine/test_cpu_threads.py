"""A worker limited to one CPU thread writes exactly what an unlimited process writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata

# Run in a child process: the limit is process-wide and never lifted.
_LIMITED = """
import sys, pyarrow as pa, synthdata
from threadpoolctl import threadpool_info
from synthdata.engine.threads import limit_cpu_threads, overlap_stages
limit_cpu_threads(1)
assert pa.cpu_count() == 1 and not overlap_stages()
assert all(pool["num_threads"] == 1 for pool in threadpool_info())
model = synthdata.load_model(sys.argv[1])
chunks = model.iter_chunks(int(sys.argv[2]), seed=7)
synthdata.write_frames(chunks, sys.argv[3])
"""


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_one_thread_gives_the_same_file(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 3_000),
            "income": rng.lognormal(10, 1, 3_000),
            "segment": rng.choice(["a", "b", "c"], 3_000),
        }
    )
    model = synthdata.fit(real)
    model_path = tmp_path / "model.synth"
    model.save(model_path)
    unlimited = tmp_path / f"unlimited.{suffix}"
    synthdata.write_frames(model.iter_chunks(250_000, seed=7), unlimited)
    limited = tmp_path / f"limited.{suffix}"
    subprocess.run(
        [sys.executable, "-c", _LIMITED, str(model_path), "250000", str(limited)], check=True
    )
    read = pd.read_csv if suffix == "csv" else pd.read_parquet
    pd.testing.assert_frame_equal(read(limited), read(unlimited))
    assert len(read(limited)) == 250_000
