"""One engine's fit + sample of a set of linked tables, in a process of its own.

`benchmarks.multitable` starts ``python -m benchmarks.multitable_runs TASK.json RESULT.json``
through `engine_benchmark.run_child`, so each engine's peak memory is its own. The task
names a folder of real tables (Parquet, one per table), the metadata file (our JSON),
the engine and the folder the synthetic tables go to. Reading is not timed; fitting and
sampling are.

Engines:

- ``ours``: `synthdata.relational.fit_tables` and `TablesModel.sample(scale=1.0)`;
- ``sdv_hma``: SDV's ``HMASynthesizer`` with default settings, given the same primary and
  foreign keys (SDV's ``Metadata.detect_from_dataframes`` for the column types, then our
  keys in place of the relationships it detected), sampling as many rows as the real
  root table has;
- ``independent``: every column of every table resampled on its own, primary keys
  copied from the real rows and each foreign key pointing at a parent row drawn
  uniformly at random: the floor for every relationship.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.fidelity_runs import peak_rss_bytes
from synthdata.relational.metadata import Metadata


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every ``NAME.parquet`` in `folder`, by name."""
    return {file.stem: pd.read_parquet(file) for file in sorted(folder.glob("*.parquet"))}


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)


def ours(tables: dict[str, pd.DataFrame], metadata: Metadata, seed: int) -> Any:
    import synthdata
    from synthdata.relational import fit_tables

    started = time.perf_counter()
    model = fit_tables(tables, metadata, seed=seed)
    fitted = time.perf_counter()
    synthetic = model.sample(scale=1.0, seed=seed)
    label = f"synthdata {synthdata.__version__} fit_tables"
    return label, fitted - started, time.perf_counter() - fitted, synthetic


def sdv_hma(tables: dict[str, pd.DataFrame], metadata: Metadata, seed: int) -> Any:
    import sdv as sdv_package
    from sdv.metadata import Metadata as SdvMetadata
    from sdv.multi_table import HMASynthesizer

    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        sdv_metadata = SdvMetadata.detect_from_dataframes(tables)
        _use_our_keys(sdv_metadata, metadata)
        model = HMASynthesizer(sdv_metadata, verbose=False)
        model.fit(tables)
        fitted = time.perf_counter()
        root = metadata.order()[0]
        synthetic = model.sample(num_rows=len(tables[root]), main_table_name=root)
        sampled = time.perf_counter()
    label = f"SDV {sdv_package.__version__} HMASynthesizer (defaults)"
    return label, fitted - started, sampled - fitted, synthetic


def _use_our_keys(sdv_metadata: Any, metadata: Metadata) -> None:
    """Replace the keys SDV detected by ours, so both engines model the same links."""
    for relation in list(sdv_metadata.relationships):
        sdv_metadata.remove_relationship(
            relation["parent_table_name"], relation["child_table_name"]
        )
    for name, table in metadata.tables.items():
        (key,) = table.primary_key  # SDV has no composite keys; our datasets use none
        sdv_metadata.update_column(key, table_name=name, sdtype="id")
        sdv_metadata.set_primary_key(key, table_name=name)
    for fk in metadata.foreign_keys:
        sdv_metadata.update_column(fk.columns[0], table_name=fk.child, sdtype="id")
        sdv_metadata.add_relationship(
            parent_table_name=fk.parent,
            child_table_name=fk.child,
            parent_primary_key=fk.parent_columns[0],
            child_foreign_key=fk.columns[0],
        )


def independent(tables: dict[str, pd.DataFrame], metadata: Metadata, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    synthetic: dict[str, pd.DataFrame] = {}
    for name in metadata.order():
        real = tables[name]
        keys = set(metadata.tables[name].primary_key)
        columns = {
            column: real[column].to_numpy()
            if column in keys
            else real[column].to_numpy()[rng.integers(0, len(real), len(real))]
            for column in real.columns
        }
        for fk in metadata.parents_of(name):
            parent = synthetic[fk.parent]
            rows = rng.integers(0, len(parent), len(real))
            for column, key in zip(fk.columns, fk.parent_columns, strict=True):
                columns[column] = parent[key].to_numpy()[rows]
        synthetic[name] = pd.DataFrame(columns)
    label = "independent columns, keys drawn uniformly"
    return label, 0.0, time.perf_counter() - started, synthetic


ENGINES = {"ours": ours, "sdv_hma": sdv_hma, "independent": independent}


def main(argv: list[str]) -> None:
    """Run the task in argv[0] (JSON file); write the result to argv[1]."""
    task = json.loads(Path(argv[0]).read_text())
    tables = read_tables(Path(task["real"]))
    metadata = Metadata.load(task["metadata"])
    try:
        label, fit_s, sample_s, synthetic = ENGINES[task["engine"]](tables, metadata, task["seed"])
    except Exception as exc:  # a refusal (SDV's schema limits) is a result, with its reason
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        traceback.print_exc()
        Path(argv[1]).write_text(json.dumps({"error": reason}))
        return
    write_tables(synthetic, Path(task["out"]))
    result = {
        "engine": label,
        "fit_s": fit_s,
        "sample_s": sample_s,
        "total_s": fit_s + sample_s,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    Path(argv[1]).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
