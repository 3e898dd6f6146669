"""The engine commands: `generate`, `fit`, `sample`, `evaluate` and `schema`.

Each command parses its options (`cli.options`, `cli.conditions`), calls the SDK and
renders the outcome (`cli.results`); errors are not handled here but raised, and turned
into one line and an exit code by `cli.main`. Options are checked before any slow step,
so a typo fails at once, not after a fit. The engine (pandas, NumPy, scikit-learn) is
imported inside the commands, so that `--help` and the other groups start quickly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import synthdata
from synthdata.cli.conditions import ConditionOpt, parse_conditions
from synthdata.cli.console import error, info, progress, set_quiet, tracker
from synthdata.cli.control import (
    AutoConstraintsOpt,
    ConstraintsOpt,
    SeedRowsOpt,
    as_declared,
    declared_constraints,
    render_constraints,
    report_constraints,
    rows_to_write,
)
from synthdata.cli.options import (
    DateFormatOpt,
    DeltaOpt,
    EpsilonOpt,
    FormatOpt,
    InputArg,
    JsonOpt,
    MaxBytesOpt,
    MetadataOpt,
    MinValueCountOpt,
    NoPiiDetectOpt,
    OutputOpt,
    PiiLocaleOpt,
    PiiOpt,
    PiiSecretOpt,
    QuietOpt,
    RowsOpt,
    ScaleOpt,
    SeedOpt,
    SynthesizerOpt,
    TablesInputArg,
    TypeOpt,
    input_limit,
    parse_date_formats,
    parse_pii,
    parse_types,
)
from synthdata.cli.privacy import (
    DEFAULT_N_ATTACKS,
    NAttacksOpt,
    PrivacyOpt,
    fit_with_holdout,
    render_privacy,
    report_rare_values,
)
from synthdata.cli.results import render_evaluation, render_schema
from synthdata.cli.tables import is_bundle, refuse_for_bundle, refuse_for_table
from synthdata.engine.defaults import DEFAULT_HOLDOUT_SHARE, DEFAULT_MAX_INPUT_BYTES
from synthdata.engine.errors import InputError
from synthdata.engine.pii.kinds import DEFAULT_LOCALE
from synthdata.engine.registry import (
    DEFAULT_SYNTHESIZER,
    private_synthesizer,
    synthesizer_class,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from synthdata.engine.base import Synthesizer

app = typer.Typer()


@app.command()
def generate(
    input: TablesInputArg,
    output: OutputOpt,
    rows: RowsOpt = None,
    synthesizer: SynthesizerOpt = DEFAULT_SYNTHESIZER,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    types: TypeOpt = None,
    date_formats: DateFormatOpt = None,
    conditions: ConditionOpt = None,
    constraints: ConstraintsOpt = None,
    auto_constraints: AutoConstraintsOpt = False,
    seed_rows: SeedRowsOpt = None,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    scale: ScaleOpt = None,
    metadata: MetadataOpt = None,
    pii: PiiOpt = None,
    no_pii_detect: NoPiiDetectOpt = False,
    pii_locale: PiiLocaleOpt = DEFAULT_LOCALE,
    pii_secret: PiiSecretOpt = None,
    min_value_count: MinValueCountOpt = None,
    epsilon: EpsilonOpt = None,
    delta: DeltaOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit a synthesizer on INPUT and write --rows synthetic rows (or one per row of
    --seed-rows) to --output. INPUT a folder or .zip of linked tables: write --scale
    times each table's rows, keys that join, to the folder (or .zip) --output."""
    from synthdata.engine.io import check_output_path, detect_format

    _quiet(quiet)
    if is_bundle(input):
        from synthdata.cli.tables import generate_tables

        refuse_for_bundle(
            {
                "--rows (use --scale)": rows is not None,
                "--synthesizer": synthesizer != DEFAULT_SYNTHESIZER,
                "--type": bool(types),
                "--date-format": bool(date_formats),
                "--condition": bool(conditions),
                "--constraints": constraints is not None,
                "--auto-constraints": auto_constraints,
                "--seed-rows": seed_rows is not None,
                "--pii": bool(pii),
                "--no-pii-detect": no_pii_detect,
                "--pii-locale": pii_locale != DEFAULT_LOCALE,
                "--min-value-count ($SYNTHDATA_MIN_VALUE_COUNT applies)": min_value_count
                is not None,
                "--epsilon": epsilon is not None or delta is not None,
            }
        )
        generate_tables(
            input,
            output,
            scale=1.0 if scale is None else scale,
            seed=seed,
            fmt=fmt,
            metadata_file=metadata,
            max_bytes=input_limit(max_input_bytes),
        )
        return
    refuse_for_table({"--scale": scale is not None, "--metadata": metadata is not None})
    synthesizer, budget = _budget(synthesizer, epsilon, delta)
    count = rows_to_write(rows, seed_rows)
    wanted = parse_conditions(conditions)
    if (wanted or seed_rows) and not synthesizer_class(synthesizer).supports_conditions:
        raise InputError(
            f"the {synthesizer} synthesizer cannot sample with conditions or seed rows"
        )
    if wanted and seed_rows:
        raise InputError("give --condition or --seed-rows, not both (seed rows are conditions)")
    kind = detect_format(output, fmt)
    check_output_path(output)
    overrides = parse_types(types)
    formats = parse_date_formats(date_formats)
    declared = declared_constraints(constraints)
    limit = input_limit(max_input_bytes)
    personal = _pii_options(pii, no_pii_detect, pii_locale, pii_secret)
    with progress() as display:
        model = _fit(
            display,
            input,
            synthesizer,
            overrides,
            limit,
            formats,
            declared,
            auto_constraints,
            personal,
            min_value_count,
            budget,
        )
        written = _write_rows(display, model, count, seed_rows, seed, output, kind, wanted)
    info(f"wrote {written:,} synthetic rows to {output}")


