"""PII detection: each kind found in a column and in free text; ordinary columns left alone."""

from __future__ import annotations

import pandas as pd
import pytest
from faker import Faker

from synthdata.engine.pii.detect import detect_column, hinted_kinds
from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.text import find_spans, replace_spans


def _faker() -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(3)
    return fake


@pytest.mark.parametrize(
    ("column", "kind", "make"),
    [
        ("col_a", PiiKind.EMAIL, lambda f: f.email()),
        ("col_b", PiiKind.PHONE, lambda f: f.numerify("(###) ###-####")),
        ("col_c", PiiKind.PHONE, lambda f: f.numerify("+44 20 #### ####")),
        ("col_d", PiiKind.PERSON_NAME, lambda f: f.name()),
        ("col_e", PiiKind.ADDRESS, lambda f: f.street_address()),
        ("col_f", PiiKind.SSN, lambda f: f.ssn()),
        ("col_g", PiiKind.CREDIT_CARD, lambda f: f.credit_card_number()),
        ("col_h", PiiKind.IP_ADDRESS, lambda f: f.ipv4()),
        ("col_i", PiiKind.IP_ADDRESS, lambda f: f.ipv6()),
        ("col_j", PiiKind.TEXT, lambda f: f"{f.sentence()} Reach {f.name()} at {f.email()}."),
        ("first_name", PiiKind.FIRST_NAME, lambda f: f.first_name()),
        ("surname", PiiKind.LAST_NAME, lambda f: f.last_name()),
    ],
)
def test_each_kind_is_detected_from_its_values(column: str, kind: PiiKind, make) -> None:
    fake = _faker()
    values = pd.Series([make(fake) for _ in range(300)])
    assert detect_column(column, values) == kind


def test_numbers_are_personal_data_only_under_a_telling_name() -> None:
    fake = _faker()
    ssns = pd.Series([int(fake.ssn().replace("-", "")) for _ in range(200)])
    assert detect_column("ssn", ssns) == PiiKind.SSN
    assert detect_column("amount", ssns) is None
    cards = pd.Series([int(fake.credit_card_number(card_type="visa16")) for _ in range(200)])
    assert detect_column("card_number", cards) == PiiKind.CREDIT_CARD


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f.city(),
        lambda f: f.color_name(),
        lambda f: f.job(),
        lambda f: f.company(),
        lambda f: f.sentence(nb_words=8),
        lambda f: f.bothify("##?").upper(),  # codes like "00M"
        lambda f: f.date(),
        lambda f: f.uuid4(),
    ],
)
def test_ordinary_columns_are_not_personal_data(make) -> None:
    fake = _faker()
    values = pd.Series([make(fake) for _ in range(300)])
    assert detect_column("value", values) is None


def test_bare_digits_and_lone_first_names_need_a_name_hint() -> None:
    fake = _faker()
    phones = pd.Series([fake.numerify("##########") for _ in range(200)])
    assert detect_column("value", phones) is None
    assert detect_column("mobile", phones) == PiiKind.PHONE
    colours = pd.Series(["Amber", "Rose", "Violet", "Ruby", "Jade", "Hazel"] * 20)
    assert detect_column("colour", colours) is None


def test_name_hints() -> None:
    assert PiiKind.EMAIL in hinted_kinds("customerEmail")
    assert PiiKind.IP_ADDRESS in hinted_kinds("client_ip")
    assert hinted_kinds("zip") == set()  # "ip" inside a word is no hint


def test_spans_of_every_kind_are_found_in_free_text() -> None:
    text = (
        "Dr. Maria Garcia (maria.garcia@example.com, (415) 555-0132) lives at 12 Elm Street; "
        "SSN 123-45-6789, card 4111 1111 1111 1111, last login from 192.168.10.4 and "
        "2001:db8::ff00:42:8329."
    )
    found = {text[start:end]: kind for start, end, kind in find_spans(text)}
    assert found["maria.garcia@example.com"] == PiiKind.EMAIL
    assert found["(415) 555-0132"] == PiiKind.PHONE
    assert found["12 Elm Street"] == PiiKind.ADDRESS
    assert found["123-45-6789"] == PiiKind.SSN
    assert found["4111 1111 1111 1111"] == PiiKind.CREDIT_CARD
    assert found["192.168.10.4"] == PiiKind.IP_ADDRESS
    assert found["2001:db8::ff00:42:8329"] == PiiKind.IP_ADDRESS
    assert any(
        kind == PiiKind.PERSON_NAME and "Maria Garcia" in span for span, kind in found.items()
    )


def test_only_the_spans_are_replaced() -> None:
    text = "Please call John Smith at (415) 555-0132 before noon."
    out = replace_spans(text, lambda kind, span: f"<{kind.value}>")
    assert out == "Please call <person_name> at <phone> before noon."
    assert replace_spans("Nothing personal here at all.", lambda k, s: "x") == (
        "Nothing personal here at all."
    )


def test_no_spans_in_ordinary_numbers_and_times() -> None:
    assert find_spans("Order 12 shipped at 10:30:45 for 19.99 dollars, 3 boxes.") == []
