"""How the multi-table commands show their results: the metadata and the evaluation."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from synthdata.cli.console import console

if TYPE_CHECKING:
    import pandas as pd

    from synthdata.engine.schema import TableSchema
    from synthdata.relational import Metadata

# The single-table measures shown per table (short headings, so that the table fits 80
# columns), in this order, when the result has them; --json has every measure.
_TABLE_MEASURES = {
    "column_shapes": "shapes",
    "pair_trend": "pairs",
    "detection": "detection",
    "exact_copy_rate": "copies",
}


def _key_roles(metadata: Metadata, table: str) -> dict[str, list[str]]:
    """What each column of `table` is in the links: PK, and FK -> parent.column."""
    roles: dict[str, list[str]] = {}
    meta = metadata.tables.get(table)
    for column in meta.primary_key if meta is not None else ():
        roles.setdefault(column, []).append("primary key")
    for link in metadata.foreign_keys:
        if link.child == table:
            for column, target in zip(link.columns, link.parent_columns, strict=True):
                roles.setdefault(column, []).append(f"-> {link.parent}.{target}")
    return roles


def metadata_document(
    metadata: Metadata, tables: dict[str, pd.DataFrame], schemas: dict[str, TableSchema]
) -> dict[str, Any]:
    """The JSON form of `inspect` on tables: each table's rows, key and columns, the
    foreign keys, and under "metadata" the file `--metadata` reads back."""
    described = []
    for name, frame in tables.items():
        meta = metadata.tables.get(name)
        roles = _key_roles(metadata, name)
        described.append(
            {
                "name": name,
                "rows": len(frame),
                "primary_key": list(meta.primary_key) if meta is not None else [],
                "columns": [
                    {
                        "name": column.name,
                        "kind": column.kind.value,
                        "null_rate": column.null_rate,
                        "keys": roles.get(column.name, []),
                    }
                    for column in schemas[name].columns
                ],
            }
        )
    links = [
        {
            "child": link.child,
            "columns": list(link.columns),
            "parent": link.parent,
            "parent_columns": list(link.parent_columns),
        }
        for link in metadata.foreign_keys
    ]
    return {
        "tables": described,
        "foreign_keys": links,
        "metadata": json.loads(metadata.to_json()),
    }


def render_metadata(
    metadata: Metadata, tables: dict[str, pd.DataFrame], schemas: dict[str, TableSchema]
) -> None:
    """Print the tables, the foreign keys and every column's kind and key role."""
    keys = len(metadata.foreign_keys)
    overview = Table(title=f"{_count(len(tables), 'table')}, {_count(keys, 'foreign key')}")
    for heading in ("table", "rows", "columns", "primary key"):
        overview.add_column(heading, justify="right" if heading in ("rows", "columns") else "left")
    for name, frame in tables.items():
        meta = metadata.tables.get(name)
        key = ", ".join(meta.primary_key) if meta is not None and meta.primary_key else "-"
        overview.add_row(name, f"{len(frame):,}", str(frame.shape[1]), key)
    console.print(overview)
    if metadata.foreign_keys:
        links = Table(title="Foreign keys")
        for heading in ("child table", "columns", "parent table", "parent columns"):
            links.add_column(heading)
        for link in metadata.foreign_keys:
            links.add_row(
                link.child, ", ".join(link.columns), link.parent, ", ".join(link.parent_columns)
            )
        console.print(links)
    columns = Table(title="Columns")
    for heading in ("table", "column", "kind", "nulls", "key"):
        columns.add_column(heading)
    for name in tables:
        roles = _key_roles(metadata, name)
        for index, column in enumerate(schemas[name].columns):
            columns.add_row(
                name if index == 0 else "",
                column.name,
                column.kind.value,
                f"{column.null_rate:.1%}",
                "; ".join(roles.get(column.name, [])),
                end_section=index == len(schemas[name].columns) - 1,
            )
    console.print(columns)


def render_tables_evaluation(result: dict[str, Any]) -> None:
    """Print the summary, each table's headline measures, and the link measures."""
    summary = result.get("summary") or {}
    if summary:
        table = Table(title="Evaluation of the tables", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for name, value in summary.items():
            if not isinstance(value, dict | list):  # per-table detail is shown below
                table.add_row(name.replace("_", " "), _value(value))
        console.print(table)
    per_table = result.get("tables") or {}
    if per_table:
        shown = [m for m in _TABLE_MEASURES if any(m in s for s in per_table.values())]
        table = Table(title="Each table (rows: real/synthetic)")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for measure in shown:
            table.add_column(_TABLE_MEASURES[measure], justify="right")
        for name, scores in per_table.items():
            rows = scores.get("rows") or {}
            counts = f"{_value(rows.get('train'))}/{_value(rows.get('synthetic'))}"
            table.add_row(name, counts, *(_value(scores.get(m)) for m in shown))
        console.print(table)
    for key, title in (
        (
            "referential_integrity",
            "Referential integrity (share of child rows whose parent exists)",
        ),
        ("cardinality", "Children per parent (1 = same shape)"),
        ("parent_child_trends", "Parent-child column trends"),
    ):
        scores = result.get(key) or {}
        if scores:
            table = Table(title=title)
            table.add_column("link")
            table.add_column("score", justify="right")
            for link, score in scores.items():
                table.add_row(link, _value(score))
            console.print(table)
    for note in result.get("notes") or []:
        console.print(Text(f"note: {note}"))


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)
