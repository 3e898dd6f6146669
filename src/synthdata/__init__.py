"""Inferloop Synthetic Data: turn a real table into a faithful, privacy-safe synthetic one.

import synthdata
model = synthdata.fit("customers.csv")          # or a pandas DataFrame
fake = model.sample(10_000, seed=7)
model.save("customers.synth")
report = synthdata.evaluate(real_df, fake)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthdata._api import evaluate, fit, load_model
    from synthdata.client import Client, JobFailedError, ServiceError
    from synthdata.engine.base import Synthesizer, create_synthesizer, list_synthesizers
    from synthdata.engine.errors import (
        InputError,
        MissingDependencyError,
        ModelFormatError,
        NotFittedError,
        SynthDataError,
    )
    from synthdata.engine.io import read_table, write_frames
    from synthdata.engine.pii.protect import pseudonymise
    from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema, infer_schema
    from synthdata.relational import fit_tables, load_tables_model
    from synthdata.relational.evaluation import evaluate_tables

__version__ = "0.1.0"

# Where each public name lives. They are imported on first use, not here: the engine
# needs pandas, NumPy and scikit-learn (about 2 s), the client needs httpx, and the
# command line imports this package just to print its help or version.
_EXPORTS = {
    "evaluate": "synthdata._api",
    "fit": "synthdata._api",
    "load_model": "synthdata._api",
    "Client": "synthdata.client",
    "JobFailedError": "synthdata.client",
    "ServiceError": "synthdata.client",
    "Synthesizer": "synthdata.engine.base",
    "create_synthesizer": "synthdata.engine.base",
    "list_synthesizers": "synthdata.engine.base",
    "InputError": "synthdata.engine.errors",
    "MissingDependencyError": "synthdata.engine.errors",
    "ModelFormatError": "synthdata.engine.errors",
    "NotFittedError": "synthdata.engine.errors",
    "SynthDataError": "synthdata.engine.errors",
    "read_table": "synthdata.engine.io",
    "write_frames": "synthdata.engine.io",
    "pseudonymise": "synthdata.engine.pii.protect",
    "ColumnKind": "synthdata.engine.schema",
    "ColumnSpec": "synthdata.engine.schema",
    "TableSchema": "synthdata.engine.schema",
    "infer_schema": "synthdata.engine.schema",
    "fit_tables": "synthdata.relational",
    "load_tables_model": "synthdata.relational",
    "evaluate_tables": "synthdata.relational.evaluation",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthdata' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Client",
    "ColumnKind",
    "ColumnSpec",
    "InputError",
    "JobFailedError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFittedError",
    "ServiceError",
    "SynthDataError",
    "Synthesizer",
    "TableSchema",
    "__version__",
    "create_synthesizer",
    "evaluate",
    "evaluate_tables",
    "fit",
    "fit_tables",
    "infer_schema",
    "list_synthesizers",
    "load_model",
    "load_tables_model",
    "pseudonymise",
    "read_table",
    "write_frames",
]
