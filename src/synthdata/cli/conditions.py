"""`--condition` options: what the rows of `generate` and `sample` must satisfy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from synthdata.engine.errors import InputError

ConditionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--condition",
        "-c",
        metavar="COL=VALUE",
        help="Every row meets it (repeatable): COL=VALUE, COL=A|B (any of), "
        "COL=LOW..HIGH (numbers and dates; LOW.. or ..HIGH for an open end), COL= for null.",
    ),
]


def parse_conditions(values: list[str] | None) -> dict[str, Any]:
    """Turn repeated `COL=...` options into the SDK's `conditions` mapping (text values;
    the engine reads them as the column's type)."""
    conditions: dict[str, Any] = {}
    for item in values or []:
        column, sep, text = item.partition("=")
        column = column.strip()
        if not sep or not column:
            raise InputError(f"--condition expects COLUMN=VALUE, got {item!r}")
        if column in conditions:
            raise InputError(f"--condition: column {column!r} is given twice")
        conditions[column] = _value(text.strip())
    return conditions


def _value(text: str) -> Any:
    if text == "":
        return None
    if ".." in text:
        low, _, high = text.partition("..")
        return (low.strip() or None, high.strip() or None)
    if "|" in text:
        return [part.strip() for part in text.split("|")]
    return text
