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

_CLIENT_NAMES = ("Client", "ServiceError", "JobFailedError")


def __getattr__(name: str) -> object:
    # The HTTP client needs httpx; load it only when asked for.
    if name in _CLIENT_NAMES:
        from synthdata import client

        return getattr(client, name)
    raise AttributeError(f"module 'synthdata' has no attribute {name!r}")


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
    "fit",
    "infer_schema",
    "list_synthesizers",
    "load_model",
    "read_table",
    "write_frames",
]
