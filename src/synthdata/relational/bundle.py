"""Reading and writing a bundle of tables: a folder, or a zip, of CSV/Parquet files.

Each file is one table named after its file stem (``orders.csv`` -> ``orders``).
Files are read with the engine's readers (`engine.io.read_table`), so a bundle's
CSV files get the same delimiter sniffing, text-preserving columns and one-line
errors as a single table.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import pandas as pd

from synthdata.engine.defaults import DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.io import atomic_path, read_table, write_frames
from synthdata.relational.metadata import RelationalError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
_MAX_TABLES = 1_000  # a zip of more is not a dataset someone meant to upload


def read_bundle(
    path: str | Path, *, max_bytes: int | None = DEFAULT_MAX_INPUT_BYTES
) -> dict[str, pd.DataFrame]:
    """Every CSV/Parquet table in a folder or a .zip, by file stem (name order)."""
    source = Path(path)
    if not source.exists():
        raise RelationalError(f"bundle not found: {source}")
    if source.is_dir():
        return _read_folder(source, max_bytes)
    if source.suffix.lower() != ".zip" or not zipfile.is_zipfile(source):
        raise RelationalError(f"a bundle is a folder or a .zip of CSV/Parquet files: {source}")
    with tempfile.TemporaryDirectory(prefix="synthdata-bundle-") as scratch:
        _extract(source, Path(scratch), max_bytes)
        return _read_folder(Path(scratch), max_bytes, label=source.name)


def write_bundle(tables: dict[str, pd.DataFrame], path: str | Path, fmt: str = "csv") -> Path:
    """Write each table as ``<name>.<fmt>`` into a folder, or into a .zip when `path`
    ends in .zip (written beside and renamed into place when complete)."""
    if fmt not in ("csv", "parquet"):
        raise RelationalError(f"unsupported bundle format {fmt!r} (use csv or parquet)")
    target = Path(path)
    if target.suffix.lower() != ".zip":
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            _write_table(frame, target / f"{name}.{fmt}", fmt)
        return target
    with tempfile.TemporaryDirectory(prefix="synthdata-bundle-") as scratch:
        for name, frame in tables.items():
            _write_table(frame, Path(scratch) / f"{name}.{fmt}", fmt)
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for name in tables:
                out.write(Path(scratch) / f"{name}.{fmt}", f"{name}.{fmt}")
    return target


def _write_table(frame: pd.DataFrame, file: Path, fmt: str) -> None:
    if frame.empty:  # write_frames refuses zero rows; an empty table keeps its header
        with atomic_path(file) as tmp:
            if fmt == "csv":
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
        return
    write_frames([frame], file, fmt=fmt)


def _read_folder(
    folder: Path, max_bytes: int | None, label: str | None = None
) -> dict[str, pd.DataFrame]:
    files = sorted(
        f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in TABLE_SUFFIXES
    )
    if not files:
        raise RelationalError(f"{label or folder} holds no CSV or Parquet files")
    tables: dict[str, pd.DataFrame] = {}
    for file in files:
        if file.stem in tables:
            raise RelationalError(f"{label or folder}: two files for table {file.stem!r}")
        tables[file.stem] = read_table(file, max_bytes=max_bytes)
    return tables


def _extract(archive_path: Path, into: Path, max_bytes: int | None) -> None:
    """Extract the table files of a zip (flat: folders inside it are ignored), refusing
    unsafe names and members larger than the input limit."""
    with zipfile.ZipFile(archive_path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > _MAX_TABLES:
            raise RelationalError(f"{archive_path.name} holds over {_MAX_TABLES} files")
        for member in members:
            name = PurePosixPath(member.filename).name
            if name.startswith(".") or Path(name).suffix.lower() not in TABLE_SUFFIXES:
                continue  # macOS resource forks, READMEs, ...
            if max_bytes is not None and member.file_size > max_bytes:
                raise RelationalError(
                    f"{archive_path.name}: {member.filename} is {member.file_size:,} bytes, "
                    f"over the limit of {max_bytes:,}"
                )
            target = into / name
            if target.exists():
                raise RelationalError(f"{archive_path.name}: two files named {name!r}")
            with archive.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
