"""How faithful and how private a synthetic table is, measured against the real one.

Quality follows SDMetrics' single-table quality report (computed by `sdmetrics` itself):
column shapes (KSComplement for numeric/datetime, TVComplement for categorical/boolean)
and column pair trends (CorrelationSimilarity for two numeric/datetime columns,
ContingencySimilarity otherwise, numeric columns discretised as SDMetrics does).
SDMetrics' own report averages only pairs whose real correlation exceeds 0.5 or
association 0.3; we average ALL pairs, so a generator that breaks weak dependencies is
not let off. `quality_score` is the mean of the two property scores; SDMetrics' default
score is kept beside it for comparison with published numbers.

Privacy (see `privacy`) measures exact copies of real rows and the distance to the
closest real record, compared with real rows the generator never saw when a holdout is
given. The result and its JSON and HTML forms are in `report`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from synthdata.engine import privacy as _privacy
from synthdata.engine.base import Progress
from synthdata.engine.errors import InputError
from synthdata.engine.io import read_table
from synthdata.engine.report import EvaluationResult, pair_key
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema

__all__ = ["SDTYPES", "EvaluationResult", "canonical_frame", "evaluate"]

TableLike: TypeAlias = "pd.DataFrame | str | Path"

SDTYPES = {
    ColumnKind.CONTINUOUS: "numerical",
    ColumnKind.INTEGER: "numerical",
    ColumnKind.DATETIME: "datetime",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.BOOLEAN: "boolean",
}
"""The SDMetrics sdtype of every scored kind; identifier, constant and empty are not scored."""

_STEPS = 4
_NULL_TEXT = frozenset({"", "nan", "nat", "none", "null", "<na>"})


def evaluate(
    real: TableLike,
    synthetic: TableLike,
    *,
    holdout: TableLike | None = None,
    schema: TableSchema | None = None,
    max_rows: int = 10_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Score `synthetic` against `real` for quality and privacy.

    `real`, `synthetic` and `holdout` are DataFrames or CSV/Parquet paths; `holdout` is
    real rows that were NOT used for training, the baseline that makes the distance to
    closest record meaningful. `schema` defaults to the one inferred from `real`. Each
    table is subsampled (seeded) to at most `max_rows` rows for the scores; exact copies
    are looked up in the whole tables. Above 50,000 rows SDMetrics subsamples contingency
    pairs itself, unseeded: keep `max_rows` below that for repeatable scores.
    `progress(done, total)` is called after each step.
    """
    if max_rows < 2:
        raise InputError("max_rows must be at least 2")
    real_frame = _load(real, "real")
    synth_frame = _load(synthetic, "synthetic")
    holdout_frame = _load(holdout, "holdout") if holdout is not None else None
    schema = schema or infer_schema(real_frame)
    _check_columns(schema.names, real_frame, "real", "schema")
    _check_columns(schema.names, synth_frame, "synthetic", "real")
    if holdout_frame is not None:
        _check_columns(schema.names, holdout_frame, "holdout", "real")
    kinds = {c.name: c.kind for c in schema.columns if c.kind in SDTYPES}
    if not kinds:
        raise InputError("nothing to score: every column is an identifier, a constant or empty")
    scored = list(kinds)
    _step(progress, 1)

    problems: list[str] = []
    real_c = canonical_frame(real_frame[scored], schema, problems, "real")
    synth_c = canonical_frame(synth_frame[scored], schema, problems, "synthetic")
    holdout_c = None
    if holdout_frame is not None:
        holdout_c = canonical_frame(holdout_frame[scored], schema, problems, "holdout")
    real_s = _subsample(real_c, max_rows, seed)
    synth_s = _subsample(synth_c, max_rows, seed + 1)
    holdout_s = _subsample(holdout_c, max_rows, seed + 2) if holdout_c is not None else None
    _step(progress, 2)

    quality = _quality(real_s, synth_s, kinds, problems)
    _step(progress, 3)

    privacy = _privacy.exact_copies(real_c, synth_c, holdout_c)
    privacy.update(_privacy.distance_to_closest_record(real_s, synth_s, holdout_s, kinds))
    privacy.update(_privacy.risk_verdict(privacy))
    _step(progress, 4)

    shapes_score = _mean(quality.shapes.values())
    pairs_score = _mean(quality.pairs.values())
    parts = [s for s in (shapes_score, pairs_score) if s is not None]
    return EvaluationResult(
        quality_score=float(np.mean(parts)) if parts else 0.0,
        sdmetrics_default_score=quality.default_score,
        column_shapes=quality.shapes,
        column_pair_trends=quality.pairs,
        privacy=privacy,
        rows={
            "real": len(real_frame),
            "synthetic": len(synth_frame),
            "holdout": len(holdout_frame) if holdout_frame is not None else None,
            "real_evaluated": len(real_s),
            "synthetic_evaluated": len(synth_s),
            "holdout_evaluated": len(holdout_s) if holdout_s is not None else None,
        },
        column_shapes_score=shapes_score,
        column_pair_trends_score=pairs_score,
        sdmetrics_default_pairs=quality.default_pairs,
        metrics=quality.metrics,
        kinds={name: kind.value for name, kind in kinds.items()},
        excluded_columns={c.name: c.kind.value for c in schema.columns if c.kind not in SDTYPES},
        warnings=problems,
        real_sample=real_s,
        synthetic_sample=synth_s,
    )


