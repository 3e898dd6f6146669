"""The benchmark table: 12 mixed columns with known dependencies (DESIGN.md section 6).

Every column has a planted relationship so a synthesizer's quality can be judged:

- ``age`` (int 18-90), ``income`` (lognormal, 2 decimals), ``segment`` (4 levels) and
  ``score`` (0-1) share one latent "wealth" factor;
- ``balance`` follows ``income`` and may be negative;
- ``num_purchases`` is Poisson with a rate set by ``segment``; ``is_active`` follows it;
- ``channel`` (web / mobile / store) depends on ``age``: the young buy on mobile;
- ``city`` (60 values) belongs to exactly one ``region`` (5 values): a strict hierarchy;
- ``signup_date`` (day resolution) lies within the customer's adult life (tenure <= age - 18);
- ``last_login`` is a UTC timestamp (seconds) after signup, more recent for active customers.

About 5 % of ``income``, ``balance``, ``segment``, ``score`` and ``last_login`` are null;
``region`` and ``city`` never are. There is no identifier column.

Command line::

    python -m benchmarks.datasets --rows 1000000 --out mixed.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

REGIONS = ("north", "south", "east", "west", "central")
REGION_WEIGHTS = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
CITIES_PER_REGION = 12
CITIES = tuple(f"{region}_city_{k:02d}" for region in REGIONS for k in range(CITIES_PER_REGION))
SEGMENTS = ("budget", "standard", "premium", "vip")
CHANNELS = ("mobile", "web", "store")
SEGMENT_SHARES = np.array([0.35, 0.35, 0.20, 0.10])
PURCHASE_RATE = np.array([2.0, 5.0, 9.0, 15.0])  # Poisson mean per segment
NULL_RATE = 0.05
NULLABLE = ("income", "balance", "segment", "score", "last_login")
COLUMNS = (
    "age",
    "income",
    "balance",
    "num_purchases",
    "region",
    "city",
    "segment",
    "channel",
    "is_active",
    "signup_date",
    "last_login",
    "score",
)
# The reference day everything is measured back from; fixed so tables are reproducible.
AS_OF = np.datetime64("2025-01-01T00:00:00", "s")
CSV_CHUNK_ROWS = 500_000
# The values never hold commas or quotes, so leave them bare as most exporters do.
_CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none")

# Within a region, cities follow a Zipf-like law so some are big and some are rare.
_CITY_WEIGHTS = 1.0 / np.arange(1, CITIES_PER_REGION + 1)
_CITY_CDF = np.cumsum(_CITY_WEIGHTS / _CITY_WEIGHTS.sum())


def make_mixed_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Return the benchmark table with `n_rows` rows; the same seed gives the same table."""
    return _generate(n_rows, np.random.default_rng(seed))


