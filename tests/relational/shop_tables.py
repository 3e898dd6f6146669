"""Small hand-made linked tables for the relational tests, with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd


def shop(seed: int = 0, customers: int = 400) -> dict[str, pd.DataFrame]:
    """customers -> orders -> lines, products -> lines.

    Pro customers place more orders (and some customers none), and their orders are
    bigger; lines of an order follow its channel, and their weight their product's
    category (a second parent). A few orders reference a customer
    that does not exist (orphans) and a few have none (null).
    """
    rng = np.random.default_rng(seed)
    segment = rng.choice(["retail", "pro"], customers, p=[0.7, 0.3])
    people = pd.DataFrame(
        {
            "customer_id": np.arange(1001, 1001 + customers),
            "segment": segment,
            "age": rng.integers(18, 80, customers),
        }
    )
    per_customer = np.where(
        segment == "pro", rng.poisson(6, customers), rng.poisson(1.5, customers)
    )
    owner = np.repeat(people["customer_id"].to_numpy(), per_customer)
    n_orders = len(owner)
    pro = np.repeat(segment == "pro", per_customer)
    amount = np.round(
        np.where(pro, rng.normal(500, 60, n_orders), rng.normal(100, 20, n_orders)), 2
    )
    customer_id = owner.astype("float64")
    customer_id[: n_orders // 50] = np.nan  # 2 % without a customer
    customer_id[n_orders // 50 : n_orders // 25] = 99_999  # 2 % orphans
    orders = pd.DataFrame(
        {
            "order_id": [f"O-{i:06d}" for i in range(1, n_orders + 1)],
            "customer_id": customer_id,
            "channel": rng.choice(["web", "store"], n_orders),
            "amount": amount,
        }
    )
    products = pd.DataFrame(
        {
            "sku": [f"{a}{b}" for a in "ABCDEFGH" for b in "XYZW"],
            "category": rng.choice(["food", "tools"], 32),
        }
    )
    per_order = rng.integers(0, 5, n_orders)
    line_order = np.repeat(orders["order_id"].to_numpy(), per_order)
    line_web = np.repeat(orders["channel"].to_numpy() == "web", per_order)
    n_lines = len(line_order)
    sku = rng.choice(products["sku"].to_numpy(), n_lines)
    tools = products.set_index("sku")["category"].reindex(sku).to_numpy() == "tools"
    lines = pd.DataFrame(
        {
            "order_id": line_order,
            "line_no": np.concatenate([np.arange(1, k + 1) for k in per_order]),
            "sku": sku,
            "weight_kg": np.round(
                np.where(tools, rng.normal(10, 1, n_lines), rng.normal(1, 0.2, n_lines)), 2
            ),
            "quantity": np.where(
                line_web, rng.integers(1, 4, n_lines), rng.integers(5, 20, n_lines)
            ),
        }
    )
    return {"customers": people, "orders": orders, "products": products, "lines": lines}


def airports() -> dict[str, pd.DataFrame]:
    """A parent referenced twice: every flight has an origin and a destination airport."""
    rng = np.random.default_rng(1)
    codes = ["JFK", "LAX", "ORD", "SFO", "SEA", "BOS", "MIA", "DEN"]
    ports = pd.DataFrame({"code": codes, "city_size": rng.integers(1, 9, len(codes))})
    origin = rng.choice(codes, 300)
    destination = np.array([rng.choice([c for c in codes if c != o]) for o in origin])
    flights = pd.DataFrame(
        {
            "flight_id": np.arange(1, 301),
            "origin": origin,
            "destination": destination,
            "minutes": rng.integers(60, 400, 300),
        }
    )
    return {"airports": ports, "flights": flights}