def _load(table: TableLike, role: str) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        frame = table
    elif isinstance(table, (str, Path)):
        frame = read_table(table)
    else:
        raise InputError(f"{role} table must be a DataFrame or a CSV/Parquet path")
    if len(frame) == 0:
        raise InputError(f"the {role} table has no rows")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)  # the schema names columns by text
    return frame


def _check_columns(expected: list[str], frame: pd.DataFrame, role: str, reference: str) -> None:
    """Refuse a table whose columns differ from the reference, naming the differences."""
    present = [str(c) for c in frame.columns]
    missing = [c for c in expected if c not in present]
    extra = [c for c in present if c not in expected]
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected column(s) {', '.join(extra)}")
    raise InputError(f"the {role} table does not match the {reference} one: {'; '.join(parts)}")


def canonical_frame(
    frame: pd.DataFrame, schema: TableSchema, problems: list[str], role: str
) -> pd.DataFrame:
    """Bring every column of `frame` to one comparable form per kind, the same for every table.

    Numbers become float64, dates naive-UTC datetime64[us] (so tables whose datetime units
    or time zones differ, or whose dates came back from a CSV as text, still compare),
    everything else text labels. Values that cannot be read in their column's kind become
    nulls, and `problems` says how many.
    """
    out = {}
    for name in frame.columns:
        kind = schema[str(name)].kind
        series = frame[name]
        value = _canonical(series, kind)
        lost = int(value.isna().sum() - series.isna().sum())
        if lost > 0:  # the text a CSV round trip leaves for nulls is not a loss
            lost -= _null_text_count(series)
        if lost > 0:
            problems.append(f"{role} column {name!r}: {lost} value(s) unreadable as {kind.value}")
        out[name] = value
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _null_text_count(series: pd.Series) -> int:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return 0
    text = series.dropna().astype(str).str.strip().str.lower()
    return int(text.isin(_NULL_TEXT).sum())


def _canonical(series: pd.Series, kind: ColumnKind) -> pd.Series:
    series = series.reset_index(drop=True)
    if kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER):
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype("float64")
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == ColumnKind.DATETIME:
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = _parse_datetimes(series)
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series.astype("datetime64[us]")
    labels = _labels(series)
    if kind == ColumnKind.BOOLEAN:
        labels = labels.str.lower().replace({"1": "true", "0": "false"})
    return labels


def _parse_datetimes(series: pd.Series) -> pd.Series:
    """Text dates to UTC; ISO 8601 (what CSV writers emit) fast, anything else per value."""
    try:
        return pd.to_datetime(series, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(series, utc=True, format="mixed", errors="coerce")


def _labels(series: pd.Series) -> pd.Series:
    """Text labels with integral numbers written without a decimal point (1.0 -> "1")."""
    nulls = series.isna()
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        integral = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**53)
        text = numbers.astype(str).astype(object)
        text[integral] = numbers[integral].astype("int64").astype(str)
    else:
        text = series.astype(str).astype(object)
    text[nulls] = np.nan
    return text


def _subsample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=seed).reset_index(drop=True)