@app.command()
def fit(
    input: InputArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model file to write (e.g. table.synth).")
    ],
    synthesizer: SynthesizerOpt = DEFAULT_SYNTHESIZER,
    types: TypeOpt = None,
    date_formats: DateFormatOpt = None,
    constraints: ConstraintsOpt = None,
    auto_constraints: AutoConstraintsOpt = False,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    pii: PiiOpt = None,
    no_pii_detect: NoPiiDetectOpt = False,
    pii_locale: PiiLocaleOpt = DEFAULT_LOCALE,
    pii_secret: PiiSecretOpt = None,
    min_value_count: MinValueCountOpt = None,
    epsilon: EpsilonOpt = None,
    delta: DeltaOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit a synthesizer on INPUT and save the model to --output (sample it later);
    personal data is replaced, and the model file holds none of it."""
    from synthdata.engine.io import check_output_path

    _quiet(quiet)
    synthesizer, budget = _budget(synthesizer, epsilon, delta)
    if not synthesizer_class(synthesizer).supports_save:
        raise InputError(
            f"the {synthesizer} synthesizer cannot be saved to a model file "
            "(use `synthdata generate` to fit and sample it in one step)"
        )
    check_output_path(output)
    overrides = parse_types(types)
    formats = parse_date_formats(date_formats)
    declared = declared_constraints(constraints)
    limit = input_limit(max_input_bytes)
    personal = _pii_options(pii, no_pii_detect, pii_locale, pii_secret)
    with progress() as display:
        model = _fit(
            display,
            input,
            synthesizer,
            overrides,
            limit,
            formats,
            declared,
            auto_constraints,
            personal,
            min_value_count,
            budget,
        )
    model.save(output)
    info(f"saved the {model.name} model to {output}")


@app.command()
def sample(
    model: Annotated[Path, typer.Argument(help="Model file written by `synthdata fit`.")],
    output: OutputOpt,
    rows: RowsOpt = None,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    conditions: ConditionOpt = None,
    seed_rows: SeedRowsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write --rows synthetic rows (or one per row of --seed-rows) from a saved MODEL to
    --output; the model's constraints hold in every row."""
    from synthdata.engine.io import check_output_path, detect_format

    _quiet(quiet)
    count = rows_to_write(rows, seed_rows)
    if conditions and seed_rows:
        raise InputError("give --condition or --seed-rows, not both (seed rows are conditions)")
    kind = detect_format(output, fmt)
    check_output_path(output)
    wanted = parse_conditions(conditions)
    synthesizer = synthdata.load_model(model)
    with progress() as display:
        written = _write_rows(display, synthesizer, count, seed_rows, seed, output, kind, wanted)
    info(f"wrote {written:,} synthetic rows to {output}")


