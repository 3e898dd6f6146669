"""Functional dependencies between categorical columns (a city lies in one region).

A copula blurs such a dependency: the SDMetrics pair score of city~region is about
0.23 for every copula-like engine. When almost every value of a finer column maps
to one value of a coarser column, we model only the finer one and rebuild the
coarser one by lookup, which keeps the hierarchy exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthdata.engine.columns import Encoded

PURITY = 0.99  # share of rows that must follow the mapping
MAX_PAIR_CELLS = 4_000_000  # contingency tables larger than this are not examined


@dataclass
class Derivation:
    """`target` is rebuilt from `source`: target code = mapping[source code]."""

    target: str
    source: str
    levels: list[Any]
    mapping: np.ndarray  # source code -> target code (len(levels) means null)
    fallback: np.ndarray  # cumulative distribution of target codes where source is null

    def apply(
        self, source_codes: np.ndarray, source_present: np.ndarray, uniform: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (target codes, target present mask) for sampled source codes."""
        codes = self.mapping[np.where(source_present, source_codes, 0)]
        if not source_present.all():
            drawn = np.searchsorted(self.fallback, uniform, side="right")
            codes = np.where(source_present, codes, np.minimum(drawn, len(self.levels)))
        present = codes < len(self.levels)
        return np.where(present, codes, 0), present

    def to_state(self) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        return (
            {"target": self.target, "source": self.source, "levels": self.levels},
            self.mapping,
            self.fallback,
        )

    @classmethod
    def from_state(
        cls, params: dict[str, Any], mapping: np.ndarray, fallback: np.ndarray
    ) -> Derivation:
        return cls(params["target"], params["source"], params["levels"], mapping, fallback)


def find_derivations(encoded: dict[str, Encoded], n: int) -> list[Derivation]:
    """Find coarser level columns that a finer level column determines."""
    candidates = {
        name: enc for name, enc in encoded.items() if enc.levels is not None and len(enc.levels) > 1
    }
    # The finest column that determines a target is the best source; sources stay modelled.
    by_size = sorted(candidates, key=lambda name: len(candidates[name].levels or []))
    derived: list[Derivation] = []
    targets: set[str] = set()
    for target in by_size:
        for source in reversed(by_size):
            if source == target or source in targets:
                continue
            found = _derive(target, candidates[target], source, candidates[source], n)
            if found is not None:
                derived.append(found)
                targets.add(target)
                break
    return derived


def _derive(target: str, tgt: Encoded, source: str, src: Encoded, n: int) -> Derivation | None:
    k_src, k_tgt = len(src.levels or []), len(tgt.levels or [])
    if k_src <= k_tgt or (k_src + 1) * (k_tgt + 1) > MAX_PAIR_CELLS:
        return None
    src_codes = _full_codes(src, n, k_src)
    tgt_codes = _full_codes(tgt, n, k_tgt)
    table = np.bincount(src_codes * (k_tgt + 1) + tgt_codes, minlength=(k_src + 1) * (k_tgt + 1))
    table = table.reshape(k_src + 1, k_tgt + 1)
    known = table[:k_src]
    if known.sum() == 0 or known.max(axis=1).sum() < PURITY * known.sum():
        return None
    mapping = known.argmax(axis=1).astype(np.int64)
    missing_row = table[k_src].astype(np.float64)
    total = missing_row.sum()
    fallback = np.cumsum(missing_row / total) if total else np.cumsum(known.sum(axis=0) / n)
    fallback[-1] = 1.0
    return Derivation(target, source, list(tgt.levels or []), mapping, fallback)


def _full_codes(enc: Encoded, n: int, k: int) -> np.ndarray:
    """Codes for every row, with nulls as code k."""
    codes = np.full(n, k, dtype=np.int64)
    codes[enc.present] = enc.values
    return codes
