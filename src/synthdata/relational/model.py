"""Synthesizing a dataset of linked tables: `fit_tables` -> `TablesModel.sample`.

See docs/multitable.md ("How it synthesizes") for the method: one `chain` model per
table, parents first; each parent row's number of children is a column of the
parent's model, and each child is drawn given its parent row's columns.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from synthdata.engine.base import _in_memory
from synthdata.engine.chain import ChainSynthesizer
from synthdata.engine.errors import ModelFormatError
from synthdata.engine.io import atomic_path
from synthdata.engine.model_format import load_model, save_model
from synthdata.relational._detect import detect_metadata
from synthdata.relational._fitting import TablePlan, fit_table
from synthdata.relational._sampling import sample_table
from synthdata.relational.bundle import read_bundle
from synthdata.relational.metadata import Metadata, RelationalError

FORMAT = "synthdata-tables-model"
VERSION = 1
_MAX_MEMBER_BYTES = 512 * 1024**2


class TablesModel:
    """A fitted model of several linked tables; `sample` returns new linked tables."""

    def __init__(
        self,
        metadata: Metadata,
        plans: dict[str, TablePlan],
        models: dict[str, ChainSynthesizer | None],
    ) -> None:
        self.metadata = metadata
        self._plans = plans
        self._models = models

    def sample(self, scale: float = 1.0, seed: int | None = None) -> dict[str, pd.DataFrame]:
        """New tables: `scale` times the rows of every table without a parent, children
        as many per parent row as the model draws; every foreign key joins its parent.
        The same seed gives the same tables."""
        if not isinstance(scale, int | float) or not np.isfinite(scale) or scale < 0:
            raise RelationalError(f"scale must be a number >= 0, got {scale!r}")
        order = self.metadata.order()
        streams = np.random.SeedSequence(seed).spawn(len(order))
        done: dict[str, pd.DataFrame] = {}
        for name, stream in zip(order, streams, strict=True):
            table_seed = int(stream.generate_state(1)[0])
            plan = self._plans[name]
            done[name] = sample_table(
                plan, self._models[name], self.metadata, done, scale, table_seed
            )
        return {
            name: _in_memory(done[name][self._plans[name].columns]) for name in self.metadata.tables
        }

    def save(self, path: str | Path) -> Path:
        """One zip: metadata.json, tables.json (how each table is rebuilt) and each
        table's model in the engine's format (JSON + npz; no pickle)."""
        target = Path(path)
        tables = {name: plan.to_dict() for name, plan in self._plans.items()}
        header = {"format": FORMAT, "version": VERSION, "tables": tables}
        with tempfile.TemporaryDirectory(prefix="synthdata-tables-") as scratch:
            files = {}
            for index, (name, model) in enumerate(self._models.items()):
                if model is not None:
                    files[name] = save_model(model, Path(scratch) / f"{index}.synth")
                    tables[name]["model"] = f"models/{index}.synth"
            with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
                out.writestr("metadata.json", self.metadata.to_json())
                out.writestr("tables.json", json.dumps(header, default=str))
                for name, file in files.items():
                    out.write(file, tables[name]["model"])
        return target


def fit_tables(
    tables: str | Path | dict[str, pd.DataFrame],
    metadata: Metadata | None = None,
    *,
    seed: int | None = None,
) -> TablesModel:
    """Fit every table of a dataset (a dict of DataFrames, or a folder or .zip of
    CSV/Parquet files); `metadata` defaults to `detect_metadata`'s."""
    frames = read_bundle(tables) if isinstance(tables, str | Path) else dict(tables)
    if not frames:
        raise RelationalError("no tables given")
    metadata = metadata or detect_metadata(frames)
    metadata.validate(frames)
    fitted: dict[str, tuple[pd.DataFrame, ChainSynthesizer | None]] = {}
    plans: dict[str, TablePlan] = {}
    models: dict[str, ChainSynthesizer | None] = {}
    for index, name in enumerate(metadata.order()):
        plan, data, model = fit_table(name, frames, metadata, fitted, (seed or 0) + index)
        plans[name], models[name] = plan, model
        fitted[name] = (data, model)
        for fk in metadata.parents_of(name):  # a parent's frame is kept while children need it
            if all(k.child in fitted for k in metadata.children_of(fk.parent)):
                fitted[fk.parent] = (pd.DataFrame(), fitted[fk.parent][1])
    return TablesModel(metadata, plans, models)


def load_tables_model(path: str | Path) -> TablesModel:
    """Read a model written by `TablesModel.save` (refuses anything else)."""
    source = Path(path)
    if not source.is_file():
        raise ModelFormatError(f"model file not found: {source}")
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise ModelFormatError(f"{source.name}: member {info.filename} is too large")
            metadata = Metadata.from_json(archive.read("metadata.json").decode("utf-8"))
            header = json.loads(archive.read("tables.json"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ModelFormatError(f"{source.name} is not a synthdata tables model")
            if header.get("version") != VERSION:
                raise ModelFormatError(
                    f"{source.name} has tables-model version {header.get('version')}; "
                    f"this release reads version {VERSION}"
                )
            plans: dict[str, TablePlan] = {}
            models: dict[str, ChainSynthesizer | None] = {}
            with tempfile.TemporaryDirectory(prefix="synthdata-tables-") as scratch:
                for name, item in header["tables"].items():
                    member = item.pop("model", None)
                    plans[name] = TablePlan.from_dict(item)
                    models[name] = None
                    if member is not None:
                        file = Path(scratch) / f"{len(models)}.synth"
                        file.write_bytes(archive.read(str(member)))
                        loaded = load_model(file)
                        if not isinstance(loaded, ChainSynthesizer):
                            raise ModelFormatError(f"{source.name}: {name} is not a chain model")
                        models[name] = loaded
    except (ModelFormatError, RelationalError):
        raise
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, OSError) as exc:
        raise ModelFormatError(f"{source.name} is not a synthdata tables model ({exc})") from None
    if set(plans) != set(metadata.tables):
        raise ModelFormatError(f"{source.name}: its tables do not match its metadata")
    return TablesModel(metadata, plans, models)