@app.command()
def evaluate(
    real: Annotated[
        Path,
        typer.Argument(help="The real table (CSV or Parquet), or a folder or .zip of tables."),
    ],
    synthetic: Annotated[
        Path | None,
        typer.Argument(
            help="The synthetic table to score (tables: a folder or .zip). Omitted with "
            "--privacy: hold rows of REAL out, fit --synthesizer on the rest and score that."
        ),
    ] = None,
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
    metadata: MetadataOpt = None,
    privacy: PrivacyOpt = False,
    n_attacks: NAttacksOpt = DEFAULT_N_ATTACKS,
    min_value_count: MinValueCountOpt = None,
    synthesizer: SynthesizerOpt = DEFAULT_SYNTHESIZER,
    quiet: QuietOpt = False,
) -> None:
    """Score the fidelity, utility and privacy of SYNTHETIC against REAL; --privacy adds
    attacks (singling out, linkability, inference, membership). Folders (or .zip files)
    of linked tables: each table, children per parent, parent-child trends and
    referential integrity."""
    from synthdata.engine.io import check_output_path, read_table

    _quiet(quiet)
    if synthetic is None and not privacy:
        raise InputError("give SYNTHETIC, or --privacy to fit on REAL with rows held out")
    if is_bundle(real):
        if synthetic is None:
            raise InputError("linked tables: give the synthetic tables (a folder or .zip)")
        from synthdata.cli.tables import evaluate_tables

        refuse_for_bundle(
            {
                "--holdout": holdout is not None,
                "--target": target is not None,
                "--privacy": privacy,
            }
        )
        evaluate_tables(
            real,
            synthetic,
            metadata_file=metadata,
            report=report,
            as_json=as_json,
            max_bytes=input_limit(max_input_bytes),
        )
        return
    refuse_for_table({"--metadata": metadata is not None})
    if report is not None:
        check_output_path(report)
    limit = input_limit(max_input_bytes)
    real_frame = read_table(real, max_bytes=limit)
    holdout_frame = read_table(holdout, max_bytes=limit) if holdout is not None else None
    with progress() as display:
        if synthetic is None:
            real_frame, synthetic_frame, holdout_frame = fit_with_holdout(
                display, real_frame, holdout_frame, synthesizer, min_value_count
            )
        else:
            synthetic_frame = read_table(synthetic, max_bytes=limit)
        task = display.add_task("evaluating", total=None, unit="steps")
        result = synthdata.evaluate(
            real_frame,
            synthetic_frame,
            holdout=holdout_frame,
            target=target,
            holdout_share=DEFAULT_HOLDOUT_SHARE if holdout_frame is None else None,
            progress=tracker(display, task),
            attacks=privacy,
            n_attacks=n_attacks,
            min_value_count=min_value_count,
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
        render_privacy(result.privacy)


@app.command()
def schema(
    input: InputArg,
    types: TypeOpt = None,
    as_json: JsonOpt = False,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    pii: PiiOpt = None,
    no_pii_detect: NoPiiDetectOpt = False,
) -> None:
    """Show the schema inferred from INPUT: each column's kind, details and PII treatment."""
    from synthdata.engine.loading import load_for_fit
    from synthdata.engine.schema import infer_schema

    overrides = parse_types(types)
    frame = load_for_fit(input, input_limit(max_input_bytes))
    inferred = infer_schema(frame, overrides, pii=parse_pii(pii), detect_pii=not no_pii_detect)
    if as_json:
        typer.echo(json.dumps(inferred.to_dict(), indent=2, default=str))
    else:
        render_schema(inferred, rows=len(frame))


@app.command()
def inspect(
    input: TablesInputArg,
    types: TypeOpt = None,
    date_formats: DateFormatOpt = None,
    as_json: JsonOpt = False,
    save_constraints: Annotated[
        Path | None,
        typer.Option(
            "--save-constraints",
            metavar="FILE.yaml",
            help="Write the constraints found as a file for --constraints (edit it first).",
        ),
    ] = None,
    max_input_bytes: MaxBytesOpt = DEFAULT_MAX_INPUT_BYTES,
    metadata: MetadataOpt = None,
    save_metadata: Annotated[
        Path | None,
        typer.Option(
            "--save-metadata",
            metavar="FILE.json",
            help="Tables only: write the keys and links found as a file for --metadata.",
        ),
    ] = None,
    pii: PiiOpt = None,
    no_pii_detect: NoPiiDetectOpt = False,
) -> None:
    """Show INPUT's columns (kind, PII treatment) and the constraints that hold in every
    real row (proposals for --constraints, or applied all at once with
    --auto-constraints). A folder or .zip of tables: their rows, primary and foreign
    keys, and each column's kind."""
    if is_bundle(input):
        from synthdata.cli.tables import inspect_tables

        refuse_for_bundle(
            {
                "--type": bool(types),
                "--date-format": bool(date_formats),
                "--save-constraints": save_constraints is not None,
                "--pii": bool(pii),
                "--no-pii-detect": no_pii_detect,
            }
        )
        inspect_tables(
            input,
            metadata_file=metadata,
            save_metadata=save_metadata,
            as_json=as_json,
            max_bytes=input_limit(max_input_bytes),
        )
        return
    refuse_for_table(
        {"--metadata": metadata is not None, "--save-metadata": save_metadata is not None}
    )
    import yaml

    from synthdata.engine.constraints import propose_constraints
    from synthdata.engine.io import check_output_path
    from synthdata.engine.loading import load_for_fit, text_columns
    from synthdata.engine.schema import infer_schema

    overrides = parse_types(types)
    formats = parse_date_formats(date_formats)
    if save_constraints is not None:
        check_output_path(save_constraints)
    text = text_columns(overrides, formats)
    frame = load_for_fit(input, input_limit(max_input_bytes), text=text)
    inferred = infer_schema(
        frame,
        overrides,
        date_formats=formats or None,
        pii=parse_pii(pii),
        detect_pii=not no_pii_detect,
    )
    found = propose_constraints(frame, inferred)
    declared = [as_declared(c) for c in found]
    if save_constraints is not None:
        save_constraints.write_text(
            yaml.safe_dump({"constraints": declared}, sort_keys=False), encoding="utf-8"
        )
        info(f"wrote {len(found)} constraint(s) to {save_constraints}")
    if as_json:
        shares = [{**d, "real_share": c.real_share} for d, c in zip(declared, found, strict=True)]
        document = {"rows": len(frame), "schema": inferred.to_dict(), "constraints": shares}
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        render_schema(inferred, rows=len(frame))
        render_constraints(found)


# -- checks -------------------------------------------------------------------------------


def _pii_options(
    pii: list[str] | None, no_detect: bool, locale: str, secret: str | None
) -> dict[str, Any]:
    """The SDK's PII arguments from the command's options."""
    return {
        "pii": parse_pii(pii) or None,
        "detect_pii": not no_detect,
        "pii_locale": locale,
        "pii_secret": secret or None,
    }


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
    constraints: list[Any] | None = None,
    auto_constraints: bool = False,
    personal: dict[str, Any] | None = None,
    min_value_count: int | None = None,
    budget: tuple[float | None, float | None] = (None, None),
) -> Synthesizer:
    from synthdata.engine.base import SmallTableWarning
    from synthdata.engine.constraints import ConstraintWarning

    # The SDK does not report fitting progress, so a spinner shows it is alive.
    task = display.add_task(f"fitting {synthesizer} on {input.name}", total=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallTableWarning)
        warnings.simplefilter("always", ConstraintWarning)
        model = synthdata.fit(
            input,
            synthesizer=synthesizer,
            overrides=overrides or None,
            date_formats=date_formats or None,
            max_input_bytes=limit,
            constraints=constraints or None,
            auto_constraints=auto_constraints,
            **(personal or {}),
            min_value_count=min_value_count,
            epsilon=budget[0],
            delta=budget[1],
        )
    for warning in caught:
        if issubclass(warning.category, SmallTableWarning | ConstraintWarning):
            # Printed even with --quiet: it changes what the output may be used for.
            error(str(warning.message), prefix="warning")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    rows = model.fitted_rows
    display.update(task, total=rows, completed=rows, unit="rows")
    report_constraints(model.constraints)
    report_rare_values(model.rare_values)
    ledger = getattr(model, "ledger", None)
    if ledger is not None:
        info(
            f"differential privacy: epsilon {ledger.epsilon_spent:.4g} and delta "
            f"{ledger.delta_spent:.3g} spent in {len(ledger.steps)} steps (rho "
            f"{ledger.rho_spent:.4g}); the accounting is in the model file"
        )
    return model


