"""How faithful and how private a synthetic table is, measured against the real one.

The headline measures are those of `fidelity` (the field's strongest papers): pair trend
over ALL column pairs on bins fixed from the real rows, detection by a cross-validated
gradient-boosting classifier, alpha-precision / beta-recall, TSTR against TRTR for a named
target, and the DCR share and exact copies against real rows the generator never saw (the
holdout). Without a holdout, `holdout_share` sets that share of the real rows aside
(seeded) to stand in for one, and the result says so.

SDMetrics' single-table quality report is kept as a secondary figure (computed by
`sdmetrics` itself): column shapes (KSComplement / TVComplement) and column pair trends
(CorrelationSimilarity / ContingencySimilarity, bins drawn by SDMetrics per comparison).
SDMetrics' own report averages only pairs whose real correlation exceeds 0.5 or
association 0.3; `quality_score` averages ALL pairs; SDMetrics' default score is beside it.

Privacy (see `privacy`) measures exact copies of real rows and the distance to the
closest real record against the holdout, with a risk verdict. The result and its JSON and
HTML forms are in `report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from synthdata.engine import privacy as _privacy
from synthdata.engine._fidelity.canonical import canonical_frame, subsample
from synthdata.engine._fidelity.sdmetrics_report import SDTYPES, sdmetrics_quality
from synthdata.engine._privacy.attacks import DEFAULT_N_ATTACKS
from synthdata.engine._privacy.report import attack_report
from synthdata.engine.base import Progress
from synthdata.engine.defaults import DEFAULT_HOLDOUT_SHARE
from synthdata.engine.errors import InputError
from synthdata.engine.fidelity import FidelityScores, score_canonical
from synthdata.engine.io import read_table
from synthdata.engine.rare import min_value_count as rare_min_count
from synthdata.engine.rare import rare_report
from synthdata.engine.report import EvaluationResult
from synthdata.engine.schema import TableSchema, infer_schema

__all__ = [
    "DEFAULT_HOLDOUT_SHARE",
    "SDTYPES",
    "EvaluationResult",
    "canonical_frame",
    "evaluate",
    "split_holdout",
]

TableLike: TypeAlias = "pd.DataFrame | str | Path"

_STEPS = 5
FIDELITY_MEASURES = ("trends", "detection", "support", "tstr", "dcr")
"""The `fidelity` measures `evaluate` adds (shapes, SDMetrics and copies it has already)."""

SPLIT_NOTE = (
    "no holdout given: {share:.0%} of the real rows (seed {seed}) were set aside as the "
    "holdout and the synthetic table is compared with the other {rest:.0%}. If the "
    "synthetic table was generated from all the real rows, the holdout was seen in "
    "training: the DCR share and copies then cannot show memorising and TSTR is "
    "optimistic. Pass real rows kept out of training as the holdout to judge privacy."
)


def evaluate(
    real: TableLike,
    synthetic: TableLike,
    *,
    holdout: TableLike | None = None,
    schema: TableSchema | None = None,
    target: str | None = None,
    holdout_share: float | None = None,
    max_rows: int = 10_000,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
    attacks: bool = False,
    n_attacks: int = DEFAULT_N_ATTACKS,
    min_value_count: int | None = None,
) -> EvaluationResult:
    """Score `synthetic` against `real` for fidelity, utility and privacy.

    `real`, `synthetic` and `holdout` are DataFrames or CSV/Parquet paths; `holdout` is
    real rows that were NOT used for training: the test set of TSTR and the baseline of
    the DCR share, copies and distances. Without one, a `holdout_share` in (0, 1) sets
    that share of `real` aside (seeded) instead, with a note saying what that implies.
    `target` names the column TSTR predicts (none: TSTR is skipped, with a note).
    `schema` defaults to the one inferred from `real`. Each table is subsampled (seeded)
    to at most `max_rows` rows for the scores; exact copies are looked up in the whole
    tables. Above 50,000 rows SDMetrics subsamples contingency pairs itself, unseeded:
    keep `max_rows` below that for repeatable scores. Detection is `folds`-fold
    cross-validated. `progress(done, total)` is called after each step.

    Privacy always includes, per categorical column, the real values held by fewer than
    `min_value_count` rows of `real` and how many the synthetic table writes verbatim
    (`privacy["rare_values"]`). `attacks` adds anonymeter's singling-out, linkability
    and inference risks (`n_attacks` each) and a membership-inference AUC against the
    holdout (`privacy["attacks"]`, see `engine._privacy`).
    """
    if max_rows < 2:
        raise InputError("max_rows must be at least 2")
    real_frame = _load(real, "real")
    synth_frame = _load(synthetic, "synthetic")
    holdout_frame = _load(holdout, "holdout") if holdout is not None else None
    given_real = real_frame  # rare values are counted in the table the model learnt
    notes: list[str] = []
    holdout_source = "given" if holdout_frame is not None else None
    if holdout_frame is None and holdout_share is not None:
        real_frame, holdout_frame = split_holdout(real_frame, holdout_share, seed)
        holdout_source = "split"
        notes.append(SPLIT_NOTE.format(share=holdout_share, rest=1 - holdout_share, seed=seed))
    schema = schema or infer_schema(real_frame)
    if target is not None and target not in schema.names:
        raise InputError(f"target column {target!r} is not a column of the real table")
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
    real_s = subsample(real_c, max_rows, seed)
    synth_s = subsample(synth_c, max_rows, seed + 1)
    holdout_s = subsample(holdout_c, max_rows, seed + 2) if holdout_c is not None else None
    _step(progress, 2)

    quality = sdmetrics_quality(real_s, synth_s, kinds, problems)
    _step(progress, 3)

    privacy = _privacy.exact_copies(real_c, synth_c, holdout_c)
    privacy.update(_privacy.distance_to_closest_record(real_s, synth_s, holdout_s, kinds))
    privacy.update(_privacy.risk_verdict(privacy))
    privacy["min_value_count"] = rare_min_count(min_value_count)
    privacy["rare_values"] = rare_report(
        given_real, synth_frame, schema, privacy["min_value_count"]
    )
    _step(progress, 4)

    fidelity = score_canonical(
        real_c,
        synth_c,
        kinds,
        holdout=holdout_c,
        target=target,
        measures=FIDELITY_MEASURES,
        max_rows=max_rows,
        folds=folds,
        seed=seed,
    )
    privacy["dcr_share"] = fidelity.dcr_share
    if attacks:
        if holdout_c is None:
            raise InputError("the privacy attacks need a holdout (or a holdout share)")
        privacy["attacks"] = attack_report(
            real_c,
            synth_c,
            holdout_c,
            kinds,
            holdout_source=holdout_source,
            n_attacks=n_attacks,
            max_rows=min(max_rows, 5_000),
            seed=seed,
        )
    _step(progress, 5)

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
        **_headline(fidelity, holdout_source, notes),
    )


def _headline(
    fidelity: FidelityScores, holdout_source: str | None, notes: list[str]
) -> dict[str, Any]:
    """The `EvaluationResult` fields that come from `fidelity`."""
    return {
        "pair_trend": fidelity.pair_trend,
        "pair_trend_scores": fidelity.pair_trend_scores,
        "correlation_similarity": fidelity.correlation_similarity,
        "detection": fidelity.detection,
        "detection_auc": fidelity.detection_auc,
        "alpha_precision": fidelity.alpha_precision,
        "beta_recall": fidelity.beta_recall,
        "tstr": fidelity.tstr,
        "holdout_source": holdout_source,
        "notes": notes + fidelity.notes,
        "plot_data": fidelity.plot_data,
    }


def split_holdout(
    frame: pd.DataFrame, share: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set a seeded `share` of the rows aside as a holdout: (the rest, the holdout)."""
    if not 0 < share < 1:
        raise InputError(f"the holdout share must be between 0 and 1 (got {share})")
    held = round(len(frame) * share)
    if held < 1 or held > len(frame) - 2:
        raise InputError(f"the real table has too few rows ({len(frame)}) to set a holdout aside")
    order = np.random.default_rng(seed).permutation(len(frame))
    rest = frame.iloc[np.sort(order[held:])].reset_index(drop=True)
    return rest, frame.iloc[np.sort(order[:held])].reset_index(drop=True)


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


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _step(progress: Progress | None, done: int) -> None:
    if progress is not None:
        progress(done, _STEPS)
