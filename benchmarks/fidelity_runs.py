"""One engine's fit + sample for the fidelity benchmark, in a process of its own.

`benchmarks.fidelity` starts ``python -m benchmarks.fidelity_runs TASK.json RESULT.json``
through `engine_benchmark.run_child`, so each engine's peak memory is its own. The task
names the training rows (Parquet), the engine, the number of rows to sample and where to
write them (Parquet). Reading the training file is not timed; fitting and sampling are.

Engines:

- ``independent``: every column drawn on its own from the training values (a baseline
  that keeps every column's distribution and no relationship between columns);
- ``copula``, ``chain``, ...: `synthdata.engine.base.create_synthesizer(name)`;
- ``sdv_gaussian_copula`` and ``sdv_ctgan``: SDV as its users run it: metadata from SDV's
  own ``Metadata.detect_from_dataframes``, default settings (CTGAN with the task's
  ``epochs``), not through our `sdv_adapter`.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SDV_TABLE = "table"


def peak_rss_bytes() -> int:
    """This process's own peak resident set size (VmHWM), in bytes.

    Not ``ru_maxrss``: Linux carries that across exec, so a child of a parent holding a
    million-row table would report the parent's size at the fork as its own peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def independent(train: pd.DataFrame, rows: int, seed: int, task: dict[str, Any]) -> Any:
    """Each column resampled with replacement on its own (seeded)."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    columns = {name: train[name].to_numpy()[rng.integers(0, len(train), rows)] for name in train}
    frame = pd.DataFrame(columns)
    return (
        "independent columns (resampled training values)",
        0.0,
        time.perf_counter() - started,
        frame,
    )


def ours(train: pd.DataFrame, rows: int, seed: int, task: dict[str, Any]) -> Any:
    """One of our synthesizers, by registry name."""
    import synthdata
    from synthdata.engine.base import create_synthesizer, synthesizer_class

    synthesizer_class(task["engine"])  # imports the engine's module, as SDV's is, before timing
    started = time.perf_counter()
    model = create_synthesizer(task["engine"]).fit(train)
    fitted = time.perf_counter()
    frame = model.sample(rows, seed=seed)
    label = f"synthdata {synthdata.__version__} {task['engine']}"
    return label, fitted - started, time.perf_counter() - fitted, frame


def sdv(train: pd.DataFrame, rows: int, seed: int, task: dict[str, Any]) -> Any:
    """SDV's GaussianCopulaSynthesizer or CTGANSynthesizer, set up as SDV's docs show."""
    import sdv as sdv_package
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    np.random.seed(seed)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        # SDV 2 replaced detect_from_dataframe(frame) by detect_from_dataframes({name: frame}).
        metadata = Metadata.detect_from_dataframes({SDV_TABLE: train})
        if task["engine"] == "sdv_ctgan":
            model: Any = CTGANSynthesizer(metadata, epochs=task["epochs"])
            label = f"SDV {sdv_package.__version__} CTGANSynthesizer (epochs={task['epochs']})"
        else:
            model = GaussianCopulaSynthesizer(metadata)
            label = f"SDV {sdv_package.__version__} GaussianCopulaSynthesizer (defaults)"
        model.fit({SDV_TABLE: train})
        fitted = time.perf_counter()
        result = model.sample(rows)
        sampled = time.perf_counter()
    frame = next(iter(result.values())) if isinstance(result, dict) else result
    return label, fitted - started, sampled - fitted, frame


ENGINES = {"independent": independent, "sdv_gaussian_copula": sdv, "sdv_ctgan": sdv}


def fit_sample(task: dict[str, Any]) -> dict[str, Any]:
    """Fit the task's engine on its training rows, sample, write the rows; return times."""
    train = pd.read_parquet(task["train"])
    run = ENGINES.get(task["engine"], ours)
    label, fit_s, sample_s, frame = run(train, task["rows"], task["seed"], task)
    frame.to_parquet(task["out"], index=False)
    return {"engine": label, "fit_s": fit_s, "sample_s": sample_s, "total_s": fit_s + sample_s}


def main(argv: list[str]) -> None:
    """Run the task in argv[0] (JSON file); write the result to argv[1]."""
    task = json.loads(Path(argv[0]).read_text())
    result = fit_sample(task)
    result["peak_rss_bytes"] = peak_rss_bytes()
    Path(argv[1]).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