@dataclass
class _Quality:
    shapes: dict[str, float | None]
    pairs: dict[str, float | None]
    metrics: dict[str, str]
    default_score: float | None
    default_pairs: int


def _quality(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, ColumnKind], problems: list[str]
) -> _Quality:
    """Per-column and per-pair scores over all pairs, plus SDMetrics' default score.

    Scores SDMetrics leaves undefined get a fallback (see `_fallback`) so that a broken
    column pulls the average down instead of dropping out of it.
    """
    columns = {c: {"sdtype": SDTYPES[kind]} for c, kind in kinds.items()}
    metadata = {"tables": {"table": {"columns": columns}}}
    everything = _sdmetrics_report(real, synthetic, metadata, all_pairs=True)
    default = _sdmetrics_report(real, synthetic, metadata, all_pairs=False)
    metrics: dict[str, str] = {}
    shapes: dict[str, float | None] = {}
    for row in everything.get_details("Column Shapes").to_dict("records"):
        name = str(row["Column"])
        metrics[name] = str(row["Metric"])
        shapes[name] = _score(row, name, real[[name]], synthetic[[name]], problems)
    pairs: dict[str, float | None] = {}
    for row in everything.get_details("Column Pair Trends").to_dict("records"):
        names = [str(row["Column 1"]), str(row["Column 2"])]
        key = pair_key(*names)
        metrics[key] = str(row["Metric"])
        pairs[key] = _score(row, key, real[names], synthetic[names], problems)
    counted = default.get_details("Column Pair Trends").get("Meets Threshold?")
    default_score = float(default.get_score())
    return _Quality(
        shapes=shapes,
        pairs=pairs,
        metrics=metrics,
        default_score=default_score if np.isfinite(default_score) else None,
        default_pairs=0 if counted is None else int(counted.astype("boolean").fillna(False).sum()),
    )


def _sdmetrics_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any], *, all_pairs: bool
) -> Any:
    # Deferred: sdmetrics pulls in plotly and friends; only evaluation needs it.
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    if all_pairs:
        # The report forwards these to its Column Pair Trends property; 0 means every pair
        # counts in the average instead of only strongly correlated/associated ones.
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": real}, {"table": synthetic}, metadata, verbose=False)
    return report


def _score(
    row: dict[str, Any],
    label: str,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    problems: list[str],
) -> float | None:
    score = row.get("Score")
    if score is not None and not pd.isna(score):
        return float(min(1.0, max(0.0, score)))
    error = row.get("Error") or "no comparable values"
    fallback = _fallback(real, synthetic)
    if fallback is None:
        problems.append(f"{label}: not scored ({error})")
    else:
        problems.append(f"{label}: SDMetrics gave no score ({error}); scored {fallback:.3f}")
    return fallback


def _fallback(real: pd.DataFrame, synthetic: pd.DataFrame) -> float | None:
    """A score where SDMetrics gives none because the synthetic side is degenerate.

    A synthetic column (or pair) without values reproduces nothing: 0. A constant synthetic
    column has no linear trend, so its correlation counts as 0 and the pair scores
    1 - |real correlation| / 2, as CorrelationSimilarity would. None when the real side
    itself has nothing to compare.
    """
    real_rows, synthetic_rows = real.dropna(), synthetic.dropna()
    if real_rows.empty:
        return None
    if len(synthetic_rows) < (1 if real.shape[1] == 1 else 2):
        return 0.0
    numeric = [c for c in real.columns if not pd.api.types.is_object_dtype(real[c].dtype)]
    if len(numeric) != 2:  # only CorrelationSimilarity has undefined scores to stand in for
        return None
    real_correlation = _pearson(real_rows)
    if real_correlation is None:
        return None
    synthetic_correlation = _pearson(synthetic_rows) or 0.0
    return 1.0 - abs(real_correlation - synthetic_correlation) / 2


def _pearson(pair: pd.DataFrame) -> float | None:
    values = [pd.to_numeric(pair[c]).to_numpy(dtype="float64") for c in pair.columns]
    if len(values[0]) < 2 or any(np.ptp(v) == 0 for v in values):
        return None
    return float(np.corrcoef(values[0], values[1])[0, 1])


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _step(progress: Progress | None, done: int) -> None:
    if progress is not None:
        progress(done, _STEPS)
