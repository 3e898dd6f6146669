"""How faithful and how private a synthetic table is, measured against the real one.

Quality follows SDMetrics' single-table quality report (computed by `sdmetrics` itself):
column shapes (KSComplement for numeric/datetime, TVComplement for categorical/boolean)
and column pair trends (CorrelationSimilarity for two numeric/datetime columns,
ContingencySimilarity otherwise, numeric columns discretised as SDMetrics does).
SDMetrics' own report averages only pairs whose real correlation reaches 0.5 or
association 0.3; we average ALL pairs, so a generator that breaks weak dependencies is
not let off. `quality_score` is the mean of the two property scores.

Privacy measures exact copies of real rows and the distance to the closest real record
(DCR), compared with real rows the generator never saw when a holdout is given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.base import Progress
from synthdata.engine.errors import InputError
from synthdata.engine.io import read_table
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema

TableLike = pd.DataFrame | str | Path

SDTYPES = {
    ColumnKind.CONTINUOUS: "numerical",
    ColumnKind.INTEGER: "numerical",
    ColumnKind.DATETIME: "datetime",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.BOOLEAN: "boolean",
}
"""The SDMetrics sdtype of every scored kind; identifier, constant and empty are not scored."""

_PAIR_SEPARATOR = "~"
_STEPS = 4


@dataclass
class EvaluationResult:
    """Scores of one synthetic table; `to_dict()` is the JSON form, `write_html` the report."""

    quality_score: float
    column_shapes: dict[str, float | None]
    column_pair_trends: dict[str, float | None]
    privacy: dict[str, Any]
    rows: dict[str, int | None]
    column_shapes_score: float | None = None
    column_pair_trends_score: float | None = None
    metrics: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The scored samples, kept only to draw the HTML report's plots (never serialised).
    real_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    synthetic_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (NaN becomes None) with `quality_score` and `privacy`."""
        return {
            "quality_score": json_safe(self.quality_score),
            "column_shapes_score": json_safe(self.column_shapes_score),
            "column_pair_trends_score": json_safe(self.column_pair_trends_score),
            "column_shapes": json_safe(self.column_shapes),
            "column_pair_trends": json_safe(self.column_pair_trends),
            "metrics": dict(self.metrics),
            "kinds": dict(self.kinds),
            "privacy": json_safe(self.privacy),
            "rows": json_safe(self.rows),
            "excluded_columns": dict(self.excluded_columns),
            "warnings": list(self.warnings),
        }

    def worst_pairs(self, count: int = 10) -> list[tuple[str, str, float]]:
        """The `count` lowest-scoring column pairs as (column, column, score)."""
        scored = [(k, v) for k, v in self.column_pair_trends.items() if v is not None]
        scored.sort(key=lambda item: item[1])
        return [(*pair_columns(key), score) for key, score in scored[:count]]

    def write_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML report (scores, worst pairs, plots) atomically."""
        from synthdata.engine.report import write_html

        return write_html(self, path)


def pair_key(first: str, second: str) -> str:
    """The key of a column pair in `column_pair_trends`."""
    return f"{first}{_PAIR_SEPARATOR}{second}"


def pair_columns(key: str) -> tuple[str, str]:
    """Split a pair key back into its two column names."""
    first, _, second = key.partition(_PAIR_SEPARATOR)
    return first, second


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
    are looked up in the whole real table. `progress(done, total)` is called per step.
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
    _step(progress, 1)

    problems: list[str] = []
    real_c = canonical_frame(real_frame, schema, problems, "real")
    synth_c = canonical_frame(synth_frame, schema, problems, "synthetic")
    holdout_c = (
        canonical_frame(holdout_frame, schema, problems, "holdout")
        if holdout_frame is not None
        else None
    )
    scored = [c.name for c in schema.columns if c.kind in SDTYPES]
    if not scored:
        raise InputError("nothing to score: every column is an identifier, a constant or empty")
    kinds = {c.name: c.kind for c in schema.columns if c.kind in SDTYPES}
    real_s = _subsample(real_c, max_rows, seed)
    synth_s = _subsample(synth_c, max_rows, seed + 1)
    holdout_s = _subsample(holdout_c, max_rows, seed + 2) if holdout_c is not None else None
    _step(progress, 2)

    shapes, pairs, metrics, quality_problems = _quality(real_s, synth_s, scored, kinds)
    problems.extend(quality_problems)
    _step(progress, 3)

    hashed = [c.name for c in schema.columns if c.kind != ColumnKind.IDENTIFIER]
    privacy = _copies(
        real_c[hashed], synth_c[hashed], None if holdout_c is None else holdout_c[hashed]
    )
    privacy.update(
        _dcr(
            real_s[scored], synth_s[scored], None if holdout_s is None else holdout_s[scored], kinds
        )
    )
    privacy.update(risk_verdict(privacy))
    _step(progress, 4)

    shapes_score = _mean(shapes.values())
    pairs_score = _mean(pairs.values())
    parts = [s for s in (shapes_score, pairs_score) if s is not None]
    return EvaluationResult(
        quality_score=float(np.mean(parts)) if parts else 0.0,
        column_shapes=shapes,
        column_pair_trends=pairs,
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
        metrics=metrics,
        kinds={name: kind.value for name, kind in kinds.items()},
        excluded_columns={c.name: c.kind.value for c in schema.columns if c.kind not in SDTYPES},
        warnings=problems,
        real_sample=real_s[scored],
        synthetic_sample=synth_s[scored],
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
    """Bring every column to one comparable form per kind, the same for every table.

    Numbers become float64, dates naive-UTC datetime64[us] (so tables whose datetime
    units or time zones differ still compare), everything else text labels. Values that
    cannot be read in their column's kind become nulls, and `problems` says how many.
    """
    out = {}
    for spec in schema.columns:
        series = frame[spec.name]
        value = _canonical(series, spec.kind)
        lost = int(value.isna().sum() - series.isna().sum())
        if lost > 0:
            problems.append(
                f"{role} column {spec.name!r}: {lost} value(s) unreadable as {spec.kind.value}"
            )
        out[spec.name] = value
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _canonical(series: pd.Series, kind: ColumnKind) -> pd.Series:
    series = series.reset_index(drop=True)
    if kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER):
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype("float64")
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == ColumnKind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            stamps = series if getattr(series.dt, "tz", None) is None else _to_naive(series)
        else:
            stamps = _to_naive(pd.to_datetime(series, errors="coerce", utc=True, format="mixed"))
        return stamps.astype("datetime64[us]")
    labels = _labels(series)
    if kind == ColumnKind.BOOLEAN:
        labels = labels.str.lower().replace({"1": "true", "0": "false"})
    return labels


def _to_naive(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None)


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


def _quality(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    kinds: dict[str, ColumnKind],
) -> tuple[dict[str, float | None], dict[str, float | None], dict[str, str], list[str]]:
    """Per-column and per-pair scores from SDMetrics' quality report over all pairs."""
    # Deferred: sdmetrics pulls in plotly and friends; only evaluation needs it.
    from sdmetrics.reports import QualityReport

    metadata = {
        "tables": {"table": {"columns": {c: {"sdtype": SDTYPES[kinds[c]]} for c in columns}}}
    }
    report = QualityReport()
    # The report forwards these to its Column Pair Trends property; 0 means every pair
    # counts in the average instead of only strongly correlated/associated ones.
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"table": real[columns]}, {"table": synthetic[columns]}, metadata, verbose=False
        )
    problems: list[str] = []
    metrics: dict[str, str] = {}
    shapes: dict[str, float | None] = {}
    for row in report.get_details("Column Shapes").to_dict("records"):
        name = str(row["Column"])
        shapes[name] = _score(row, name, problems)
        metrics[name] = str(row["Metric"])
    pairs: dict[str, float | None] = {}
    pair_details = report.get_details("Column Pair Trends")
    for row in pair_details.to_dict("records") if not pair_details.empty else []:
        key = pair_key(str(row["Column 1"]), str(row["Column 2"]))
        pairs[key] = _score(row, key, problems)
        metrics[key] = str(row["Metric"])
    return shapes, pairs, metrics, problems


