"""anonymeter's three attacks on a synthetic table, each against a holdout baseline.

anonymeter (Giomi et al., PoPETs 2023; cited by the French CNIL) plays an attacker who
holds the synthetic table and tries, on real rows:

- singling out: write a predicate ("age = 93 and zip = 4242") that matches exactly one
  real row; univariate predicates use one column (rare values, extremes), multivariate
  ones `SINGLING_OUT_COLUMNS` columns of a synthetic row;
- linkability: given two halves of a real row's columns, find it again by joining each
  half to its nearest synthetic rows (the two halves must meet in the same row);
- attribute inference: given all other columns of a real row, guess a secret column
  from the nearest synthetic row.

Each attack runs on training rows (the generator saw them) and on holdout rows (it did
not). The risk is the attack's success on training rows beyond its success on the
holdout, (attack - control) / (1 - control), with a 95 % confidence interval: 0 means the
synthetic table helps no more against the people it was learnt from than against
anyone else; 1 means every attack on them succeeds. Success rates are reported too
(`attack_rate`, `control_rate`, and `baseline_rate`: a naive attacker's, who guesses
at random). `n_attacks` bounds the time: the interval narrows as 1/sqrt(n_attacks). Singling out
is seeded; anonymeter draws the other attacks' targets unseeded, so their risks vary
between runs within their intervals.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, subsample
from synthdata.engine.defaults import DEFAULT_N_ATTACKS as _DEFAULT_N_ATTACKS
from synthdata.engine.errors import MissingDependencyError
from synthdata.engine.schema import ColumnKind

DEFAULT_N_ATTACKS = _DEFAULT_N_ATTACKS
SINGLING_OUT_COLUMNS = 3
# Query attempts per wanted multivariate singling-out query: anonymeter's default (ten
# million) can take hours on a table whose rows rarely single out.
ATTEMPTS_PER_QUERY = 10
LINK_NEIGHBOURS = 10
MAX_SECRETS = 3  # inference: the secrets attacked, from the table's first columns


def anonymeter_attacks(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    n_attacks: int = DEFAULT_N_ATTACKS,
    max_rows: int = 5_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the attacks on canonical frames (each capped at `max_rows` rows, seeded).

    Returns per attack `risk`, `ci` ([low, high]), `attack_rate`, `control_rate`,
    `baseline_rate` and `n_attacks`, and `notes` (anonymeter's warnings, e.g. too few
    singling-out queries found). Inference is run for up to `MAX_SECRETS` secrets and
    `inference` is the riskiest of them (all in `inference_by_secret`).
    """
    evaluators = _anonymeter()
    names = list(kinds)
    ori, syn, control = (
        _plain(subsample(frame[names], max_rows, seed + i), kinds)
        for i, frame in enumerate((train, synthetic, holdout))
    )
    attacks = max(1, min(n_attacks, len(ori), len(control)))
    notes: list[str] = []
    out: dict[str, Any] = {}
    so = evaluators.SinglingOutEvaluator
    out["singling_out_univariate"] = _run(
        lambda: so(ori=ori, syn=syn, control=control, n_attacks=attacks, seed=seed).evaluate(
            mode="univariate"
        ),
        attacks,
        notes,
        "singling out (univariate)",
    )
    if len(names) >= 2:
        columns = min(SINGLING_OUT_COLUMNS, len(names))
        out["singling_out_multivariate"] = _run(
            lambda: so(
                ori=ori,
                syn=syn,
                control=control,
                n_attacks=attacks,
                n_cols=columns,
                max_attempts=ATTEMPTS_PER_QUERY * attacks,
                seed=seed,
            ).evaluate(mode="multivariate"),
            attacks,
            notes,
            "singling out (multivariate)",
        )
        order = np.random.default_rng(seed).permutation(len(names))
        halves = ([names[i] for i in order[::2]], [names[i] for i in order[1::2]])
        link = evaluators.LinkabilityEvaluator
        out["linkability"] = _run(
            lambda: link(
                ori=ori,
                syn=syn,
                control=control,
                n_attacks=attacks,
                aux_cols=halves,
                n_neighbors=LINK_NEIGHBOURS,
            ).evaluate(n_jobs=1),
            attacks,
            notes,
            "linkability",
        )
        out["linkability"]["aux_cols"] = [halves[0], halves[1]]
        by_secret = {}
        for secret in names[:MAX_SECRETS]:
            by_secret[secret] = _run(
                partial(
                    _inference,
                    evaluators.InferenceEvaluator,
                    (ori, syn, control),
                    secret,
                    [n for n in names if n != secret],
                    kinds[secret] in NUMERIC_KINDS,
                    attacks,
                ),
                attacks,
                notes,
                f"inference of {secret}",
            )
        scored = {k: v for k, v in by_secret.items() if v.get("risk") is not None}
        worst = max(scored, key=lambda k: scored[k]["risk"]) if scored else None
        out["inference"] = dict(by_secret[worst], secret=worst) if worst else {"risk": None}
        out["inference_by_secret"] = by_secret
    return {"anonymeter": out, "n_attacks": attacks, "notes": notes}


