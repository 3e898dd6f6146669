"""The engine commands on several linked tables: a folder or a .zip of CSV/Parquet files.

`synthdata generate|evaluate|inspect` hand their work here when the input is a bundle of
tables rather than one file (`is_bundle`); the single-table forms are untouched. Each
function reads, calls `synthdata.relational`, and renders through `cli.tables_results`;
errors (a missing parent table, a key type mismatch, a cycle) are `RelationalError`s,
turned into one line and exit code 2 by `cli.main` like every other input error.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from synthdata.cli.console import error, info, progress
from synthdata.engine.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

    from synthdata.relational import Metadata

BUNDLE_SUFFIX = ".zip"
METADATA_FILE = "metadata.json"
"""The keys of a bundle, when it carries them (as `inspect --save-metadata` writes them)."""
OUTPUT_FORMATS = ("csv", "parquet")


def is_bundle(path: Path) -> bool:
    """Whether `path` names several tables (a folder or a .zip) rather than one file."""
    return path.is_dir() or path.suffix.lower() == BUNDLE_SUFFIX


def refuse_options(what: str, given: dict[str, bool]) -> None:
    """One line for the first option in `given` that was used but means nothing for `what`."""
    for option, used in given.items():
        if used:
            raise InputError(f"{option} does not apply to {what}")


def refuse_for_bundle(given: dict[str, bool]) -> None:
    """Refuse single-table options when the input is a folder or zip of tables."""
    refuse_options("a folder or zip of tables", given)


def refuse_for_table(given: dict[str, bool]) -> None:
    """Refuse multi-table options when the input is one table file."""
    refuse_options("a single table (give a folder or .zip of tables)", given)


# -- inspect ------------------------------------------------------------------------------


def inspect_tables(
    source: Path,
    *,
    metadata_file: Path | None,
    save_metadata: Path | None,
    as_json: bool,
    max_bytes: int | None,
) -> None:
    """Print the tables of `source`, their keys and links, and each column's kind."""
    from synthdata.engine.io import check_output_path
    from synthdata.engine.schema import infer_schema
    from synthdata.relational import detect_metadata, read_bundle

    declared, where = _load_metadata(metadata_file, source)
    if save_metadata is not None:
        check_output_path(save_metadata)
    # Everything that can fail runs inside the display, so that a failure clears it and
    # leaves the one error line alone on stderr.
    with progress() as display:
        with _spinner(display, f"reading {source.name}") as done:
            tables = read_bundle(source, max_bytes=max_bytes)
            done(_rows(tables), "rows")
        with _spinner(display, "finding keys and kinds") as done:
            metadata = declared if declared is not None else detect_metadata(tables)
            metadata.validate(tables)
            kinds = {
                name: infer_schema(frame, _overrides(metadata, name))
                for name, frame in tables.items()
            }
            done(len(tables), "tables")
    if save_metadata is not None:
        metadata.save(save_metadata)
        info(f"wrote the metadata of {len(tables)} tables to {save_metadata}")
    from synthdata.cli.tables_results import metadata_document, render_metadata

    if as_json:
        document = metadata_document(metadata, tables, kinds)
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        render_metadata(metadata, tables, kinds)
    _note_keys(where)


# -- generate -----------------------------------------------------------------------------


def generate_tables(
    source: Path,
    output: Path,
    *,
    scale: float,
    seed: int | None,
    fmt: str | None,
    metadata_file: Path | None,
    max_bytes: int | None,
) -> None:
    """Fit every table of `source` together and write `scale` times as many rows of each
    to `output` (a folder, or a .zip when it ends in .zip)."""
    from synthdata.relational import fit_tables, read_bundle, write_bundle

    if not scale > 0:  # also refuses NaN
        raise InputError(f"--scale must be greater than 0 (got {scale})")
    kind = _output_format(fmt)
    _check_output(output)
    declared, where = _load_metadata(metadata_file, source)
    with progress() as display:
        with _spinner(display, f"reading {source.name}") as done:
            tables = read_bundle(source, max_bytes=max_bytes)
            done(_rows(tables), "rows")
        with _spinner(display, f"fitting {len(tables)} tables") as done, _warnings_shown():
            model = fit_tables(tables, declared, seed=seed)
            done(len(tables), "tables")
        with _spinner(display, f"sampling at scale {scale:g}") as done:
            synthetic = model.sample(scale=scale, seed=seed)
            written = _rows(synthetic)
            done(written, "rows")
        with _spinner(display, f"writing {output.name}") as done:
            write_bundle(synthetic, output, fmt=kind)
            done(written, "rows")
    _note_keys(where)
    info(f"wrote {len(synthetic)} tables, {written:,} synthetic rows in all, to {output}")


# -- evaluate -----------------------------------------------------------------------------