def _score(row: dict[str, Any], label: str, problems: list[str]) -> float | None:
    score = row.get("Score")
    if score is None or pd.isna(score):
        problems.append(f"{label}: not scored ({row.get('Error') or 'no comparable values'})")
        return None
    return float(min(1.0, max(0.0, score)))


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _step(progress: Progress | None, done: int) -> None:
    if progress is not None:
        progress(done, _STEPS)


# -- privacy ----------------------------------------------------------------------------

HIGH_COPY_EXCESS = 0.05
MEDIUM_COPY_EXCESS = 0.01
HIGH_CLOSER_SHARE = 0.20
MEDIUM_CLOSER_SHARE = 0.10
_MAX_ONE_HOT = 30  # most frequent real categories kept apart; rarer ones share one slot
_NULL_LABEL = "\x00null"


def risk_verdict(privacy: dict[str, Any]) -> dict[str, Any]:
    """Turn the privacy measures into a "low", "medium" or "high" risk verdict.

    - excess copies = `exact_copy_rate` - `baseline_copy_rate`: copies beyond what natural
      duplicates explain (the share of holdout rows identical to a real row, or without a
      holdout the share of real rows that have a twin in the real table);
    - closer share = `closer_than_holdout_p05_share`: synthetic rows nearer to a real row
      than 95 % of holdout rows are; about 0.05 when the generator does not memorise
      (known only with a holdout).

    high: excess copies > 5 % or closer share > 20 %; medium: excess copies > 1 % or
    closer share > 10 %; low otherwise.
    """
    excess = privacy["exact_copy_rate"] - privacy["baseline_copy_rate"]
    closer = privacy.get("closer_than_holdout_p05_share")
    reasons = []
    level = 0
    for limit, rank in ((HIGH_COPY_EXCESS, 2), (MEDIUM_COPY_EXCESS, 1)):
        if excess > limit:
            reasons.append(f"{excess:.1%} of synthetic rows copy a real row beyond the baseline")
            level = max(level, rank)
            break
    for limit, rank in ((HIGH_CLOSER_SHARE, 2), (MEDIUM_CLOSER_SHARE, 1)):
        if closer is not None and closer > limit:
            reasons.append(
                f"{closer:.1%} of synthetic rows are closer to a real row than 95% of "
                "holdout rows (expected about 5%)"
            )
            level = max(level, rank)
            break
    return {"risk": ("low", "medium", "high")[level], "risk_reasons": reasons}


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _copies(
    real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None
) -> dict[str, Any]:
    """Share of synthetic rows identical to some real row, and the natural baseline."""
    real_hashes = _row_hashes(real)
    copies = np.isin(_row_hashes(synthetic), real_hashes)
    result: dict[str, Any] = {
        "exact_copy_rate": float(copies.mean()),
        "exact_copies": int(copies.sum()),
        "holdout": holdout is not None,
    }
    if holdout is not None:
        result["baseline_copy_rate"] = float(np.isin(_row_hashes(holdout), real_hashes).mean())
        result["baseline_source"] = "holdout rows identical to a real row"
    else:
        twins = pd.Series(real_hashes).duplicated(keep=False)
        result["baseline_copy_rate"] = float(twins.mean())
        result["baseline_source"] = "real rows that have a twin in the real table"
    return result


