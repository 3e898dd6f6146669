"""The SDV adapters: registration without SDV, fitting, seeded sampling, clear refusals."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from synthdata import (
    MissingDependencyError,
    SynthDataError,
    create_synthesizer,
    infer_schema,
    list_synthesizers,
)
from synthdata.engine.sdv_adapter import build_metadata_dict


def _mixed_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A small table with one column of every kind the adapter translates."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10.5, 0.5, n), 2)
    income[rng.random(n) < 0.05] = np.nan
    region = rng.choice(["north", "south", "east"], n)
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 86_400 * 300, n), unit="s"
    )
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": rng.integers(18, 90, n),
            "income": income,
            "region": region,
            "city": [f"{r}_{k}" for r, k in zip(region, rng.integers(0, 4, n), strict=True)],
            "is_active": rng.random(n) < 0.6,
            "signup_date": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "last_login": stamps,
            "country": "NL",
        }
    )


def test_names_are_registered_without_importing_sdv() -> None:
    code = (
        "import sys; sys.modules['sdv'] = None\n"
        "import synthdata\n"
        "names = synthdata.list_synthesizers()\n"
        "assert {'sdv_copula', 'sdv_ctgan', 'sdv_tvae'} <= set(names), names\n"
        "assert sys.modules['sdv'] is None\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {"sdv_copula", "sdv_ctgan", "sdv_tvae"} <= set(list_synthesizers())


def test_fit_without_sdv_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sdv", None)
    monkeypatch.setitem(sys.modules, "sdv.single_table", None)
    model = create_synthesizer("sdv_copula")
    with pytest.raises(MissingDependencyError, match=r"pip install 'inferloop-synthdata\[sdv\]'"):
        model.fit(_mixed_table(50))


def test_metadata_maps_every_kind() -> None:
    schema = infer_schema(_mixed_table(200))
    table = build_metadata_dict(schema)["tables"]["table"]
    sdtypes = {name: column["sdtype"] for name, column in table["columns"].items()}
    assert sdtypes == {
        "customer_id": "id",
        "age": "numerical",
        "income": "numerical",
        "region": "categorical",
        "city": "categorical",
        "is_active": "boolean",
        "signup_date": "datetime",
        "last_login": "datetime",
    }
    assert table["primary_key"] == "customer_id"
    assert "country" not in table["columns"]  # constant: rebuilt by us, not learnt by SDV


@pytest.mark.sdv
def test_sdv_copula_fits_and_samples_the_real_forms() -> None:
    real = _mixed_table(300)
    model = create_synthesizer("sdv_copula").fit(real)
    fake = model.sample(400, seed=11)

    assert list(fake.columns) == list(real.columns)
    assert len(fake) == 400
    assert fake["customer_id"].is_unique
    assert fake["age"].dtype == np.int64
    assert fake["age"].between(18, 89).all()
    assert fake["income"].dtype == np.float64
    assert fake["income"].isna().any()
    assert set(fake["region"]) <= set(real["region"])
    assert set(fake["city"]) <= set(real["city"])
    assert fake["is_active"].dtype == bool
    assert fake["signup_date"].dtype == "datetime64[ns]"
    assert (fake["signup_date"] == fake["signup_date"].dt.floor("D")).all()
    assert str(fake["last_login"].dt.tz) == "UTC"
    assert (fake["last_login"] == fake["last_login"].dt.floor("s")).all()
    assert (fake["country"] == "NL").all()


@pytest.mark.sdv
def test_sdv_copula_same_seed_same_rows() -> None:
    model = create_synthesizer("sdv_copula").fit(_mixed_table(300, seed=2))
    first = model.sample(250, seed=5)
    again = model.sample(250, seed=5)
    other = model.sample(250, seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


@pytest.mark.sdv
def test_sdv_ctgan_passes_options_through() -> None:
    model = create_synthesizer("sdv_ctgan", epochs=1, batch_size=50).fit(_mixed_table(200))
    assert model._model.epochs == 1  # the option reached SDV's synthesizer
    fake = model.sample(60, seed=1)
    assert len(fake) == 60
    assert list(fake.columns) == list(_mixed_table(1).columns)
    assert set(fake["region"]) <= {"north", "south", "east"}


@pytest.mark.sdv
def test_sdv_models_refuse_the_safe_format() -> None:
    model = create_synthesizer("sdv_copula").fit(_mixed_table(100))
    with pytest.raises(SynthDataError, match="cannot be saved"):
        model.to_state()