def _inference(
    evaluator: Any,
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    secret: str,
    aux: list[str],
    regression: bool,
    attacks: int,
) -> Any:
    """anonymeter's inference attack on one secret column (numbers: within 5 %)."""
    ori, syn, control = frames
    return evaluator(
        ori=ori,
        syn=syn,
        control=control,
        aux_cols=aux,
        secret=secret,
        regression=regression,
        n_attacks=attacks,
    ).evaluate(n_jobs=1)


def _run(evaluate: Callable[[], Any], attacks: int, notes: list[str], label: str) -> dict[str, Any]:
    """One evaluator's risk and rates; its warnings and log messages become notes."""
    logged = _Collect()
    source = logging.getLogger("anonymeter")
    source.addHandler(logged)
    propagate, source.propagate = source.propagate, False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluator = evaluate()
            results = evaluator.results(confidence_level=0.95)
    except (RuntimeError, ValueError) as exc:  # e.g. no singling-out query found
        notes.append(f"{label}: not measured ({exc})")
        return {"risk": None, "note": str(exc)}
    finally:
        source.removeHandler(logged)
        source.propagate = propagate
    messages = logged.messages + [
        str(w.message) for w in caught if issubclass(w.category, UserWarning)
    ]
    notes.extend(f"{label}: {message}" for message in dict.fromkeys(messages))
    risk = results.risk()
    low, high = (float(v) for v in risk.ci)
    value = min(max(float(risk.value), low), high)
    control = results.control_rate
    return {
        "risk": value,
        "ci": [low, high],
        "attack_rate": float(results.attack_rate.value),
        "control_rate": float(control.value) if control is not None else None,
        "baseline_rate": float(results.baseline_rate.value),
        "n_attacks": attacks,
    }


class _Collect(logging.Handler):
    """Keeps anonymeter's warnings (it logs some, e.g. too few queries found)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _plain(frame: pd.DataFrame, kinds: dict[str, ColumnKind]) -> pd.DataFrame:
    """anonymeter's input: numbers as floats (dates as nanoseconds), the rest as text."""
    out = {}
    for name, kind in kinds.items():
        column = frame[name]
        if kind == ColumnKind.DATETIME:
            stamps = pd.to_datetime(column)
            out[name] = stamps.astype("int64").astype("float64").where(stamps.notna())
        elif kind in NUMERIC_KINDS:
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            out[name] = column.astype(object).where(column.notna(), None).astype(str)
    return pd.DataFrame(out).reset_index(drop=True)


def _anonymeter() -> Any:
    try:
        import anonymeter.evaluators as evaluators
    except ImportError as exc:
        raise MissingDependencyError(
            "the privacy attacks need anonymeter: pip install numba polars && "
            "pip install --no-deps anonymeter==1.1.0"
        ) from exc
    return evaluators
