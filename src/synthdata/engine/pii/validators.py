"""Is this one value an e-mail address, a phone number, a card number...? One test each.

Each test is a pattern plus, where the kind has one, a real validator: the Luhn check
digit for card numbers, the SSA's allocation rules for US social security numbers
(python-stdnum), the numbering plans of `phonenumbers`, `ipaddress` for IP addresses,
and Faker's name lists for person names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import phonenumbers
from stdnum import luhn
from stdnum.us import ssn as us_ssn

from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.vocab import (
    STREET_WORDS,
    known_first_names,
    known_last_names,
    vocabulary,
)

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
SSN = re.compile(r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}")
CARD = re.compile(r"\d(?:[ -]?\d){11,18}")
PHONE = re.compile(r"\+?[\d(][\d\s().-]{5,}\d(?:\s*(?:x|ext\.?)\s*\d{1,6})?")
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"  # Latin letters with accents: "Müller", "Zoë"
NAME_WORD = rf"(?:[A-Z]')?[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"  # O'Neil, Smith-Jones
TITLES = {"Mr", "Mrs", "Ms", "Dr", "Miss", "Prof"}
PERSON = re.compile(
    rf"(?:(?:Mr|Mrs|Ms|Dr|Miss|Prof)\.? )?{NAME_WORD}(?: [A-Z]\.?)?(?: {NAME_WORD}){{1,2}}"
    r"(?:,? (?:Jr|Sr|II|III|IV|MD|DDS|PhD|DVM)\.?)?"
)
SINGLE_NAME = re.compile(NAME_WORD)
_STREET = {w for w in STREET_WORDS if len(w) > 2 or w in "St Rd Ln Dr Ct Pl"}
_STREET.update(w for locale in ("en_US", "en_GB") for w in vocabulary(locale).street_suffixes)
_SUFFIXES = "|".join(sorted(_STREET, key=len, reverse=True))
ADDRESS = re.compile(
    rf"\d{{1,6}}[A-Za-z]?,? (?:[A-Za-z0-9.'-]+ ){{0,4}}(?:{_SUFFIXES})\b", re.IGNORECASE
)


def is_email(value: str) -> bool:
    return EMAIL.fullmatch(value) is not None


def is_ssn(value: str, *, bare: bool = False) -> bool:
    """A US SSN written 123-45-6789 (or, with `bare`, as nine digits)."""
    if SSN.fullmatch(value) is None and not (bare and value.isdigit() and len(value) == 9):
        return False
    return bool(us_ssn.is_valid(value.replace(" ", "-")))


def is_card(value: str) -> bool:
    """12 to 19 digits, optionally grouped by spaces or dashes, with a valid Luhn digit."""
    if CARD.fullmatch(value) is None:
        return False
    digits = re.sub(r"\D", "", value)
    return len(set(digits)) > 1 and bool(luhn.is_valid(digits))


def is_phone(value: str, region: str = "US", *, bare: bool = False) -> bool:
    """A phone number the numbering plan of `region` (or its own "+" prefix) allows.

    Without `bare`, the value must be written like a phone number (a "+", brackets,
    dashes or spaces), since a plain run of ten digits is as likely to be anything else.
    """
    if PHONE.fullmatch(value) is None:
        return False
    if not bare and value.isdigit():
        return False
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_person_name(value: str, *, loose: bool = False) -> bool:
    """Two to four capitalised words, the first a known first name and the last a known
    last name (`loose`: either one); a title ("Dr.") or a suffix ("Jr") may come with them.

    Both are required by default because many place names end in a surname ("New York").
    """
    if PERSON.fullmatch(value) is None:
        return False
    words = [w.strip(".,") for w in value.split() if w.strip(".,")]
    if words[0] in TITLES:
        words = words[1:]
    if len(words) > 2 and not words[-1].islower() and words[-1].lower() not in known_last_names():
        words = words[:-1]  # a suffix such as "Jr" or "MD"
    first = words[0].lower() in known_first_names()
    last = words[-1].lower() in known_last_names()
    return (first or last) if loose else (first and last)


def is_first_name(value: str) -> bool:
    return SINGLE_NAME.fullmatch(value) is not None and value.lower() in known_first_names()


def is_last_name(value: str) -> bool:
    return SINGLE_NAME.fullmatch(value) is not None and value.lower() in known_last_names()


def is_address(value: str) -> bool:
    """A house number followed within five words by a street word ("12 Elm St")."""
    return ADDRESS.match(value) is not None


VALIDATORS: dict[PiiKind, Callable[[str], bool]] = {
    PiiKind.EMAIL: is_email,
    PiiKind.IP_ADDRESS: is_ip,
    PiiKind.CREDIT_CARD: is_card,
    PiiKind.SSN: is_ssn,
    PiiKind.PHONE: is_phone,
    PiiKind.ADDRESS: is_address,
    PiiKind.PERSON_NAME: is_person_name,
    PiiKind.FIRST_NAME: is_first_name,
    PiiKind.LAST_NAME: is_last_name,
}
"""Value tests in the order a column is tried (the most specific first)."""
