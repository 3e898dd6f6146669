"""The engine commands: `generate`, `fit`, `sample`, `evaluate` and `schema`.

Each command parses its options, calls the SDK and renders the outcome; errors are
not handled here but raised, and turned into one line and an exit code by `cli.main`.
Options are checked before any slow step, so a typo fails at once, not after a fit.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

import synthdata
from synthdata.cli.conditions import ConditionOpt, parse_conditions
from synthdata.cli.console import console, error, info, progress, set_quiet, tracker
from synthdata.engine.base import (
    DEFAULT_SYNTHESIZER,
    SmallTableWarning,
    Synthesizer,
    list_synthesizers,
    synthesizer_class,
)
from synthdata.engine.errors import InputError
from synthdata.engine.evaluation import DEFAULT_HOLDOUT_SHARE, EvaluationResult
from synthdata.engine.io import DEFAULT_MAX_INPUT_BYTES, detect_format, read_table, write_frames
from synthdata.engine.loading import load_for_fit
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema

app = typer.Typer()

_KINDS = ", ".join(kind.value for kind in ColumnKind)

InputArg = Annotated[Path, typer.Argument(help="Real table: a CSV or Parquet file.")]
RowsOpt = Annotated[int, typer.Option("--rows", "-n", help="Number of rows to generate.")]
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
    typer.Option("--synthesizer", "-s", help=f"One of: {', '.join(list_synthesizers())}."),
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


@app.command()
def generate(
    input: InputArg,
    rows: RowsOpt,
    output: OutputOpt,
    synthesizer: SynthesizerOpt = DEFAULT_SYNTHESIZER,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    types: TypeOpt = None,
    date_formats: DateFormatOpt = None,
    conditions: ConditionOpt = None,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    quiet: QuietOpt = False,
) -> None:
    """Fit a synthesizer on INPUT and write --rows synthetic rows to --output."""
    _quiet(quiet)
    _check_rows(rows)
    wanted = parse_conditions(conditions)
    if wanted and not synthesizer_class(synthesizer).supports_conditions:
        raise InputError(f"the {synthesizer} synthesizer cannot sample with conditions")
    kind = detect_format(output, fmt)
    overrides = parse_types(types)
    formats = parse_date_formats(date_formats)
    limit = input_limit(max_input_bytes)
    with progress() as display:
        model = _fit(display, input, synthesizer, overrides, limit, formats)
        _write_sample(display, model, rows, seed, output, kind, wanted)
    info(f"wrote {rows:,} synthetic rows to {output}")


@app.command()
def fit(
    input: InputArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model file to write (e.g. table.synth).")
    ],
    synthesizer: SynthesizerOpt = DEFAULT_SYNTHESIZER,
    types: TypeOpt = None,
    date_formats: DateFormatOpt = None,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    quiet: QuietOpt = False,
) -> None:
    """Fit a synthesizer on INPUT and save the model to --output (sample it later)."""
    _quiet(quiet)
    if not synthesizer_class(synthesizer).supports_save:
        raise InputError(
            f"the {synthesizer} synthesizer cannot be saved to a model file "
            "(use `synthdata generate` to fit and sample it in one step)"
        )
    overrides = parse_types(types)
    formats = parse_date_formats(date_formats)
    limit = input_limit(max_input_bytes)
    with progress() as display:
        model = _fit(display, input, synthesizer, overrides, limit, formats)
    model.save(output)
    info(f"saved the {model.name} model to {output}")


@app.command()
def sample(
    model: Annotated[Path, typer.Argument(help="Model file written by `synthdata fit`.")],
    rows: RowsOpt,
    output: OutputOpt,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    conditions: ConditionOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write --rows synthetic rows from a saved MODEL to --output."""
    _quiet(quiet)
    _check_rows(rows)
    kind = detect_format(output, fmt)
    wanted = parse_conditions(conditions)
    synthesizer = synthdata.load_model(model)
    with progress() as display:
        _write_sample(display, synthesizer, rows, seed, output, kind, wanted)
    info(f"wrote {rows:,} synthetic rows to {output}")


