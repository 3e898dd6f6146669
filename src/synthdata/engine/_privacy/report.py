"""The attack section of an evaluation: anonymeter's risks, membership inference, notes.

Both attacks compare what the synthetic table gives away about its training rows with
what it gives away about real rows it never saw, so both need a true holdout. A holdout
split from the real table by `evaluate` is only true when the synthetic table was
generated from the rest of it (as `synthdata evaluate REAL --privacy` without SYNTHETIC
does); the section says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthdata.engine._privacy.attacks import DEFAULT_N_ATTACKS, anonymeter_attacks
from synthdata.engine._privacy.membership import membership_inference
from synthdata.engine.schema import ColumnKind

SPLIT_ATTACK_NOTE = (
    "the holdout was set aside from the real table by the evaluation: if the synthetic "
    "table was generated from all the real rows, the holdout rows were seen in training "
    "and the attacks cannot be baselined (every risk reads near 0 and the membership AUC "
    "near 0.5, even for a generator that copies). Pass --holdout with rows kept out of "
    "training, or run `synthdata evaluate REAL --privacy` without SYNTHETIC to hold rows "
    "out before fitting."
)
FITTED_NOTE = (
    "{share:.0%} of the real rows were held out before fitting: the synthetic table was "
    "generated from the other {rest:.0%}, the attacks' baseline is the held-out rows."
)


def attack_report(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    holdout_source: str | None,
    n_attacks: int = DEFAULT_N_ATTACKS,
    max_rows: int = 5_000,
    seed: int = 0,
) -> dict[str, Any]:
    """anonymeter's attacks and the membership-inference AUC on canonical frames."""
    result = anonymeter_attacks(
        train, synthetic, holdout, kinds, n_attacks=n_attacks, max_rows=max_rows, seed=seed
    )
    membership = membership_inference(
        train, synthetic, holdout, kinds, max_rows=max_rows, seed=seed
    )
    result["membership"] = membership
    result["membership_auc"] = membership["auc"]
    result["holdout_source"] = holdout_source
    if holdout_source == "split":
        result["notes"].insert(0, SPLIT_ATTACK_NOTE)
    return result
