"""Several linked tables synthesized together, with every foreign key joining.

    from synthdata.relational import fit_tables, read_bundle
    model = fit_tables("shop/")                 # a folder or .zip of CSV/Parquet files
    tables = model.sample(scale=0.1, seed=7)    # dict: table name -> DataFrame

Metadata (primary and foreign keys) is detected from the data or given
(`Metadata`, JSON); see docs/multitable.md.
"""

from __future__ import annotations

from synthdata.relational._detect import detect_metadata
from synthdata.relational.bundle import read_bundle, write_bundle
from synthdata.relational.metadata import ForeignKey, Metadata, RelationalError, TableMeta
from synthdata.relational.model import TablesModel, fit_tables, load_tables_model

__all__ = [
    "ForeignKey",
    "Metadata",
    "RelationalError",
    "TableMeta",
    "TablesModel",
    "detect_metadata",
    "fit_tables",
    "load_tables_model",
    "read_bundle",
    "write_bundle",
]
