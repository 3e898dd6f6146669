"""PII and the model file, the user's overrides and consistent (keyed) fakes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata import ColumnKind, ColumnSpec, InputError, infer_schema
from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.protect import Pseudonymiser
from tests.fixtures.pii import EMAIL, PII_COLUMNS, pii_table


def _saved_bytes(path: Path) -> bytes:
    """Every member of a model file, uncompressed (and each array of arrays.npz)."""
    parts = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            parts.append(data)
            if name.endswith(".npz"):
                with zipfile.ZipFile(io.BytesIO(data)) as arrays:
                    parts.extend(arrays.read(inner) for inner in arrays.namelist())
    return b"\n".join(parts)


@pytest.mark.parametrize("synthesizer", ["chain", "copula"])
def test_a_saved_model_holds_no_real_pii_value(tmp_path: Path, synthesizer: str) -> None:
    real = pii_table()
    model = synthdata.fit(real, synthesizer=synthesizer)
    path = model.save(tmp_path / "model.synth")
    blob = _saved_bytes(path)
    found = [
        value
        for column in PII_COLUMNS
        for value in real[column].astype(str).unique()
        if value.encode() in blob
    ]
    assert found == []
    # The categorical PII columns are in the file, as fakes: the check above can see them.
    assert b"Dr. " in blob
    # And it samples the same fakes after loading.
    loaded = synthdata.load_model(path)
    assert loaded.schema is not None and loaded.schema["email"].pii == "email"
    assert loaded.sample(50, seed=3)["email"].tolist() == model.sample(50, seed=3)["email"].tolist()


def test_the_secret_is_not_saved(tmp_path: Path) -> None:
    real = pii_table(rows=200)
    secret = "s3cret-value-for-the-test"
    path = synthdata.fit(real, pii_secret=secret).save(tmp_path / "model.synth")
    assert secret.encode() not in _saved_bytes(path)


def test_consistent_fakes_depend_on_the_secret_only() -> None:
    first, again, other = Pseudonymiser("k1"), Pseudonymiser("k1"), Pseudonymiser("k2")
    for kind, value in [
        (PiiKind.EMAIL, "jane.porter@acme.com"),
        (PiiKind.PERSON_NAME, "Jane Porter"),
        (PiiKind.SSN, "123-45-6789"),
        (PiiKind.CREDIT_CARD, "4111 1111 1111 1111"),
        (PiiKind.PHONE, "(415) 555-0132"),
        (PiiKind.IP_ADDRESS, "10.1.2.3"),
        (PiiKind.ADDRESS, "12 Elm Street"),
    ]:
        fake = first.fake(kind, value)
        assert fake != value
        assert again.fake(kind, value) == fake
        assert other.fake(kind, value) != fake
    # Without a secret each fit draws a fresh key: no two runs agree.
    assert Pseudonymiser().fake(PiiKind.EMAIL, "a@b.com") != Pseudonymiser().fake(
        PiiKind.EMAIL, "a@b.com"
    )


def test_consistent_mode_in_fitting_maps_equal_values_to_equal_fakes() -> None:
    real = pii_table(rows=300)
    one = synthdata.fit(real, pii_secret="k1").sample(500, seed=1)
    two = synthdata.fit(real, pii_secret="k1", synthesizer="copula").sample(500, seed=2)
    other = synthdata.fit(real, pii_secret="k2").sample(500, seed=1)
    # Five real doctors, five fakes: the same five for the same secret.
    assert set(one["doctor"]) == set(two["doctor"])
    assert len(set(one["doctor"])) == real["doctor"].nunique()
    assert set(one["doctor"]).isdisjoint(set(other["doctor"]))
    assert set(one["doctor"]).isdisjoint(set(real["doctor"]))


def test_pseudonymised_linked_tables_still_join() -> None:
    customers = pd.DataFrame(
        {
            "email": [f"user{i}.name@example.com" for i in range(30)],
            "ssn": [f"{100 + i:03d}-{10 + i:02d}-{1000 + i:04d}" for i in range(30)],
        }
    )
    rng = np.random.default_rng(0)
    orders = pd.DataFrame(
        {"email": rng.choice(customers["email"], 80), "total": rng.gamma(2.0, 10.0, 80)}
    )
    fake_customers = synthdata.pseudonymise(customers, secret="shared")
    fake_orders = synthdata.pseudonymise(orders, secret="shared")
    assert set(fake_customers["email"]).isdisjoint(set(customers["email"]))
    assert fake_customers["email"].map(lambda v: EMAIL.fullmatch(v) is not None).all()
    assert fake_customers["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
    joined = fake_orders.merge(fake_customers, on="email", how="left")
    assert joined["ssn"].notna().all()  # every order finds its customer
    assert (fake_orders["total"] == orders["total"]).all()  # the rest is untouched
    other = synthdata.pseudonymise(customers, secret="another")
    assert set(other["email"]).isdisjoint(set(fake_customers["email"]))


def test_keep_override_leaves_a_column_as_it_is() -> None:
    real = pii_table(rows=300)
    kept = synthdata.fit(real, pii={"doctor": "keep"})
    assert kept.schema is not None
    spec = kept.schema["doctor"]
    assert spec.pii_keep and spec.pii == "person_name"
    out = kept.sample(300, seed=1)
    assert set(out["doctor"]) <= set(real["doctor"])  # the real names, by choice
    replaced = synthdata.fit(real).sample(300, seed=1)
    assert set(replaced["doctor"]).isdisjoint(set(real["doctor"]))


def test_naming_a_kind_replaces_an_undetected_column() -> None:
    frame = pd.DataFrame(
        {"given": ["Zorblat", "Quindle", "Marvax", "Tibbon", "Olfrey"] * 40, "n": range(200)}
    )
    assert infer_schema(frame)["given"].pii is None
    model = synthdata.fit(frame, pii={"given": "first_name"})
    assert model.schema is not None and model.schema["given"].pii == "first_name"
    out = model.sample(400, seed=1)
    assert set(out["given"]).isdisjoint(set(frame["given"]))
    assert out["given"].str.fullmatch(r"[A-Z][a-z]+").all()


def test_detection_can_be_turned_off() -> None:
    real = pii_table(rows=200)
    schema = infer_schema(real, detect_pii=False)
    assert all(column.pii is None for column in schema.columns)
    schema = infer_schema(real, pii={"email": "email"}, detect_pii=False)
    assert [column.name for column in schema.columns if column.pii] == ["email"]


def test_bad_overrides_are_refused() -> None:
    real = pii_table(rows=100)
    with pytest.raises(InputError, match="unknown PII treatment"):
        infer_schema(real, pii={"email": "postcode"})
    with pytest.raises(InputError, match="unknown column"):
        infer_schema(real, pii={"nope": "email"})


def test_numbers_that_are_pii_stay_numbers() -> None:
    rng = np.random.default_rng(1)
    ssns = rng.integers(100_000_000, 665_000_000, 300)
    frame = pd.DataFrame({"ssn": ssns, "score": rng.normal(size=300)})
    model = synthdata.fit(frame)
    assert model.schema is not None and model.schema["ssn"].pii == "ssn"
    assert model.schema["ssn"].kind == ColumnKind.IDENTIFIER
    out = model.sample(300, seed=4)
    assert pd.api.types.is_integer_dtype(out["ssn"].dtype)
    assert set(out["ssn"]).isdisjoint(set(ssns))


def test_schema_json_round_trip_and_old_files() -> None:
    spec = infer_schema(pii_table(rows=100))["email"]
    data = spec.to_dict()
    assert data["pii"] == "email" and data["pii_locale"] == "en_US"
    assert ColumnSpec.from_dict(data) == spec
    old = {k: v for k, v in data.items() if not k.startswith("pii")}
    restored = ColumnSpec.from_dict(old)
    assert restored.pii is None and not restored.pii_keep


@pytest.mark.parametrize(
    ("column", "kind"), [("first_name", "first_name"), ("surname", "last_name")]
)
def test_single_names_under_a_telling_column_name(column: str, kind: str) -> None:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(8)
    make = fake.first_name if kind == "first_name" else fake.last_name
    # 30 names, 10 rows each: none is rare (rare values are pooled, see engine.rare).
    frame = pd.DataFrame({column: [make() for _ in range(30)] * 10, "n": range(300)})
    model = synthdata.fit(frame)
    assert model.schema is not None and model.schema[column].pii == kind
    out = model.sample(300, seed=2)[column]
    assert out.str.fullmatch(r"[A-Z][a-z]+").mean() > 0.95
    assert set(out.str.len()) <= set(frame[column].str.len())


def test_the_locale_chooses_the_name_lists() -> None:
    from synthdata.engine.pii.vocab import vocabulary

    frame = pii_table(rows=300)[["customer", "amount"]]
    out = synthdata.fit(frame, pii_locale="de_DE").sample(400, seed=1)["customer"]
    german = vocabulary("de_DE")
    firsts = out.str.split().str[0]
    assert firsts.isin(german.first_names).mean() > 0.8
    english = synthdata.fit(frame).sample(400, seed=1)["customer"]
    assert english.str.split().str[0].isin(vocabulary("en_US").first_names).mean() > 0.8
