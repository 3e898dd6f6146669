"""Which columns hold personal data: the documented rule set (see docs/privacy.md, "PII").

A column is of a kind when at least `MATCH_SHARE` of a sample of its distinct values
pass that kind's value test (`validators`), or `HINTED_SHARE` when its name says so
("email", "phone", "ssn"...). Some kinds are only taken with a name hint, because their
values alone are ambiguous: a lone first name (colours and months are names too), and
numbers stored as numbers (nine digits are an SSN only in a column called so). Free
text is of kind "text" when any sampled value holds a span of another kind.
"""

from __future__ import annotations

import re

import pandas as pd

from synthdata.engine.patterns import is_free_text, text_sample
from synthdata.engine.pii import validators
from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.text import find_spans

MATCH_SHARE = 0.8
HINTED_SHARE = 0.5
SAMPLE_VALUES = 500  # distinct values tested per column
HEAD_ROWS = 20_000  # rows they are taken from
TEXT_SAMPLE = 200  # free-text values scanned for spans
_GLANCE = 50  # values tried first: a kind far below the bar there is not tried further
_HINTS: dict[PiiKind, tuple[str, ...]] = {
    PiiKind.EMAIL: ("email", "mail"),
    PiiKind.PHONE: ("phone", "tel", "mobile", "cell", "fax", "msisdn"),
    PiiKind.PERSON_NAME: ("name", "customer", "patient", "person", "contact", "owner", "client"),
    PiiKind.FIRST_NAME: ("firstname", "givenname", "fname", "forename", "first"),
    PiiKind.LAST_NAME: ("lastname", "surname", "familyname", "lname", "last"),
    PiiKind.ADDRESS: ("address", "addr", "street"),
    PiiKind.SSN: ("ssn", "socialsecurity", "nationalid", "nin", "taxid", "tin"),
    PiiKind.CREDIT_CARD: ("card", "cc", "ccnumber", "creditcard", "pan"),
    PiiKind.IP_ADDRESS: ("ip", "ipaddress", "ipaddr", "ipv4", "ipv6"),
}
_NEED_HINT = {PiiKind.FIRST_NAME, PiiKind.LAST_NAME}
_NUMERIC = (PiiKind.SSN, PiiKind.CREDIT_CARD, PiiKind.PHONE)


def hinted_kinds(column: str) -> set[PiiKind]:
    """The kinds a column's name points to ("customer_email" -> email)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column).lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", spaced) if t]
    compact = "".join(tokens)
    found = set()
    for kind, hints in _HINTS.items():
        for hint in hints:
            # Short hints must be whole words ("ip" is not in "zip"); long ones may be part
            # of a word ("emailaddress").
            if hint in tokens or (len(hint) >= 5 and hint in compact):
                found.add(kind)
    return found


def detect_column(column: str, values: pd.Series, region: str = "US") -> PiiKind | None:
    """The kind of personal data `values` (a column's non-null values) hold, or None."""
    if values.empty:
        return None
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    hints = hinted_kinds(column)
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_kind(values, hints, region)
    # Distinct values among the first rows: a million-row column is not made unique.
    sample = [v.strip() for v in text_sample(values.iloc[:HEAD_ROWS])[:SAMPLE_VALUES]]
    for kind in validators.VALIDATORS:
        if kind in _NEED_HINT and kind not in hints:
            continue
        bar = HINTED_SHARE if kind in hints else MATCH_SHARE
        if _share(kind, sample, bar, hinted=kind in hints, region=region) >= bar:
            return kind
    texts = sample[:TEXT_SAMPLE]
    if is_free_text(texts) and any(find_spans(text, region) for text in texts):
        return PiiKind.TEXT
    return None


def _numeric_kind(values: pd.Series, hints: set[PiiKind], region: str) -> PiiKind | None:
    """Numbers are personal data only in a column named for it, and only whole ones."""
    if not hints.intersection(_NUMERIC) or not pd.api.types.is_integer_dtype(values.dtype):
        return None
    sample = [str(v) for v in pd.unique(values.iloc[:HEAD_ROWS])[:SAMPLE_VALUES]]
    for kind in _NUMERIC:
        if kind in hints and _share(kind, sample, HINTED_SHARE, hinted=True, region=region) >= (
            HINTED_SHARE
        ):
            return kind
    return None


def _share(kind: PiiKind, sample: list[str], bar: float, *, hinted: bool, region: str) -> float:
    """The share of `sample` that passes `kind`'s test (0 early when far below `bar`)."""
    if not sample:
        return 0.0

    def test(value: str) -> bool:
        if kind == PiiKind.PHONE:
            return validators.is_phone(value, region, bare=hinted)
        if kind == PiiKind.SSN:
            return validators.is_ssn(value, bare=hinted)
        if kind == PiiKind.PERSON_NAME:
            return validators.is_person_name(value, loose=hinted)
        return validators.VALIDATORS[kind](value)

    glance = sample[:_GLANCE]
    share = sum(map(test, glance)) / len(glance)
    if share < bar - 0.3 or len(sample) <= _GLANCE:
        return share
    return sum(map(test, sample)) / len(sample)
