"""The kinds of personal data the engine finds and replaces, and the user's names for them.

Kept free of NumPy, pandas and Faker so that the command line can name them in `--help`.
"""

from __future__ import annotations

from enum import StrEnum

from synthdata.engine.errors import InputError


class PiiKind(StrEnum):
    """What a column (or a span of free text) holds; each has its own fake generator."""

    EMAIL = "email"
    PHONE = "phone"
    PERSON_NAME = "person_name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    ADDRESS = "address"
    SSN = "ssn"
    CREDIT_CARD = "credit_card"
    IP_ADDRESS = "ip_address"
    TEXT = "text"  # free text: only the spans of the kinds above are replaced


KEEP = "keep"
"""The treatment that leaves a column as it is (a user's override of a detection)."""

DEFAULT_LOCALE = "en_US"


def parse_treatment(column: str, value: str) -> str:
    """A user's treatment for `column`: a `PiiKind` value or "keep" (refuse anything else)."""
    cleaned = value.strip().lower().replace("-", "_")
    allowed = {kind.value for kind in PiiKind} | {KEEP}
    if cleaned not in allowed:
        names = ", ".join(sorted(allowed))
        raise InputError(f"unknown PII treatment {value!r} for column {column!r} ({names})")
    return cleaned


def describe_treatments() -> str:
    """The treatments a user may name, for help texts."""
    return ", ".join([*(kind.value for kind in PiiKind), KEEP])


def describe_treatment(pii: str | None, keep: bool, made_fresh: bool) -> str:
    """A column's PII treatment in words: `pii` its kind, `keep` the user's "keep",
    `made_fresh` whether it is made at sample time (an identifier) or learnt."""
    if keep:
        return f"{pii} kept (user)" if pii else "kept (user)"
    if pii is None:
        return "-"
    if pii == PiiKind.TEXT:
        return "text: filler words (no real text)" if made_fresh else "text: PII spans replaced"
    return f"{pii}: fakes" if made_fresh else f"{pii}: values swapped for fakes"
