"""Options that control what is generated: constraints and seed rows.

(`--condition` lives in `cli.conditions`.) The files are read by the SDK; here they
are only named, so a missing file fails before any fitting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from synthdata.cli.console import console, info
from synthdata.engine.errors import InputError

if TYPE_CHECKING:
    from synthdata.engine.constraints import Constraint

ConstraintsOpt = Annotated[
    Path | None,
    typer.Option(
        "--constraints",
        metavar="FILE.yaml",
        help="Constraints every row meets (a YAML list; docs/engine.md lists the types).",
    ),
]
AutoConstraintsOpt = Annotated[
    bool,
    typer.Option(
        "--auto-constraints",
        help="Also keep every constraint `synthdata inspect` finds in all the real rows.",
    ),
]
SeedRowsOpt = Annotated[
    Path | None,
    typer.Option(
        "--seed-rows",
        metavar="FILE",
        help="Partial rows (CSV or Parquet): one output row each, its empty cells filled in "
        "given the others (instead of --rows).",
    ),
]


def declared_constraints(path: Path | None) -> list[Constraint]:
    """The constraints of a `--constraints` file (none without one)."""
    if path is None:
        return []
    from synthdata.engine.constraints import load_constraints

    return load_constraints(path)


def rows_to_write(rows: int | None, seed_rows: Path | None) -> int | None:
    """Check --rows against --seed-rows: exactly one of them says how many rows."""
    if seed_rows is not None:
        if rows is not None:
            raise InputError("give --rows or --seed-rows, not both (seed rows set the count)")
        if not seed_rows.is_file():
            raise InputError(f"seed rows file not found: {seed_rows}")
        return None
    if rows is None:
        raise InputError("give --rows (or --seed-rows FILE)")
    if rows < 1:
        raise InputError(f"--rows must be a positive number of rows (got {rows})")
    return rows


def report_constraints(constraints: list[Constraint]) -> None:
    """One note per constraint kept by the model, with the share of real rows it held in."""
    for constraint in constraints:
        share = constraint.real_share
        held = "" if share is None else f" (holds in {share:.2%} of the real rows)"
        info(f"constraint: {constraint.describe()}{held}")


def render_constraints(constraints: list[Constraint]) -> None:
    """The proposed constraints as a table on stdout."""
    table = Table(title=f"{len(constraints)} constraint(s) hold in every real row")
    for heading in ("constraint", "type", "kept by", "real rows"):
        table.add_column(heading)
    for constraint in constraints:
        share = "-" if constraint.real_share is None else f"{constraint.real_share:.2%}"
        table.add_row(Text(constraint.describe()), constraint.kind, constraint.method, share)
    console.print(table)


def as_declared(constraint: Constraint) -> dict[str, Any]:
    """A constraint as a user would declare it (what is learnt at fit left out)."""
    declared = constraint.to_dict()
    declared.pop("combinations", None)
    return declared
