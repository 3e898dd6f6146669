"""The options the engine commands share, and their parsing into the SDK's arguments.

Help texts name the synthesizers, column kinds and defaults from modules that import
nothing heavy (`engine.registry`, `engine.kinds`), so `--help` does not load the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdata.engine.errors import InputError
from synthdata.engine.kinds import ColumnKind
from synthdata.engine.pii.kinds import describe_treatments, parse_treatment
from synthdata.engine.registry import describe_synthesizers

_KINDS = ", ".join(kind.value for kind in ColumnKind)

InputArg = Annotated[Path, typer.Argument(help="Real table: a CSV or Parquet file.")]
TablesInputArg = Annotated[
    Path,
    typer.Argument(
        help="Real table: a CSV or Parquet file; or several linked tables: a folder or a "
        ".zip of them (one table per file, named by the file)."
    ),
]
ScaleOpt = Annotated[
    float | None,
    typer.Option(
        "--scale",
        help="Tables only: rows of each synthetic table as a multiple of the real one's "
        "(default 1.0; 0.1: a tenth of every table).",
    ),
]
MetadataOpt = Annotated[
    Path | None,
    typer.Option(
        "--metadata",
        metavar="FILE.json",
        help="Tables only: the keys and links to use instead of the detected ones "
        "(write one with `synthdata inspect DIR --save-metadata`).",
    ),
]
RowsOpt = Annotated[int | None, typer.Option("--rows", "-n", help="Number of rows to generate.")]
OutputOpt = Annotated[
    Path, typer.Option("--output", "-o", help="Output file; written whole or not at all.")
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Random seed: the same seed gives the same rows.")
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help="csv or parquet (default: from the output's extension)."),
]
SynthesizerOpt = Annotated[
    str,
    typer.Option("--synthesizer", "-s", help=f"One of: {describe_synthesizers()}."),
]
TypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        "-t",
        metavar="COL=KIND",
        help=f"Force a column's kind (repeatable); KIND is one of: {_KINDS}.",
    ),
]
DateFormatOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--date-format",
        metavar="COL=FORMAT",
        help="The strftime format of a date/time column written as text, e.g. "
        "day=%d/%m/%Y (repeatable); synthetic values are written the same way.",
    ),
]
MaxBytesOpt = Annotated[
    int,
    typer.Option(
        "--max-input-bytes",
        envvar="SYNTHDATA_MAX_INPUT_BYTES",
        help="Refuse input files larger than this many bytes (0: no limit).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print no progress or notes (results only).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
PiiOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pii",
        metavar="COL=KIND",
        help="Treat a column as personal data of KIND, or keep it as it is with "
        f"COL=keep (repeatable); KIND is one of: {describe_treatments()}.",
    ),
]
NoPiiDetectOpt = Annotated[
    bool,
    typer.Option(
        "--no-pii-detect",
        help="Do not look for personal data; replace only the columns given with --pii.",
    ),
]
PiiLocaleOpt = Annotated[
    str,
    typer.Option("--pii-locale", help="Faker locale of the fake names, addresses and phones."),
]
PiiSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--pii-secret",
        envvar="SYNTHDATA_PII_SECRET",
        help="Consistent fakes: the same real value gets the same fake in every table "
        "fitted with this secret (prefer the environment variable; never saved).",
    ),
]

EpsilonOpt = Annotated[
    float | None,
    typer.Option(
        "--epsilon",
        min=0.0,
        help="Differential privacy: fit the dp synthesizer with this privacy budget "
        "(smaller is more private; see docs/privacy.md).",
    ),
]
DeltaOpt = Annotated[
    float | None,
    typer.Option("--delta", help="Differential privacy's delta, with --epsilon (default 1e-6)."),
]

MinValueCountOpt = Annotated[
    int | None,
    typer.Option(
        "--min-value-count",
        metavar="K",
        min=1,
        help="A category held by fewer than K real rows is never written: it is replaced "
        "(default: $SYNTHDATA_MIN_VALUE_COUNT, else 5; 1 keeps every value).",
    ),
]


def parse_types(values: list[str] | None) -> dict[str, str]:
    """Turn repeated `COL=KIND` options into the SDK's `overrides` mapping."""
    overrides: dict[str, str] = {}
    for item in values or []:
        column, sep, kind = item.partition("=")
        kind = kind.strip().lower()
        if not sep or not column or not kind:
            raise InputError(f"--type expects COLUMN=KIND, got {item!r}")
        if kind not in {k.value for k in ColumnKind}:
            raise InputError(
                f"unsupported column type {kind!r} for column {column!r} "
                f"(expected one of: {_KINDS})"
            )
        overrides[column] = kind
    return overrides


def parse_pii(values: list[str] | None) -> dict[str, str]:
    """Turn repeated `COL=KIND` options into the SDK's `pii` mapping."""
    treatments: dict[str, str] = {}
    for item in values or []:
        column, sep, kind = item.partition("=")
        if not sep or not column or not kind.strip():
            raise InputError(f"--pii expects COLUMN=KIND (e.g. contact=email), got {item!r}")
        treatments[column] = parse_treatment(column, kind)
    return treatments


def parse_date_formats(values: list[str] | None) -> dict[str, str]:
    """Turn repeated `COL=FORMAT` options into the SDK's `date_formats` mapping."""
    formats: dict[str, str] = {}
    for item in values or []:
        column, sep, fmt = item.partition("=")
        if not sep or not column or not fmt.strip():
            raise InputError(
                f"--date-format expects COLUMN=FORMAT (e.g. day=%d/%m/%Y), got {item!r}"
            )
        if "%" not in fmt:
            raise InputError(
                f"--date-format for column {column!r}: {fmt!r} has no % field "
                "(write it as a strftime format, e.g. %d/%m/%Y)"
            )
        formats[column] = fmt.strip()
    return formats


def input_limit(max_input_bytes: int) -> int | None:
    """The SDK's size limit from the option: 0 means none."""
    if max_input_bytes < 0:
        raise InputError(f"--max-input-bytes must not be negative (got {max_input_bytes})")
    return max_input_bytes or None
