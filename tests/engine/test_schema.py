"""Schema inference: every column kind, overrides, and JSON round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from synthdata import ColumnKind, InputError, TableSchema, infer_schema


def _mixed(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "code": [f"C-{i:05d}" for i in range(n)],
            "age": rng.integers(18, 90, n),
            "price": np.round(rng.lognormal(3, 1, n), 2),
            "active": rng.random(n) < 0.3,
            "joined": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "seen": pd.to_datetime(1.7e9 + rng.integers(0, 10**7, n), unit="s", utc=True),
            "color": rng.choice(["red", "green", "blue"], n),
            "flag": ["yes"] * n,
            "nothing": [None] * n,
        }
    )


def test_infers_every_kind() -> None:
    schema = infer_schema(_mixed())
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "customer_id": ColumnKind.IDENTIFIER,
        "code": ColumnKind.IDENTIFIER,
        "age": ColumnKind.INTEGER,
        "price": ColumnKind.CONTINUOUS,
        "active": ColumnKind.BOOLEAN,
        "joined": ColumnKind.DATETIME,
        "seen": ColumnKind.DATETIME,
        "color": ColumnKind.CATEGORICAL,
        "flag": ColumnKind.CONSTANT,
        "nothing": ColumnKind.EMPTY,
    }
    assert schema["price"].decimals == 2
    assert schema["joined"].datetime_unit == "D"
    assert schema["seen"].timezone == "UTC"
    assert schema["seen"].datetime_unit == "s"
    assert schema["code"].identifier_format == "prefix:C-:5"
    assert schema["flag"].constant_value == "yes"


def test_missingness_rate_is_recorded() -> None:
    frame = pd.DataFrame({"x": [1.5, None, 2.5, None, 3.5, 4.5, 1.0, 2.0]})
    assert infer_schema(frame)["x"].null_rate == pytest.approx(0.25)


def test_override_wins_and_bad_override_is_an_input_error() -> None:
    frame = _mixed()
    schema = infer_schema(frame, {"age": "categorical"})
    assert schema["age"].kind == ColumnKind.CATEGORICAL
    with pytest.raises(InputError, match="unknown column type"):
        infer_schema(frame, {"age": "complex"})
    with pytest.raises(InputError, match="unknown column"):
        infer_schema(frame, {"missing": "integer"})


def test_text_booleans_are_booleans() -> None:
    frame = pd.DataFrame({"b": ["true", "false", "True", "false"] * 10})
    assert infer_schema(frame)["b"].kind == ColumnKind.BOOLEAN


@settings(max_examples=40, deadline=None)
@given(
    data_frames(
        columns=[
            column("i", dtype=int, elements=st.integers(-1000, 1000)),
            column("f", elements=st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")))),
            column("s", elements=st.sampled_from(["a", "b", "c", None])),
            column("b", dtype=bool),
        ],
        index=range_indexes(min_size=1, max_size=50),
    )
)
def test_inference_is_total_and_round_trips_through_json(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    assert schema.names == list(frame.columns)
    for spec in schema.columns:
        assert 0.0 <= spec.null_rate <= 1.0
    assert TableSchema.from_dict(schema.to_dict()) == schema
