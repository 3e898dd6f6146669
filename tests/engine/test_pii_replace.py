"""PII replacement: every kind is replaced by fakes of the same form, and no real value
reaches the synthetic rows."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import synthdata
from synthdata.engine.base import Synthesizer
from synthdata.engine.kinds import ColumnKind
from synthdata.engine.pii.text import find_spans
from tests.fixtures.pii import (
    ADDRESS,
    EMAIL,
    PERSON,
    PII_COLUMNS,
    ip_version,
    is_phone,
    is_valid_card,
    is_valid_ssn,
    mask,
    pii_table,
)

ROWS = 1500


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return pii_table()


@pytest.fixture(scope="module", params=["chain", "copula"])
def fitted(request: pytest.FixtureRequest, real: pd.DataFrame) -> Synthesizer:
    return synthdata.fit(real, synthesizer=request.param)


@pytest.fixture(scope="module")
def synthetic(fitted: Synthesizer) -> pd.DataFrame:
    return fitted.sample(ROWS, seed=5)


def test_every_pii_column_is_found_with_its_kind(fitted: Synthesizer) -> None:
    schema = fitted.schema
    assert schema is not None
    assert {c.name: c.pii for c in schema.columns if c.pii} == PII_COLUMNS
    assert schema["faa"].pii is None and schema["amount"].pii is None


@pytest.mark.parametrize("column", sorted(PII_COLUMNS))
def test_no_real_value_is_emitted(real: pd.DataFrame, synthetic: pd.DataFrame, column: str) -> None:
    emitted = set(synthetic[column].dropna().astype(str))
    assert len(emitted) > 1
    assert emitted.isdisjoint(set(real[column].astype(str)))


def test_no_real_span_of_free_text_is_emitted(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    spans = {text[start:end] for text in real["memo"] for start, end, _ in find_spans(text)}
    assert len(spans) >= 12  # a name, a phone number and an e-mail address in each memo
    written = "\n".join(synthetic["memo"].astype(str))
    assert not [span for span in spans if span in written]
    # Only the spans were swapped: the words around them are the real ones.
    assert (
        synthetic["memo"]
        .str.fullmatch(r"Call .+ at \(\d{3}\) \d{3}-\d{4} or .+@.+ about the invoice")
        .all()
    )


def test_emails_keep_their_form(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    emails = synthetic["email"]
    assert emails.map(lambda v: EMAIL.fullmatch(v) is not None).all()
    real_tlds = {v.rsplit(".", 1)[1] for v in real["email"]}
    assert {v.rsplit(".", 1)[1] for v in emails} <= real_tlds
    real_forms = {mask(v) for v in real["email"]}
    assert emails.map(mask).isin(real_forms).all()


def test_phones_keep_their_form_and_are_possible_numbers(synthetic: pd.DataFrame) -> None:
    phones = synthetic["phone"]
    assert phones.str.fullmatch(r"\(\d{3}\) \d{3}-\d{4}").all()
    assert phones.map(is_phone).all()


def test_names_are_capitalised_listed_names(synthetic: pd.DataFrame) -> None:
    from synthdata.engine.pii.vocab import known_first_names, known_last_names

    names = synthetic["customer"]
    assert names.map(lambda v: PERSON.fullmatch(v) is not None).mean() > 0.95
    firsts = names.str.split().str[0].str.lower()
    lasts = names.str.split().str[-1].str.lower()
    assert firsts.isin(known_first_names()).mean() > 0.8
    assert lasts.isin(known_last_names()).mean() > 0.8
    doctors = synthetic["doctor"]
    assert doctors.str.startswith("Dr. ").all()  # the title is kept, the name is not


def test_addresses_keep_their_form(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    streets = synthetic["street"]
    assert streets.map(lambda v: ADDRESS.fullmatch(v) is not None).mean() > 0.95
    real_forms = {mask(v) for v in real["street"]}
    assert streets.map(mask).isin(real_forms).all()


def test_ssns_are_valid_and_formatted(synthetic: pd.DataFrame) -> None:
    assert synthetic["ssn"].map(is_valid_ssn).all()


def test_cards_keep_length_and_network_and_pass_luhn(
    real: pd.DataFrame, synthetic: pd.DataFrame
) -> None:
    cards = synthetic["card"]
    assert cards.map(is_valid_card).all()
    real_forms = {(v[0], len(v)) for v in real["card"]}
    assert {(v[0], len(v)) for v in cards} <= real_forms


def test_ips_are_addresses_in_the_real_mix_of_versions(synthetic: pd.DataFrame) -> None:
    versions = synthetic["ip"].map(ip_version)
    assert set(versions) == {4, 6}
    assert 0.15 < (versions == 6).mean() < 0.35  # a quarter of the real ones


def test_free_text_is_never_copied(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    assert set(synthetic["notes"]).isdisjoint(set(real["notes"]))
    assert not any(find_spans(text) for text in synthetic["notes"])


def test_short_codes_keep_their_shape_not_uuids(
    fitted: Synthesizer, synthetic: pd.DataFrame
) -> None:
    assert fitted.schema is not None
    spec = fitted.schema["faa"]
    assert spec.kind == ColumnKind.IDENTIFIER and spec.identifier_format == "pattern:99A"
    assert synthetic["faa"].str.fullmatch(r"\d\d[A-Z]").all()
    assert not synthetic["faa"].str.contains("-").any()


def test_mixed_code_shapes_are_kept() -> None:
    codes = [f"{i:02d}M" for i in range(60)] + [f"K{i % 10}Q{i:02d}" for i in range(60)]
    frame = pd.DataFrame({"code": codes, "x": range(120)})
    out = synthdata.fit(frame).sample(300, seed=1)
    assert out["code"].str.fullmatch(r"\d\dM|\d\d[A-Z]|[A-Z]\d[A-Z]\d\d").all()
    assert set(out["code"].str.len()) == {3, 5}


def test_the_first_rows_do_not_depend_on_how_many_are_drawn(fitted: Synthesizer) -> None:
    few = fitted.sample(40, seed=9)
    many = fitted.sample(400, seed=9)
    for column in PII_COLUMNS:
        assert few[column].tolist() == many[column].head(40).tolist()
    again = fitted.sample(40, seed=9)
    assert again["email"].tolist() == few["email"].tolist()
    assert fitted.sample(40, seed=10)["email"].tolist() != few["email"].tolist()


def test_nulls_keep_their_rate() -> None:
    frame = pii_table(rows=400)[["email", "amount"]].copy()
    frame.loc[frame.index % 5 == 0, "email"] = None
    out = synthdata.fit(frame).sample(2000, seed=2)
    assert 0.15 < out["email"].isna().mean() < 0.25
    assert out["email"].dropna().map(lambda v: EMAIL.fullmatch(v) is not None).all()
    assert re.fullmatch(r".+@.+", out["email"].dropna().iloc[0])
