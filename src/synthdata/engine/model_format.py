"""The saved-model format: a zip of JSON and plain numeric arrays, never pickle.

    model.json    {"format": "synthdata-model", "version": 1, "synthesizer": ...,
                   "options": {...}, "schema": {...}, "params": {...}, "fitted_rows": N,
                   "rows_seen": M (rows read; more than N when a large table was sampled),
                   "column_labels": [...] (only when the table's names were not all text),
                   "constraints": [...] (only when declared; see engine.constraints),
                   "rare_values": [...] (categories pooled as rare: counts and the
                   replacement's shape, never the values; see engine.rare)}
    arrays.npz    named float/int arrays, loaded with allow_pickle=False

Loading such a file cannot run code. What it reveals about the real table is
listed in docs/model-format.md (quantile grids, category lists and frequencies,
the correlation matrix).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synthdata.engine.errors import InputError, ModelFormatError
from synthdata.engine.io import atomic_path
from synthdata.engine.rare import RareColumn
from synthdata.engine.schema import TableSchema

if TYPE_CHECKING:
    from synthdata.engine.base import Synthesizer

FORMAT = "synthdata-model"
VERSION = 1
_MAX_MEMBER_BYTES = 512 * 1024**2


def save_model(model: Synthesizer, path: Path) -> Path:
    """Write `model` to `path` atomically."""
    schema = model._require_fitted()
    params, arrays = model.to_state()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "synthesizer": model.name,
        # The synthesizer's parameters, under the key older files used for them.
        "options": model.get_parameters(),
        "fitted_rows": model.fitted_rows,
        "rows_seen": model.rows_seen,
        "schema": schema.to_dict(),
        "params": params,
    }
    if model.column_labels is not None:
        header["column_labels"] = model.column_labels
    if model.constraints:
        header["constraints"] = [
            c.to_dict() | {"real_share": c.real_share} for c in model.constraints
        ]
    if model.rare_values:
        header["rare_values"] = [rare.to_dict() for rare in model.rare_values.values()]
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", json.dumps(header, default=str))
        archive.writestr("arrays.npz", buffer.getvalue())
    return path


def load_model(path: Path) -> Synthesizer:
    """Read a model written by `save_model`; refuse anything else with ModelFormatError."""
    from synthdata.engine.base import create_synthesizer, synthesizer_class
    from synthdata.engine.constraints import parse_constraint

    if not path.is_file():
        raise ModelFormatError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise ModelFormatError(f"{path.name}: member {info.filename} is too large")
            header = json.loads(archive.read("model.json"))
            raw = archive.read("arrays.npz")
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ModelFormatError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise ModelFormatError(f"{path.name} is not a synthdata model file ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFormatError(f"{path.name} is not a synthdata model file")
    if header.get("version") != VERSION:
        raise ModelFormatError(
            f"{path.name} has model format version {header.get('version')}; "
            f"this release reads version {VERSION}"
        )
    try:
        # Older files may hold options the synthesizer never used (they were ignored
        # then); only the parameters it declares are passed back.
        names = synthesizer_class(header["synthesizer"]).parameter_names()
        saved = dict(header.get("options") or {})
        options = {k: v for k, v in saved.items() if names is None or k in names}
        model = create_synthesizer(header["synthesizer"], **options)
        model.schema = TableSchema.from_dict(header["schema"])
        model.fitted_rows = int(header.get("fitted_rows", 0))
        model.rows_seen = int(header.get("rows_seen", model.fitted_rows))
        labels = header.get("column_labels")
        model.column_labels = list(labels) if labels is not None else None
        model.constraints = [parse_constraint(c) for c in header.get("constraints") or []]
        pooled = [RareColumn.from_dict(item) for item in header.get("rare_values") or []]
        model.rare_values = {rare.column: rare for rare in pooled}
        model.load_state(header["params"], arrays)
    except (KeyError, TypeError, ValueError, InputError) as exc:
        raise ModelFormatError(f"{path.name}: damaged model ({exc})") from None
    return model