def _budget(
    synthesizer: str, epsilon: float | None, delta: float | None
) -> tuple[str, tuple[float | None, float | None]]:
    """--epsilon / --delta: the dp synthesizer and its budget (else as given)."""
    if epsilon is None and delta is None:
        return synthesizer, (None, None)
    return private_synthesizer(synthesizer, epsilon, delta), (epsilon, delta)


def _write_rows(
    display: Progress,
    model: Synthesizer,
    rows: int | None,
    seed_rows: Path | None,
    seed: int | None,
    output: Path,
    kind: str,
    conditions: dict[str, Any] | None = None,
) -> int:
    """Write `rows` sampled rows, or the filled-in `seed_rows`; return how many."""
    if seed_rows is None:
        assert rows is not None  # rows_to_write checked it
        _write_sample(display, model, rows, seed, output, kind, conditions)
        return rows
    from synthdata.engine.io import read_table, write_frames

    partial = read_table(seed_rows)
    task = display.add_task(f"filling {seed_rows.name}", total=len(partial), unit="rows")
    filled = model.fill(partial, seed=seed, as_written=True)
    display.update(task, completed=len(partial))
    write_frames(iter([filled]), output, fmt=kind)
    return len(filled)


def _write_sample(
    display: Progress,
    model: Synthesizer,
    rows: int,
    seed: int | None,
    output: Path,
    kind: str,
    conditions: dict[str, Any] | None = None,
) -> None:
    from synthdata.engine.io import write_frames

    task = display.add_task(f"writing {output.name}", total=rows, unit="rows")
    # Chunks are written as they are drawn, so memory stays bounded whatever --rows is.
    chunks = model.iter_chunks(
        rows, seed=seed, progress=tracker(display, task), conditions=conditions
    )
    write_frames(chunks, output, fmt=kind)
