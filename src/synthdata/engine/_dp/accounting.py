"""The privacy budget of the dp synthesizer: zCDP, its steps, and the noise that spends it.

The budget is zero-concentrated DP (Bun & Steinke 2016): each measurement spends some
rho, and rho adds up over the steps of a fit. A user's (epsilon, delta) becomes
rho with the standard bound of that paper (Proposition 1.3):

    epsilon = rho + 2 * sqrt(rho * ln(1 / delta_zcdp))

Half of delta pays for that conversion; the other half for keeping a category whose
count passed a noisy threshold (an unknown domain: the release of a category held by
one row is an event of probability at most that delta, Rogers 2023). Both add up
(approximate zCDP composes, Bun & Steinke 2016, section 8), so a fit whose ledger spent
at most rho_budget and delta / 2 is (epsilon, delta)-DP.

Noise comes from OpenDP (`opendp`): its discrete Gaussian and noisy-max samplers are
exact, where a textbook floating-point Gaussian leaks through its low bits (Mironov
2012), and each measurement's privacy map, not our arithmetic, says the rho (and
delta) the ledger records. mbi (Private-PGM) was not needed: the model is a tree, whose
marginals can be made consistent exactly (`_dp.tree`), and mbi 2 brings JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from opendp import domains, measurements, measures, metrics
from opendp.mod import enable_features

from synthdata.engine.errors import InputError

# "contrib": OpenDP's measurements whose proofs are written but not yet vetted. The
# modules are imported one by one: `opendp.prelude` imports scikit-learn (5 s).
enable_features("contrib")

DEFAULT_DELTA = 1e-6
"""delta when none is given: fixed, not 1/n^2, because n itself is private; keep it
below 1/n (tables over a million rows: give a smaller one)."""

_SCALE_MARGIN = 1 + 1e-9  # OpenDP rounds its maps up: a hair more noise keeps rho in budget


def rho_for(epsilon: float, delta: float) -> float:
    """The largest rho whose zCDP implies (epsilon, delta)-DP by the bound above."""
    log = math.log(1 / delta)
    return (math.sqrt(log + epsilon) - math.sqrt(log)) ** 2


def epsilon_for(rho: float, delta: float) -> float:
    """The epsilon that rho-zCDP implies at `delta` (the bound above, the other way)."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


@dataclass
class Step:
    """One measurement: what it measured, and the rho and delta its privacy map gave."""

    step: str  # "range", "categories", "one_way", "select" or "two_way"
    target: str  # the column, or "a|b" for a pair, or "round k" of the tree selection
    rho: float
    delta: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "target": self.target, "rho": self.rho, "delta": self.delta}


@dataclass
class Ledger:
    """The budget (epsilon, delta) and every step that spent from it."""

    epsilon: float
    delta: float
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not (self.epsilon > 0 and math.isfinite(self.epsilon)):
            raise InputError(f"epsilon must be a positive number, not {self.epsilon!r}")
        if not 0 < self.delta < 1:
            raise InputError(f"delta must lie between 0 and 1, not {self.delta!r}")

    @property
    def rho_budget(self) -> float:
        """The rho all steps may spend (delta / 2 converts it)."""
        return rho_for(self.epsilon, self.delta / 2)

    @property
    def delta_threshold(self) -> float:
        """The delta the category thresholds may spend, all columns together."""
        return self.delta / 2

    @property
    def rho_spent(self) -> float:
        return sum(step.rho for step in self.steps)

    @property
    def delta_spent(self) -> float:
        """delta spent: the conversion's half plus what the thresholds' maps gave."""
        return self.delta / 2 + sum(step.delta for step in self.steps)

    @property
    def epsilon_spent(self) -> float:
        return epsilon_for(self.rho_spent, self.delta / 2) if self.rho_spent else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho_budget": self.rho_budget,
            "rho_spent": self.rho_spent,
            "epsilon_spent": self.epsilon_spent,
            "delta_spent": self.delta_spent,
            "conversion": "epsilon = rho + 2 sqrt(rho ln(2 / delta)) (Bun & Steinke 2016)",
            "steps": [step.to_dict() for step in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        steps = [Step(**step) for step in data.get("steps", [])]
        return cls(float(data["epsilon"]), float(data["delta"]), steps)

    # -- the mechanisms -------------------------------------------------------------------
    def noisy_counts(self, counts: np.ndarray, rho: float, step: str, target: str) -> np.ndarray:
        """`counts` (a histogram: one row changes one cell by 1) plus discrete Gaussian
        noise spending `rho`."""
        scale = _SCALE_MARGIN / math.sqrt(2 * rho)
        space = domains.vector_domain(domains.atom_domain(T=int)), metrics.l2_distance(T=int)
        measure = measurements.make_gaussian(*space, scale=scale)
        self.steps.append(Step(step, target, float(measure.map(1))))
        noisy = measure(np.asarray(counts, dtype=np.int64).ravel().tolist())
        return np.asarray(noisy, dtype=np.float64).reshape(np.shape(counts))

    def kept_keys(
        self, counts: dict[str, int], rho: float, delta: float, floor: int, target: str
    ) -> dict[str, float]:
        """The keys whose noisy count passes a threshold, with those counts.

        The threshold is the least that keeps a key held by one row with probability
        at most `delta` (OpenDP's map), raised by `floor` - 2 so that a key held by
        fewer than `floor` rows passes as rarely (the rare-value rule)."""
        scale = _SCALE_MARGIN / math.sqrt(2 * rho)
        space = (
            domains.map_domain(domains.atom_domain(T=str), domains.atom_domain(T=int)),
            metrics.l02inf_distance(metrics.absolute_distance(T=int)),
        )
        low, high = 1, 2
        while _threshold_delta(space, scale, high) > delta:
            low, high = high, high * 2
        while high - low > 1:  # the least threshold within delta
            middle = (low + high) // 2
            low, high = (
                (low, middle) if _threshold_delta(space, scale, middle) <= delta else (middle, high)
            )
        threshold = high + max(floor - 2, 0)
        measure = measurements.make_gaussian_threshold(*space, scale=scale, threshold=threshold)
        spent_rho, spent_delta = measure.map((1, 1, 1))
        self.steps.append(Step("categories", target, float(spent_rho), float(spent_delta)))
        return {str(k): float(v) for k, v in measure(counts).items()}

    def noisy_argmax(
        self, scores: np.ndarray, rho: float, target: str, step: str = "select"
    ) -> int:
        """The index of the highest score (one row moves each by at most 1), chosen by the
        exponential mechanism (Gumbel noisy max) spending `rho`."""
        scale = _SCALE_MARGIN / math.sqrt(2 * rho)
        space = _floats(), metrics.linf_distance(T=float)
        zcdp = measures.zero_concentrated_divergence()
        measure = measurements.make_noisy_max(*space, zcdp, scale=scale)
        self.steps.append(Step(step, target, float(measure.map(1.0))))
        return int(measure(np.asarray(scores, dtype=np.float64).tolist()))


def _floats() -> Any:
    return domains.vector_domain(domains.atom_domain(T=float, nan=False))


def _threshold_delta(space: tuple[Any, Any], scale: float, threshold: int) -> float:
    measure = measurements.make_gaussian_threshold(*space, scale=scale, threshold=threshold)
    return float(measure.map((1, 1, 1))[1])
