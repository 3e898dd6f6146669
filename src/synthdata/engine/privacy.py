"""How close a synthetic table comes to the real rows it was learnt from.

Two measures, both on tables already brought to one comparable form per column kind
(see `evaluation.canonical_frame`):

- exact copies: the share of synthetic rows identical to some real row, next to the share
  expected from natural duplicates alone;
- distance to closest record (DCR): how far each synthetic row is from its nearest real
  (training) row, next to how far real rows the generator never saw (a holdout) are. A
  generator that memorises puts its rows closer to the training rows than fresh real rows;
- DCR share: the share of synthetic rows nearer to the training rows than to as many
  holdout rows (0.5 when the generator learnt the population, not its training rows).

Distances are Euclidean in `_fidelity.embedding.mixed_embedding`: numbers scaled by the real
spread, each category mismatch adding 1 to the squared distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import subsample
from synthdata.engine._fidelity.embedding import mixed_embedding
from synthdata.engine.schema import ColumnKind

HIGH_COPY_EXCESS = 0.05
MEDIUM_COPY_EXCESS = 0.01
HIGH_CLOSER_SHARE = 0.20
MEDIUM_CLOSER_SHARE = 0.10
_TIE = 1e-12  # distances this close count as equal: a row at the same distance from both

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
    frames = [real, synthetic] + ([holdout] if holdout is not None else [])
    features = mixed_embedding(frames, kinds)
    distances = [nearest_distances(features[0], f) for f in features[1:]]
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


def dcr_share(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    max_rows: int = 10_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Share of synthetic rows closer to the training rows than to the holdout rows.

    The training rows are subsampled (seeded) to as many rows as the holdout has (both
    capped at `max_rows`), so that a row drawn from the same population as both is as
    likely to land nearer either set: 0.5 is ideal, 1.0 means every synthetic row sits on
    a training row. Ties (a row exactly as far from both, e.g. a common row present in
    both sets) count one half. `synthetic` is capped at `max_rows` too. Returns
    `dcr_share`, the medians of both distances, the row counts used and, for plotting, the
    `distances` themselves (arrays).
    """
    rows = min(len(train), len(holdout), max_rows)
    reference = [subsample(train, rows, seed), subsample(holdout, rows, seed + 1)]
    fake = subsample(synthetic, max_rows, seed + 2)
    features = mixed_embedding([*reference, fake], kinds)
    to_train = nearest_distances(features[0], features[2])
    to_holdout = nearest_distances(features[1], features[2])
    closer = to_train < to_holdout - _TIE
    tied = np.abs(to_train - to_holdout) <= _TIE
    return {
        "dcr_share": float(np.mean(closer) + 0.5 * np.mean(tied)),
        "dcr_train_median": float(np.median(to_train)),
        "dcr_holdout_median": float(np.median(to_holdout)),
        "reference_rows": rows,
        "synthetic_rows": len(fake),
        "distances": {"train": to_train, "holdout": to_holdout},
    }


def nearest_distances(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query row to its nearest `reference` row."""
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    # Bounded scratch memory: the machine is shared and the tables are already capped.
    with sklearn.config_context(working_memory=128):
        index = NearestNeighbors(n_neighbors=1).fit(reference)
        distances: np.ndarray = index.kneighbors(queries)[0][:, 0]
    return distances


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()
