"""How the engine commands show their results: the schema and evaluation tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from synthdata.cli.console import console
from synthdata.engine.kinds import ColumnKind
from synthdata.engine.pii.kinds import describe_treatment

if TYPE_CHECKING:
    from synthdata.engine.report import EvaluationResult
    from synthdata.engine.schema import TableSchema


def render_schema(table_schema: TableSchema, *, rows: int) -> None:
    """Print the schema as a table on stdout."""
    table = Table(title=f"{len(table_schema.columns)} columns, {rows:,} rows read")
    for heading in ("column", "kind", "nulls", "details", "source type", "PII"):
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
            column.name,
            column.kind.value,
            f"{column.null_rate:.1%}",
            shown,
            column.source_dtype,
            describe_treatment(column.pii, column.pii_keep, column.kind == ColumnKind.IDENTIFIER),
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
    import pandas as pd  # loaded already: the result was computed with it

    return "n/a" if value is None or pd.isna(value) else f"{value:.3f}"


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.4g}"
