"""How close a synthetic table comes to the real rows it was learnt from.

Two measures, both on tables already brought to one comparable form per column kind
(see `evaluation.canonical_frame`):

- exact copies: the share of synthetic rows identical to some real row, next to the share
  expected from natural duplicates alone;
- distance to closest record (DCR): how far each synthetic row is from its nearest real
  (training) row, next to how far real rows the generator never saw (a holdout) are. A
  generator that memorises puts its rows closer to the training rows than fresh real rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.schema import ColumnKind

HIGH_COPY_EXCESS = 0.05
MEDIUM_COPY_EXCESS = 0.01
HIGH_CLOSER_SHARE = 0.20
MEDIUM_CLOSER_SHARE = 0.10
_MAX_ONE_HOT = 30  # most frequent real categories kept apart; rarer ones share one slot
_NULL_LABEL = "\x00null"
_NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)

NO_HOLDOUT_NOTE = (
    "no holdout given: only the synthetic distance to closest record is reported, without "
    "a baseline, and the risk verdict rests on exact copies alone; pass real rows that were "
    "not used for training as holdout to judge it"
)


def exact_copies(
    real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Share of synthetic rows identical to some real row, and the natural baseline.

    Pass only the columns that describe a record (identifiers excluded: a copied row with a
    fresh key is still a copy). The baseline is the share of holdout rows identical to a
    real row, or without a holdout the share of real rows that have a twin in the real
    table: small tables of few categories repeat rows without any memorising.
    """
    real_hashes = _row_hashes(real)
    copies = np.isin(_row_hashes(synthetic), real_hashes)
    result: dict[str, Any] = {
        "exact_copy_rate": float(copies.mean()) if copies.size else 0.0,
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


def distance_to_closest_record(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: dict[str, ColumnKind],
) -> dict[str, Any]:
    """Distance of synthetic (and holdout) rows to their nearest real row.

    Reports the median and 5th percentile of both, and the share of synthetic rows closer
    to a real row than the holdout's 5th percentile (about 0.05 for a generator that does
    not memorise). Without a holdout only the synthetic side is reported, with a note.
    """
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    frames = [real, synthetic] + ([holdout] if holdout is not None else [])
    features = dcr_features(frames, kinds)
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
        result["note"] = NO_HOLDOUT_NOTE
        return result
    fresh = distances[1]
    p05 = float(np.percentile(fresh, 5))
    result.update(
        dcr_holdout_median=float(np.median(fresh)),
        dcr_holdout_p05=p05,
        closer_than_holdout_p05_share=float(np.mean(synth < p05)),
    )
    return result


def risk_verdict(privacy: dict[str, Any]) -> dict[str, Any]:
    """Turn the privacy measures into a "low", "medium" or "high" risk verdict.

    - excess copies = `exact_copy_rate` - `baseline_copy_rate`: copies beyond what natural
      duplicates explain (see `exact_copies`);
    - closer share = `closer_than_holdout_p05_share`: synthetic rows nearer to a real row
      than 95 % of holdout rows are; about 0.05 when the generator does not memorise
      (known only with a holdout).

    high: excess copies > 5 % or closer share > 20 %; medium: excess copies > 1 % or
    closer share > 10 %; low otherwise. Returns `risk` and `risk_reasons` (one sentence
    per measure over its limit).
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


def dcr_features(frames: list[pd.DataFrame], kinds: dict[str, ColumnKind]) -> list[np.ndarray]:
    """Numeric features in which Euclidean distance is a mixed-type row distance.

    Numbers and dates are centred on the real median and divided by the real IQR (else the
    standard deviation), so one unit is "a typical spread" whatever the column's scale, with
    a 0/1 null indicator when any value is missing. Categories are one-hot over the most
    frequent real values, scaled by 1/sqrt(2) so that each mismatch adds exactly 1 to the
    squared distance. All statistics come from the first (real) frame.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for name, kind in kinds.items():
        if kind in _NUMERIC:
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


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


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