@app.command()
def evaluate(
    real: Annotated[Path, typer.Argument(help="The real table (CSV or Parquet).")],
    synthetic: Annotated[Path, typer.Argument(help="The synthetic table to score.")],
    holdout: Annotated[
        Path | None,
        typer.Option(
            help="Real rows NOT used for training: TSTR's test set and the privacy baseline "
            f"(default: {DEFAULT_HOLDOUT_SHARE:.0%} of REAL set aside, seeded)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COL",
            help="Column TSTR predicts (a category: macro-F1; a number: R^2); none: no TSTR.",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML report here.")
    ] = None,
    as_json: JsonOpt = False,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    quiet: QuietOpt = False,
) -> None:
    """Score the fidelity, utility and privacy of SYNTHETIC against REAL."""
    _quiet(quiet)
    limit = input_limit(max_input_bytes)
    real_frame = read_table(real, max_bytes=limit)
    synthetic_frame = read_table(synthetic, max_bytes=limit)
    holdout_frame = read_table(holdout, max_bytes=limit) if holdout is not None else None
    with progress() as display:
        task = display.add_task("evaluating", total=None, unit="steps")
        result = synthdata.evaluate(
            real_frame,
            synthetic_frame,
            holdout=holdout_frame,
            target=target,
            holdout_share=DEFAULT_HOLDOUT_SHARE if holdout_frame is None else None,
            progress=tracker(display, task),
        )
    if report is not None:
        result.write_html(report)
        info(f"wrote the HTML report to {report}")
    if as_json:
        for note in result.notes:  # the table form prints them itself
            info(f"note: {note}")
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render_evaluation(result)


@app.command()
def schema(
    input: InputArg,
    types: TypeOpt = None,
    as_json: JsonOpt = False,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
) -> None:
    """Show the schema inferred from INPUT: each column's kind and details."""
    overrides = parse_types(types)
    frame = load_for_fit(input, input_limit(max_input_bytes))
    inferred = infer_schema(frame, overrides)
    if as_json:
        typer.echo(json.dumps(inferred.to_dict(), indent=2, default=str))
    else:
        render_schema(inferred, rows=len(frame))


# -- parsing ------------------------------------------------------------------------------


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


def _check_rows(rows: int) -> None:
    if rows < 1:
        raise InputError(f"--rows must be a positive number of rows (got {rows})")


def _quiet(quiet: bool) -> None:
    # The root `--quiet` has already been applied; a per-command one can only add to it.
    if quiet:
        set_quiet(True)


# -- the work -----------------------------------------------------------------------------


def _fit(
    display: Progress,
    input: Path,
    synthesizer: str,
    overrides: dict[str, str],
    limit: int | None,
    date_formats: dict[str, str] | None = None,
) -> Synthesizer:
    # The SDK does not report fitting progress, so a spinner shows it is alive.
    task = display.add_task(f"fitting {synthesizer} on {input.name}", total=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallTableWarning)
        model = synthdata.fit(
            input,
            synthesizer=synthesizer,
            overrides=overrides or None,
            date_formats=date_formats or None,
            max_input_bytes=limit,
        )
    for warning in caught:
        if issubclass(warning.category, SmallTableWarning):
            # Printed even with --quiet: it changes what the output may be used for.
            error(str(warning.message), prefix="warning")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    rows = model.fitted_rows
    display.update(task, total=rows, completed=rows, unit="rows")
    return model


def _write_sample(
    display: Progress,
    model: Synthesizer,
    rows: int,
    seed: int | None,
    output: Path,
    kind: str,
    conditions: dict[str, Any] | None = None,
) -> None:
    task = display.add_task(f"writing {output.name}", total=rows, unit="rows")
    # Chunks are written as they are drawn, so memory stays bounded whatever --rows is.
    chunks = model.iter_chunks(
        rows, seed=seed, progress=tracker(display, task), conditions=conditions
    )
    write_frames(chunks, output, fmt=kind)


# -- rendering ----------------------------------------------------------------------------


def render_schema(table_schema: TableSchema, *, rows: int) -> None:
    """Print the schema as a table on stdout."""
    table = Table(title=f"{len(table_schema.columns)} columns, {rows:,} rows read")
    for heading in ("column", "kind", "nulls", "details", "source type"):
        table.add_column(heading)
    for column in table_schema.columns:
        details = {
            "decimals": column.decimals,
            "timezone": column.timezone,
            "unit": column.datetime_unit,
            "format": column.identifier_format,
            "value": column.constant_value,
        }
        shown = ", ".join(f"{k}={v}" for k, v in details.items() if v is not None)
        table.add_row(
            column.name, column.kind.value, f"{column.null_rate:.1%}", shown, column.source_dtype
        )
    console.print(table)


def render_evaluation(result: EvaluationResult) -> None:
    """Print the headline measures, SDMetrics' figures, the privacy verdict and notes."""
    privacy: dict[str, Any] = result.privacy
    tstr = result.tstr or {}
    table = Table(title="Evaluation", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("pair trend (fixed bins, all pairs)", _score(result.pair_trend))
    table.add_row("detection (1 = indistinguishable)", _score(result.detection))
    table.add_row(
        "alpha-precision / beta-recall",
        f"{_score(result.alpha_precision)} / {_score(result.beta_recall)}",
    )
    table.add_row(
        f"TSTR / TRTR ({tstr.get('metric', 'no --target')})",
        f"{_score(tstr.get('tstr'))} / {_score(tstr.get('trtr'))}",
    )
    table.add_row("DCR share (0.5 ideal)", _score(privacy.get("dcr_share")))
    table.add_row("exact copies of real rows", _share(privacy.get("exact_copy_rate")))
    table.add_row("baseline copy rate", _share(privacy.get("baseline_copy_rate")))
    table.add_row("privacy risk", str(privacy.get("risk", "unknown")))
    table.add_row("quality score (SDMetrics metrics)", _score(result.quality_score))
    table.add_row("column shapes", _score(result.column_shapes_score))
    table.add_row("column pair trends (SDMetrics)", _score(result.column_pair_trends_score))
    table.add_row("closest-record distance (median)", _number(privacy.get("dcr_synthetic_median")))
    console.print(table)
    # Text, not str: messages may hold brackets that rich would read as markup.
    for reason in privacy.get("risk_reasons", []):
        console.print(Text(f"risk: {reason}"))
    for note in result.notes:
        console.print(Text(f"note: {note}"))
    worst = result.worst_pairs(5)
    if worst:
        pairs = Table(title="Weakest column pairs")
        for heading in ("column", "column", "score"):
            pairs.add_column(heading)
        for first, second, score in worst:
            pairs.add_row(first, second, _score(score))
        console.print(pairs)
    for warning in result.warnings:
        console.print(Text(f"warning: {warning}"))


def _score(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.3f}"


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.4g}"
