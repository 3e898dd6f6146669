"""Conditional sampling with the chain: every row meets the conditions, drawn from the
model's conditional distribution (the other columns follow the condition as in the real rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthdata.engine.base import create_synthesizer
from synthdata.engine.errors import InputError
from tests.fixtures.tables import segmented_table


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, object]:
    data = segmented_table()
    return data, create_synthesizer("chain").fit(data)


def test_equality_and_range_hold_on_every_row(fitted) -> None:
    _, model = fitted
    fake = model.sample(3_000, seed=1, conditions={"segment": "wholesale", "items": (15, 25)})
    assert len(fake) == 3_000
    assert (fake["segment"] == "wholesale").all()
    assert fake["items"].between(15, 25).all()


def test_other_columns_follow_the_condition(fitted) -> None:
    data, model = fitted
    wholesale = model.sample(3_000, seed=2, conditions={"segment": "wholesale"})
    assert np.corrcoef(wholesale["x"], wholesale["y"])[0, 1] < -0.8
    assert wholesale["items"].mean() > 15
    # A condition on a column late in the chain reaches back to the earlier ones:
    # missing amounts belong mostly to online orders, as in the real rows.
    missing = model.sample(2_000, seed=3, conditions={"amount": None})
    assert missing["amount"].isna().all()
    real_share = (data.loc[data["amount"].isna(), "segment"] == "online").mean()
    fake_share = (missing["segment"] == "online").mean()
    assert real_share > 0.9
    assert abs(fake_share - real_share) < 0.08


def test_sets_and_date_ranges(fitted) -> None:
    _, model = fitted
    fake = model.sample(
        1_000,
        seed=4,
        conditions={"segment": ["retail", "online"], "day": ("2024-03-01", "2024-03-31")},
    )
    assert set(fake["segment"]) <= {"retail", "online"}
    days = pd.to_datetime(fake["day"])
    assert days.between(pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-31")).all()


def test_same_seed_same_rows_and_prefix(fitted) -> None:
    _, model = fitted
    conditions = {"x": (0.5, 2.0)}
    rows = model.sample(800, seed=5, conditions=conditions)
    assert rows.equals(model.sample(800, seed=5, conditions=conditions))
    assert model.sample(300, seed=5, conditions=conditions).equals(rows.head(300))


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"segment": "nowhere"}, "'nowhere' never occurs in column 'segment'"),
        ({"x": (50, 60)}, "condition x=50..60: no value of the real table meets it"),
        ({"missing_column": 1}, "unknown column 'missing_column'"),
        ({"segment": None}, "the column has no nulls"),
        ({"x": (2, 1)}, "the low end is above the high end"),
        ({"segment": (1, 2)}, "is not a categorical"),
    ],
)
def test_impossible_conditions_fail_fast_with_the_column_named(
    fitted, conditions: dict, message: str
) -> None:
    _, model = fitted
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model.sample(10, seed=0, conditions=conditions)


def test_a_synthesizer_without_conditions_says_so() -> None:
    model = create_synthesizer("copula").fit(segmented_table(n=500))
    with pytest.raises(InputError, match="copula synthesizer cannot sample with conditions"):
        model.sample(10, conditions={"segment": "retail"})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(0, 5_999), width=st.floats(0.05, 2.0))
def test_conditions_taken_from_a_real_row_always_hold(fitted, row: int, width: float) -> None:
    data, model = fitted
    real = data.iloc[row]
    conditions = {
        "segment": real["segment"],
        "y": (float(real["y"]) - width, float(real["y"]) + width),
    }
    fake = model.sample(50, seed=row, conditions=conditions)
    assert len(fake) == 50
    assert (fake["segment"] == real["segment"]).all()
    assert fake["y"].between(*conditions["y"]).all()