def _generate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw `n` rows with `rng` (vectorised: about a second per million rows)."""
    wealth = rng.standard_normal(n)

    age = np.clip(np.rint(44 + 13 * (0.5 * wealth + 0.866 * rng.standard_normal(n))), 18, 90)
    age = age.astype(np.int64)

    region_code = np.searchsorted(np.cumsum(REGION_WEIGHTS), rng.random(n), side="right")
    region_code = np.minimum(region_code, len(REGIONS) - 1)
    city_rank = np.minimum(
        np.searchsorted(_CITY_CDF, rng.random(n), side="right"), CITIES_PER_REGION - 1
    )
    city_code = region_code * CITIES_PER_REGION + city_rank
    # Richer regions make the income~region pair carry signal too.
    region_lift = np.array([0.10, -0.05, 0.0, 0.05, 0.15])[region_code]

    log_income = 10.6 + region_lift + 0.6 * (0.7 * wealth + 0.714 * rng.standard_normal(n))
    income = np.round(np.exp(log_income), 2)
    balance = np.round(0.12 * income + rng.normal(0.0, 6_000.0, n), 2)

    # Segment from a noisy copy of wealth, cut at the share quantiles of a standard normal.
    segment_latent = 0.8 * wealth + 0.6 * rng.standard_normal(n)
    cuts = np.array([-0.385, 0.524, 1.282])  # N(0,1) quantiles at 0.35, 0.70, 0.90
    segment_code = np.searchsorted(cuts, segment_latent)
    num_purchases = rng.poisson(PURCHASE_RATE[segment_code]).astype(np.int64)
    active_p = 1.0 / (1.0 + np.exp(-(-1.2 + 0.35 * num_purchases)))
    is_active = rng.random(n) < active_p

    # Channel from age: the share of mobile falls and the share of store rises with age.
    young = np.clip((70 - age) / 52, 0, 1)
    channel_u = rng.random(n)
    channel_code = np.where(channel_u < 0.15 + 0.55 * young, 0, 1)
    channel_code = np.where(channel_u > 0.60 + 0.35 * young, 2, channel_code)

    max_tenure_days = np.minimum(age - 18, 20) * 365 + 30
    tenure_days = np.floor(rng.random(n) * max_tenure_days).astype(np.int64)
    signup_day = AS_OF.astype("datetime64[D]") - tenure_days.astype("timedelta64[D]")
    # Active customers logged in within days, the others within months (never before signup).
    mean_gap_s = np.where(is_active, 3 * 86_400.0, 120 * 86_400.0)
    gap_s = np.minimum(rng.exponential(mean_gap_s), tenure_days * 86_400.0)
    last_login = AS_OF - gap_s.astype(np.int64).astype("timedelta64[s]")

    score = 1.0 / (1.0 + np.exp(-(0.9 * wealth + 0.5 * is_active + 0.5 * rng.standard_normal(n))))

    frame = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "balance": balance,
            "num_purchases": num_purchases,
            "region": np.asarray(REGIONS, dtype=object)[region_code],
            "city": np.asarray(CITIES, dtype=object)[city_code],
            "segment": np.asarray(SEGMENTS, dtype=object)[segment_code],
            "channel": np.asarray(CHANNELS, dtype=object)[channel_code],
            "is_active": is_active,
            "signup_date": signup_day.astype("datetime64[ns]"),
            "last_login": pd.DatetimeIndex(last_login.astype("datetime64[ns]")).tz_localize("UTC"),
            "score": np.round(score, 4),
        }
    )
    for name in NULLABLE:
        mask = rng.random(n) < NULL_RATE
        if name == "last_login":
            frame.loc[mask, name] = pd.NaT
        elif name == "segment":
            frame.loc[mask, name] = None
        else:
            frame.loc[mask, name] = np.nan
    return frame


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table for CSV output: dates as plain days, timestamps to the second."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    casts = {
        "signup_date": pa.date32(),
        "last_login": pa.timestamp("s", tz="UTC"),
    }
    for name, arrow_type in casts.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(arrow_type))
    return table


def write_mixed_csv(
    path: str | Path, n_rows: int, seed: int = 0, chunk_rows: int = CSV_CHUNK_ROWS
) -> Path:
    """Write the benchmark table to a CSV file, `chunk_rows` at a time (bounded memory).

    Each chunk draws from its own generator spawned from `seed`, so a file is reproducible
    for a given (seed, chunk_rows); it equals `make_mixed_table` only in distribution.
    About 10.5 million rows make a 1 GB file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    writer: pacsv.CSVWriter | None = None
    try:
        for index, start in enumerate(range(0, n_rows, chunk_rows)):
            rows = min(chunk_rows, n_rows - start)
            rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(index,)))
            table = _to_arrow(_generate(rows, rng))
            if writer is None:
                writer = pacsv.CSVWriter(str(target), table.schema, write_options=_CSV_OPTIONS)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: still write the header
        empty = _to_arrow(_generate(0, np.random.default_rng(seed)))
        pacsv.write_csv(empty, str(target), write_options=_CSV_OPTIONS)
    return target


def write_frame_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table made by `make_mixed_table` in the same CSV dialect as `write_mixed_csv`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(_to_arrow(frame), str(target), write_options=_CSV_OPTIONS)
    return target


def main(argv: list[str] | None = None) -> None:
    """Command line: write the benchmark table to a CSV file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    path = write_mixed_csv(args.out, args.rows, args.seed)
    print(f"wrote {args.rows} rows to {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
