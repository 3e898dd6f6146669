"""The shape of a PII value: what a fake must keep, and nothing that identifies anyone.

A shape is a mask in the syntax of `engine.patterns` ("A" upper-case letter, "a"
lower-case, "9" digit, other characters as written, "\\" before a literal A, a, 9, |
or \\), with a few kind-specific parts kept as they are because they say what the
value is, not whose it is: an e-mail's top-level domain ("com"), an address's street
words and state codes ("St", "Ave", "IL"), a phone number's "+country code" and
extension marker ("x"), and a card number's first digit (its network: 4 Visa,
5 Mastercard, 3 Amex). A column keeps its `MAX_MASKS` most common shapes.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

import phonenumbers

from synthdata.engine.patterns import MAX_MASKS
from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.vocab import NAME_WORDS, TOP_LEVEL_DOMAINS, vocabulary

_SPECIAL = set("Aa9|\\")
_RUNS = re.compile(r"[^\W\d_]+|\d+|.", re.DOTALL)


def literal(text: str) -> str:
    """`text` as literal mask characters."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


def _classes(run: str) -> str:
    if run.isdecimal():
        return "9" * len(run)
    if run.isalpha():
        return "".join("A" if ch.isupper() else "a" for ch in run)
    return literal(run)


def pii_mask(value: str, kind: PiiKind, locale: str) -> str:
    """The shape of one value of `kind` (see the module docstring for what stays)."""
    keep = vocabulary(locale).literal_words
    prefix = ""
    if kind == PiiKind.PHONE and value.startswith("+"):
        code = _country_code(value)
        if code is not None:
            prefix, value = literal(f"+{code}"), value[len(str(code)) + 1 :]
    elif kind == PiiKind.CREDIT_CARD and value[:1].isdigit():
        prefix, value = value[0], value[1:]
    runs = _RUNS.findall(value)
    out = []
    at = value.rfind("@")
    position = 0
    for index, run in enumerate(runs):
        last_label = kind == PiiKind.EMAIL and index == len(runs) - 1 and position > at >= 0
        if (
            (kind == PiiKind.ADDRESS and run in keep)
            or (kind == PiiKind.PERSON_NAME and run in NAME_WORDS)
            or (last_label and run.lower() in TOP_LEVEL_DOMAINS)
            or (kind == PiiKind.PHONE and run.isalpha())
        ):
            out.append(literal(run))
        else:
            out.append(_classes(run))
        position += len(run)
    return prefix + "".join(out)


def _country_code(value: str) -> int | None:
    try:
        code = phonenumbers.parse(value, None).country_code
    except phonenumbers.NumberParseException:
        return None
    return int(code) if code else None


def column_format(kind: PiiKind, values: list[str], locale: str) -> str:
    """The identifier format a PII column is regenerated from (see `engine.keys`).

    "ip:<share of IPv6>" for IP addresses, else "pattern:<masks>" of the values' shapes.
    """
    if kind == PiiKind.IP_ADDRESS:
        versions = [_ip_version(v) for v in values]
        share = sum(v == 6 for v in versions) / max(len(versions), 1)
        return f"ip:{share:.3f}"
    shapes = Counter(pii_mask(v, kind, locale) for v in values)
    masks = [mask for mask, _ in shapes.most_common(MAX_MASKS) if mask]
    return "pattern:" + "|".join(masks or ["a"])


def _ip_version(value: str) -> int:
    try:
        return ipaddress.ip_address(value.strip()).version
    except ValueError:
        return 4
