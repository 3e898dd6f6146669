"""Inferloop Synthetic Data: turn a real table into a faithful, privacy-safe synthetic one.

import synthdata
model = synthdata.fit("customers.csv")          # or a pandas DataFrame
fake = model.sample(10_000, seed=7)
model.save("customers.synth")
report = synthdata.evaluate(real_df, fake)
"""

from synthdata._api import evaluate, fit, load_model
from synthdata.engine.base import Synthesizer, create_synthesizer, list_synthesizers
from synthdata.engine.errors import (
    InputError,
    MissingDependencyError,
    ModelFormatError,
    NotFittedError,
    SynthDataError,
)
from synthdata.engine.io import read_table, write_frames
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema, infer_schema

__version__ = "0.1.0"

__all__ = [
    "ColumnKind",
    "ColumnSpec",
    "InputError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFittedError",
    "SynthDataError",
    "Synthesizer",
    "TableSchema",
    "__version__",
    "create_synthesizer",
    "evaluate",
    "fit",
    "infer_schema",
    "list_synthesizers",
    "load_model",
    "read_table",
    "write_frames",
]
