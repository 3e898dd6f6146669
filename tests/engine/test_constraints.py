"""Constraints hold in every sampled row, survive save/load, and fail fast when impossible."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synthdata
from synthdata.engine.constraints import ConstraintWarning, load_constraints, unmet
from synthdata.engine.errors import InputError
from tests.fixtures.tables import CONSTRAINTS, orders


@pytest.mark.parametrize("synthesizer", ["chain", "copula"])
def test_every_constraint_holds_in_every_row(synthesizer: str) -> None:
    real = orders()
    model = synthdata.fit(real, synthesizer=synthesizer, constraints=CONSTRAINTS)
    assert [c.real_share for c in model.constraints] == [1.0] * len(CONSTRAINTS)
    fake = model.sample(3_000, seed=3)
    assert len(fake) == 3_000
    assert unmet(fake, model.schema, model.constraints).sum() == 0
    assert (fake["gross"] - fake["net"] - fake["tax"]).abs().max() < 0.006
    assert fake["order_id"].is_unique  # keys are numbered by output row
    # Without the constraints the same model breaks some of them: they do something.
    free = synthdata.fit(real, synthesizer=synthesizer).sample(3_000, seed=3)
    assert unmet(free, model.schema, model.constraints).sum() > 0


def test_constrained_rows_are_seeded_prefix_stable_and_saved(tmp_path: Path) -> None:
    model = synthdata.fit(orders(), constraints=CONSTRAINTS)
    first = model.sample(2_500, seed=11)
    assert first.equals(model.sample(2_500, seed=11))
    assert first.head(700).equals(model.sample(700, seed=11))
    assert not first.equals(model.sample(2_500, seed=12))
    path = model.save(tmp_path / "orders.synth")
    loaded = synthdata.load_model(path)
    assert [c.to_dict() for c in loaded.constraints] == [c.to_dict() for c in model.constraints]
    assert loaded.sample(2_500, seed=11).equals(first)


def test_conditions_and_constraints_together() -> None:
    model = synthdata.fit(orders(), constraints=CONSTRAINTS)
    fake = model.sample(500, seed=1, conditions={"country": "de", "quantity": (5, 8)})
    assert set(fake["country"]) == {"de"} and set(fake["city"]) <= {"berlin", "bonn"}
    assert fake["quantity"].between(5, 8).all()
    assert unmet(fake, model.schema, model.constraints).sum() == 0
    # A condition on a derived total holds after the total is derived from its parts.
    rich = model.sample(300, seed=1, conditions={"gross": (150, 200)})
    assert rich["gross"].between(150, 200).all()
    assert (rich["gross"] - rich["net"] - rich["tax"]).abs().max() < 0.006
    with pytest.raises(InputError, match=r"seed rows give column 'gross'.*give the parts"):
        model.fill(pd.DataFrame({"gross": [10.0]}))


def test_chain_derives_exact_sums_of_the_real_rows_by_default() -> None:
    real = orders().drop(columns=["gross"])
    real["margin"] = (real["net"] - real["tax"]).round(2)  # an exact difference
    # An integer total cannot hold the sum of numbers with decimals: not derived.
    real["odd"] = real["quantity"] + 0.5 * (real["is_web"] - real["is_store"])
    model = synthdata.fit(real)
    assert [c.describe() for c in model.constraints] == ["margin + tax == net"]
    fake = model.sample(2_000, seed=5)
    assert (fake["net"] - fake["margin"] - fake["tax"]).abs().max() < 0.006
    assert synthdata.fit(real, derive_sums=False).constraints == []
    declared = synthdata.fit(
        real, constraints=[{"type": "sum", "columns": ["margin", "tax"], "total": "net"}]
    )
    assert len(declared.constraints) == 1  # a declared sum is not found a second time


def test_an_impossible_constraint_fails_fast_naming_it() -> None:
    with pytest.warns(ConstraintWarning, match="quantity > 100 holds in 0 of 1,500"):
        model = synthdata.fit(orders(), constraints=["quantity > 100"])
    with pytest.raises(InputError, match="quantity > 100 is met by 0 of"):
        model.sample(10, seed=1)
    # A constraint at odds with the conditions asked for also fails fast.
    with pytest.warns(ConstraintWarning):
        model = synthdata.fit(orders(), constraints=["quantity <= 10"])
    with pytest.raises(InputError, match="quantity <= 10"):
        model.sample(10, seed=1, conditions={"quantity": (15, 19)})


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"type": "inequality", "low": "net", "high": "nope"}, "unknown column 'nope'"),
        ({"type": "inequality", "low": "country", "high": "net"}, "'country' is categorical"),
        ({"type": "inequality", "low": "ordered_at", "high": "net"}, "date with a number"),
        ({"type": "sum", "columns": ["net"], "total": "country"}, "'country' is categorical"),
        ({"type": "fixed_combinations", "columns": ["country"]}, "at least two columns"),
        ({"type": "bounds", "column": "net"}, "give min, max or both"),
        ({"type": "bounds", "column": "net", "min": "low"}, "'low' is not a number"),
        ({"type": "between", "column": "net"}, "unknown constraint type 'between'"),
        ({"type": "positive", "column": "net", "colour": 1}, "unexpected keyword.*colour"),
        ("__import__('os').system('true')", "is not allowed"),
        ("net.real > 0", "is not allowed"),
        ("(lambda: 1)()", "is not allowed"),
        ("net >", "cannot be read"),
        ("ghost > 1", "unknown column 'ghost'"),
    ],
)
def test_bad_constraints_are_clear_errors(constraint: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        synthdata.fit(orders(200), constraints=[constraint])


def test_constraints_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "constraints:\n"
        "  - {type: inequality, low: ordered_at, high: shipped_at}\n"
        "  - type: sum\n    columns: [net, tax]\n    total: gross\n"
        '  - "quantity >= 1"\n'
    )
    assert [c.describe() for c in load_constraints(path)] == [
        "ordered_at <= shipped_at",
        "net + tax == gross",
        "quantity >= 1",
    ]
    model = synthdata.fit(orders(), constraints=path)
    assert unmet(model.sample(1_000, seed=2), model.schema, model.constraints).sum() == 0
    (tmp_path / "bad.yaml").write_text("constraints: {type: sum}\n")
    with pytest.raises(InputError, match="expected a list"):
        load_constraints(tmp_path / "bad.yaml")


@st.composite
def satisfied_constraints(draw: st.DrawFn) -> tuple[int, list[object]]:
    """A seed for the table and constraints chosen among those its real rows satisfy."""
    seed = draw(st.integers(0, 10_000))
    real = orders(400, seed)
    chosen: list[object] = []
    numbers = ["net", "tax", "gross", "quantity"]
    low, high = draw(st.sampled_from([(a, b) for a in numbers for b in numbers if a != b]))
    if (real[low] <= real[high]).all():
        chosen.append({"type": "inequality", "low": low, "high": high})
    column = draw(st.sampled_from(numbers))
    below, above = draw(st.floats(0, 5)), draw(st.floats(0, 5))
    bounds = {"min": real[column].min() - below, "max": real[column].max() + above}
    chosen.append({"type": "bounds", "column": column, **bounds})
    if draw(st.booleans()):
        chosen.append({"type": "fixed_combinations", "columns": ["country", "city"]})
    if draw(st.booleans()):
        chosen.append({"type": "one_hot", "columns": ["is_web", "is_store", "is_phone"]})
    if draw(st.booleans()):
        chosen.append({"type": "sum", "columns": ["net", "tax"], "total": "gross"})
    factor = draw(st.sampled_from([0.2, 0.5, 1.0]))
    chosen.append(f"tax <= {factor} * net + 0.01")
    return seed, chosen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(satisfied_constraints(), st.integers(0, 2**31), st.sampled_from(["chain", "copula"]))
def test_constraints_the_real_rows_meet_always_hold(
    case: tuple[int, list[object]], seed: int, synthesizer: str
) -> None:
    table_seed, constraints = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstraintWarning)  # all of them hold in the real rows
        model = synthdata.fit(
            orders(400, table_seed), synthesizer=synthesizer, constraints=constraints
        )
    fake = model.sample(300, seed=seed)
    assert len(fake) == 300
    assert unmet(fake, model.schema, model.constraints).sum() == 0


def test_found_in_review_and_kept_fixed() -> None:
    rng = np.random.default_rng(0)
    # A sum whose part is sometimes null: the total stays present where it was.
    n = 2_000
    net = rng.integers(10, 100, n).astype(float)
    tax = rng.integers(0, 20, n).astype(float)
    frame = pd.DataFrame({"net": net, "tax": tax, "gross": net + tax})
    frame.loc[rng.random(n) < 0.3, "tax"] = np.nan
    declared = [{"type": "sum", "columns": ["net", "tax"], "total": "gross"}]
    for model in (synthdata.fit(frame), synthdata.fit(frame, constraints=declared)):
        assert model.sample(2_000, seed=1)["gross"].notna().all()
    # Fixed combinations of numbers kept as written (0.1 * 3 is 0.30000000000000004).
    combos = pd.DataFrame({"grp": rng.choice(["a", "b"], n), "price": rng.integers(0, 4, n) * 0.1})
    fixed = synthdata.fit(
        combos, constraints=[{"type": "fixed_combinations", "columns": ["grp", "price"]}]
    )
    assert {0.3} <= set(fixed.sample(2_000, seed=1)["price"].round(1))
    # Rules that would crash or blow up are clear errors.
    for rule, message in [
        ("1 / 0 < net", "cannot be evaluated"),
        ("'x' * 99999999999 == grp", "text can only be joined"),
        ("not " * 5_000 + "net > 0", "longer than|nested|pieces"),
        ("+".join(["net"] * 300) + " > 0", "pieces"),
    ]:
        with pytest.raises(InputError, match=message):
            synthdata.fit(frame, constraints=[rule])
    # Integer column names; a date-time difference counts seconds.
    numbered = pd.DataFrame({0: rng.normal(size=500), 1: rng.normal(size=500) + 10})
    assert synthdata.fit(numbered, constraints=[{"type": "inequality", "low": 0, "high": 1}])
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, 500), "D")
    spans = pd.DataFrame(
        {"start": start, "end": start + pd.to_timedelta(rng.integers(0, 9, 500), "D")}
    )
    model = synthdata.fit(spans, constraints=["end - start <= 7 * 86400"])
    fake = model.sample(1_000, seed=2)
    assert ((fake["end"] - fake["start"]).dt.days <= 7).all()


def test_a_date_bound_is_read_in_the_column_zone() -> None:
    rng = np.random.default_rng(1)
    local = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 60, 800), "D")
    frame = pd.DataFrame({"at": local.tz_localize("Europe/Paris")})
    model = synthdata.fit(
        frame, constraints=[{"type": "bounds", "column": "at", "min": "2021-03-01"}]
    )
    assert model.constraints[0].real_share == 1.0  # midnight, 1 March in Paris, is in


def test_one_seed_row_is_filled_for_its_own_value() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(50, 10, 2_000)
    model = synthdata.fit(pd.DataFrame({"a": a, "b": a + rng.normal(0, 1, 2_000)}))
    filled = [model.fill(pd.DataFrame({"a": [75.0]}), seed=k)["b"][0] for k in range(20)]
    assert np.median(filled) > 65  # the median b is about 50: the known a must count
    assert model.fill(pd.DataFrame({"a": []}), seed=1).empty


def test_proposals_are_what_every_row_meets_and_more_than_the_ranges_say() -> None:
    from synthdata.engine.constraints import propose_constraints
    from synthdata.engine.schema import infer_schema

    real = orders()
    real["big"] = real["net"] + 1_000  # always above net, but the ranges alone say so
    found = {c.describe() for c in propose_constraints(real, infer_schema(real))}
    assert "net + tax == gross" in found
    assert "ordered_at <= shipped_at" in found
    assert "exactly one of is_web, is_store, is_phone" in found
    assert "fixed combinations of country, city" in found
    assert not any("big" in text for text in found)
    broken = real.copy()
    broken.loc[0, "shipped_at"] = broken.loc[0, "ordered_at"] - pd.Timedelta(days=1)
    found = {c.describe() for c in propose_constraints(broken, infer_schema(broken))}
    assert "ordered_at <= shipped_at" not in found  # one real row breaks it
