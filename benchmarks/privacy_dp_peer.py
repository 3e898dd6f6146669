"""smartnoise-synth's MST or AIM on one table, run by `benchmarks.privacy_dp`.

    <smartnoise venv>/bin/python benchmarks/privacy_dp_peer.py TASK.json RESULT.json

Runs under the interpreter of a separate virtual environment (smartnoise-synth 1.0.8
pins older opendp and brings JAX and torch), so it imports nothing of synthdata. The
task gives the training rows (Parquet), the column roles (decided from dtypes, as the
dp synthesizer does), epsilon, delta and the output path. Date-times go in as
seconds and come back as dates. Fitting and sampling are timed; reading is not.
smartnoise spends `preprocessor_eps` (10 % of epsilon, as our discovery step) on the
numbers' bounds; its category lists come from the rows without noise.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

PREPROCESSOR_SHARE = 0.1


def run(task: dict[str, Any]) -> dict[str, Any]:
    from importlib.metadata import version

    from snsynth import Synthesizer

    train = pd.read_parquet(task["train"])
    dates = [name for name in train if pd.api.types.is_datetime64_any_dtype(train[name])]
    for name in dates:
        train[name] = train[name].astype("datetime64[s]").astype("int64").astype(float)
        train.loc[train[name] < -1e17, name] = float("nan")  # NaT
    categorical = list(task["categorical"])
    for name in categorical:
        train[name] = train[name].astype(object).where(train[name].notna(), None)
    continuous = [name for name in train if name not in categorical]
    epsilon = float(task["epsilon"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        model = Synthesizer.create(task["engine"], epsilon=epsilon, delta=task["delta"])
        model.fit(
            train,
            categorical_columns=categorical,
            continuous_columns=continuous,
            preprocessor_eps=PREPROCESSOR_SHARE * epsilon,
            nullable=True,
        )
        fitted = time.perf_counter()
        frame = model.sample(int(task["rows"]))
        sampled = time.perf_counter()
    frame = pd.DataFrame(frame, columns=train.columns)
    for name in dates:
        frame[name] = pd.to_datetime(pd.to_numeric(frame[name], errors="coerce"), unit="s")
    frame.to_parquet(task["out"], index=False)
    label = f"smartnoise-synth {version('smartnoise-synth')} {task['engine'].upper()}"
    return {"engine": label, "fit_s": fitted - started, "sample_s": sampled - fitted}


if __name__ == "__main__":
    task_file, result_file = sys.argv[1:3]
    result = run(json.loads(Path(task_file).read_text()))
    Path(result_file).write_text(json.dumps(result))