def _dcr(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: dict[str, ColumnKind],
) -> dict[str, Any]:
    """Distance to the closest real row, for synthetic rows and (if given) holdout rows."""
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    frames = [real, synthetic] + ([holdout] if holdout is not None else [])
    features = _dcr_features(frames, kinds)
    # Bounded scratch memory: the machine is shared and the tables are already capped.
    with sklearn.config_context(working_memory=128):
        index = NearestNeighbors(n_neighbors=1).fit(features[0])
        distances = [index.kneighbors(f)[0][:, 0] for f in features[1:]]
    synth = distances[0]
    result: dict[str, Any] = {
        "dcr_synthetic_median": float(np.median(synth)),
        "dcr_synthetic_p05": float(np.percentile(synth, 5)),
        "dcr_holdout_median": None,
        "dcr_holdout_p05": None,
        "closer_than_holdout_p05_share": None,
    }
    if holdout is None:
        result["note"] = (
            "no holdout given: only the synthetic distance to closest record is reported, "
            "without a baseline, and the risk verdict rests on exact copies alone; pass real "
            "rows that were not used for training as holdout to judge it"
        )
        return result
    fresh = distances[1]
    p05 = float(np.percentile(fresh, 5))
    result.update(
        dcr_holdout_median=float(np.median(fresh)),
        dcr_holdout_p05=p05,
        closer_than_holdout_p05_share=float(np.mean(synth < p05)),
    )
    return result


def _dcr_features(frames: list[pd.DataFrame], kinds: dict[str, ColumnKind]) -> list[np.ndarray]:
    """Numeric features in which Euclidean distance is a mixed-type row distance.

    Numbers and dates are centred on the real median and divided by the real IQR (else
    the standard deviation), with a null indicator; categories are one-hot over the most
    frequent real values scaled by 1/sqrt(2), so each mismatch adds exactly 1 to the
    squared distance. All statistics come from the first (real) frame.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for name, kind in kinds.items():
        if kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME):
            values = [_as_float(frame[name]) for frame in frames]
            center, scale = _center_scale(values[0])
            with_nulls = any(np.isnan(v).any() for v in values)
            for block, value in zip(blocks, values, strict=True):
                block.append(np.nan_to_num((value - center) / scale, nan=0.0)[:, None])
                if with_nulls:
                    block.append(np.isnan(value).astype("float64")[:, None])
            continue
        labels = [frame[name].fillna(_NULL_LABEL).astype(str) for frame in frames]
        top = pd.CategoricalDtype(labels[0].value_counts().index[:_MAX_ONE_HOT])
        for block, label in zip(blocks, labels, strict=True):
            codes = label.astype(top).cat.codes.to_numpy()  # -1 (the last slot) = rare value
            onehot = np.zeros((len(label), len(top.categories) + 1))
            onehot[np.arange(len(label)), codes] = np.sqrt(0.5)
            block.append(onehot)
    return [np.hstack(block) for block in blocks]


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[us]").astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _center_scale(values: np.ndarray) -> tuple[float, float]:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return 0.0, 1.0
    q25, q50, q75 = np.percentile(present, [25, 50, 75])
    scale = float(q75 - q25)
    if not scale > 0:
        scale = float(present.std())
    return float(q50), scale if scale > 0 else 1.0


def json_safe(value: Any) -> Any:
    """Convert numpy scalars to Python and NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