def evaluate_tables(
    real: Path,
    synthetic: Path,
    *,
    metadata_file: Path | None,
    report: Path | None,
    as_json: bool,
    max_bytes: int | None,
) -> None:
    """Score the synthetic tables against the real ones: each table, the links between
    them (children per parent, parent-child trends) and referential integrity."""
    from synthdata.engine.io import check_output_path
    from synthdata.relational import read_bundle

    if not is_bundle(synthetic):
        raise InputError(
            f"{real} is a folder or zip of tables, so SYNTHETIC must be one too: {synthetic}"
        )
    if report is not None:
        check_output_path(report)
    declared, where = _load_metadata(metadata_file, real)
    with progress() as display:
        with _spinner(display, f"reading {real.name} and {synthetic.name}") as done:
            real_tables = read_bundle(real, max_bytes=max_bytes)
            synthetic_tables = read_bundle(synthetic, max_bytes=max_bytes)
            done(_rows(real_tables) + _rows(synthetic_tables), "rows")
        with _spinner(display, f"evaluating {len(real_tables)} tables") as done:
            from synthdata.relational.evaluation import evaluate_tables as score

            result = score(real_tables, synthetic_tables, declared)
            done(len(real_tables), "tables")
    if report is not None:
        from synthdata.relational.evaluation import write_html

        write_html(result, report)
        info(f"wrote the HTML report to {report}")
    from synthdata.cli.tables_results import render_tables_evaluation

    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        render_tables_evaluation(result)
    _note_keys(where)


# -- pieces -------------------------------------------------------------------------------


def _load_metadata(path: Path | None, source: Path) -> tuple[Metadata | None, str | None]:
    """The keys to use, read before any slow step, and where they came from: the file
    given with --metadata, else a metadata.json beside the tables (in the folder, or at
    the top of the zip), as the service reads it; (None, None): detect them."""
    from synthdata.relational import Metadata

    if path is not None:
        if not path.is_file():
            raise InputError(f"metadata file not found: {path}")
        return Metadata.load(path), None
    text: str | None = None
    if source.is_dir() and (source / METADATA_FILE).is_file():
        text = (source / METADATA_FILE).read_text(encoding="utf-8")
    elif source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            if METADATA_FILE in archive.namelist():
                text = archive.read(METADATA_FILE).decode("utf-8", errors="replace")
    if text is None:
        return None, None
    return Metadata.from_json(text), f"{source.name}/{METADATA_FILE}"


def _note_keys(where: str | None) -> None:
    # After the work, not before: a failure must leave its error as the only line.
    if where is not None:
        info(f"used the keys in {where}")


def _overrides(metadata: Metadata, table: str) -> dict[str, str] | None:
    meta = metadata.tables.get(table)
    return dict(meta.kinds) if meta is not None and meta.kinds else None


def _output_format(fmt: str | None) -> str:
    kind = (fmt or "csv").lower()
    if kind not in OUTPUT_FORMATS:
        raise InputError(f"unsupported file format {kind!r} (use csv or parquet)")
    return kind


def _check_output(output: Path) -> None:
    """Refuse, before fitting, an output that cannot be written: a missing parent folder,
    or a file where a folder of tables would go."""
    from synthdata.engine.io import check_output_path

    if output.suffix.lower() == BUNDLE_SUFFIX:
        check_output_path(output)
        return
    parent = output.parent
    if not parent.is_dir():
        raise InputError(f"output directory does not exist: {parent} (create it first)")
    if output.exists() and not output.is_dir():
        raise InputError(f"output is a file, not a folder for the tables: {output}")


def _rows(tables: dict[str, pd.DataFrame]) -> int:
    return sum(len(frame) for frame in tables.values())


@contextmanager
def _spinner(display: Progress, description: str) -> Iterator[Callable[[int, str], None]]:
    """A step shown as a spinner while it runs (the relational SDK reports no progress);
    the step may call the yielded `done(count, unit)` to show what it handled."""
    task = display.add_task(description, total=None)
    counted = [False]

    def done(count: int, unit: str) -> None:
        counted[0] = True
        display.update(task, total=count, completed=count, unit=unit)

    yield done
    if not counted[0]:  # a finished step without a count: stop its spinner all the same
        display.update(task, total=1, completed=1, unit="")


@contextmanager
def _warnings_shown() -> Iterator[None]:
    """Show the engine's warnings about small tables once each, as `generate` does."""
    from synthdata.engine.base import SmallTableWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallTableWarning)
        yield
    seen: set[str] = set()
    for warning in caught:
        message = str(warning.message)
        if issubclass(warning.category, SmallTableWarning):
            if message not in seen:  # printed even with --quiet, as for one table
                seen.add(message)
                error(message, prefix="warning")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
