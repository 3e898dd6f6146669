"""Datasets of several linked tables: a .zip of CSV/Parquet files, one table per file.

At upload the bundle is read whole (the tables' keys can only be found across all of
their rows), checked against the customer's shape limits, and its metadata (primary
and foreign keys) is validated and stored with each table's schema: a `metadata.json`
in the zip (as `synthdata inspect DIR --save-metadata` writes it) if there is one, else
what `synthdata.relational.detect_metadata` finds. A bundle the synthesizer could not
honour (a missing parent table, keys of mismatched types, cyclic references) is refused
then, with 422, rather than failing a job later.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from synthdata.engine.errors import InputError
from synthdata.service.datasets.limits import ShapeLimits

if TYPE_CHECKING:
    from synthdata.relational import Metadata

BUNDLE_FORMAT = "zip"
"""The `format` of a dataset that is a bundle of tables (the stored file is data.zip)."""

SCHEMA_SAMPLE_ROWS = 100_000
"""Rows of each table the stored schema is inferred from (the job fits on all of them)."""

_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
METADATA_MEMBER = "metadata.json"
_MAX_METADATA_BYTES = 1024**2


def is_bundle_upload(filename: str) -> bool:
    """Whether an uploaded file is a bundle of tables (by its name, as the format is)."""
    return filename.lower().endswith(f".{BUNDLE_FORMAT}")


def is_bundle_dataset(fmt: str) -> bool:
    """Whether a stored dataset of format `fmt` is a bundle of tables."""
    return fmt == BUNDLE_FORMAT


def inspect_bundle(
    path: Path, *, name: str, limits: ShapeLimits
) -> tuple[int, int, dict[str, Any]]:
    """Rows over all tables, columns over all tables, and the schema document of the
    bundle stored at `path`: {"metadata": ..., "tables": {name: {"rows": n, "columns": [...]}}}.

    Errors (`InputError`, a 422) are one line and name the upload as `name`.
    """
    try:
        return _inspect(path, limits)
    except InputError as exc:
        # The bundle is stored as data.zip: say the customer's file name instead.
        raise InputError(str(exc).replace(str(path), name).replace(path.name, name)) from None


def _inspect(path: Path, limits: ShapeLimits) -> tuple[int, int, dict[str, Any]]:
    from synthdata.engine.schema import infer_schema
    from synthdata.relational import detect_metadata, read_bundle

    _check_table_count(path, limits.tables)
    declared = _declared_metadata(path)
    tables = read_bundle(path)
    for table, frame in tables.items():
        if frame.shape[1] > limits.columns:
            raise InputError(
                f"table {table!r} has {frame.shape[1]:,} columns, over the limit of "
                f"{limits.columns:,} per table"
            )
    total = sum(len(frame) for frame in tables.values())
    if total > limits.rows:
        raise InputError(
            f"the tables hold {total:,} rows in all, over the limit of {limits.rows:,}"
        )
    metadata = declared if declared is not None else detect_metadata(tables)
    metadata.validate(tables)
    described: dict[str, Any] = {}
    for table, frame in tables.items():
        meta = metadata.tables.get(table)
        overrides = dict(meta.kinds) if meta is not None and meta.kinds else None
        schema = infer_schema(frame.head(SCHEMA_SAMPLE_ROWS), overrides)
        described[table] = {"rows": len(frame), **schema.to_dict()}
    columns = sum(frame.shape[1] for frame in tables.values())
    document = {"metadata": json.loads(metadata.to_json()), "tables": described}
    return total, columns, document


def _declared_metadata(path: Path) -> Metadata | None:
    """The metadata.json at the top of the zip, if the customer put one there."""
    from synthdata.relational import Metadata

    with zipfile.ZipFile(path) as archive:
        try:
            member = archive.getinfo(METADATA_MEMBER)
        except KeyError:
            return None
        if member.file_size > _MAX_METADATA_BYTES:
            raise InputError(f"{METADATA_MEMBER} is over {_MAX_METADATA_BYTES:,} bytes")
        text = archive.read(member).decode("utf-8", errors="replace")
    return Metadata.from_json(text)


def _check_table_count(path: Path, most: int) -> None:
    """Refuse a bundle of too many tables from its directory, before decoding any."""
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path.name} is not a zip archive of CSV/Parquet files")
    with zipfile.ZipFile(path) as archive:
        names = [
            PurePosixPath(member.filename).name
            for member in archive.infolist()
            if not member.is_dir()
        ]
    count = sum(
        1
        for item in names
        if not item.startswith(".") and PurePosixPath(item).suffix.lower() in _TABLE_SUFFIXES
    )
    if count > most:
        raise InputError(f"{path.name} holds {count:,} tables, over the limit of {most:,}")
