"""Realistic fakes of a given shape: names from Faker's lists, valid check digits.

A fake is built from a shape (`shapes.pii_mask`) one run at a time: a run of letters
becomes a name of the same length and case from the locale's lists (first names
first, last names last, so "Aaaa Aaaaaa" gives "Jane Porter"), a run of digits becomes
random digits, literal parts stay. Then the kind's own rules are restored: a card
number gets a valid Luhn digit, an SSN a valid area, group and serial, a phone number
leading digits its numbering plan allows. Every draw comes from the
`random.Random` passed in, so a seeded caller gets the same fakes.
"""

from __future__ import annotations

import ipaddress
import random
import string
from functools import cache

import phonenumbers
from stdnum import luhn
from stdnum.us import ssn as us_ssn

from synthdata.engine.patterns import parse_masks
from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.shapes import pii_mask
from synthdata.engine.pii.vocab import name_choices

_TRIES = 20
_PREFIX_DIGITS = 6  # area code and exchange: the digits a numbering plan checks
_PREFIX_PROBES = 400
_VOWELS = "aeiou"
_CONSONANTS = "bcdfghjklmnprstvwz"
_GLOBAL_V6 = ipaddress.ip_network("2000::/3")


def region_of(locale: str) -> str:
    """The phone region of a Faker locale ("en_GB" -> "GB"; a bare language -> "US")."""
    _, _, country = locale.partition("_")
    return country.upper() or "US"


def fake_from_mask(
    kind: PiiKind, mask: list[str], rng: random.Random, locale: str, *, names: bool = True
) -> str:
    """A fake of `kind` with the shape `mask` (tokens as `patterns.parse_masks` gives);
    without `names`, letter runs are pronounceable strings rather than listed names."""
    value = ""
    for _ in range(_TRIES):
        chars = _fill(kind, mask, rng, locale if names else None)
        if kind == PiiKind.CREDIT_CARD:
            return _with_luhn(chars)
        if kind == PiiKind.SSN and not us_ssn.is_valid("".join(c for c in chars if c.isdigit())):
            continue
        if kind == PiiKind.PHONE:
            return _with_valid_prefix(chars, mask, rng, region_of(locale))
        return "".join(chars)
    return value


def fake_like(kind: PiiKind, value: str, rng: random.Random, locale: str) -> str:
    """A fake of the same shape as `value` that is not `value` itself."""
    if kind == PiiKind.IP_ADDRESS:
        try:
            version = ipaddress.ip_address(value.strip()).version
        except ValueError:
            version = 4
        return fake_ip(version, rng)
    mask = parse_masks("pattern:" + pii_mask(value, kind, locale))[0]
    for attempt in range(2 * _TRIES):
        fake = fake_from_mask(kind, mask, rng, locale, names=attempt < _TRIES)
        if fake != value:
            return fake
    # A shape with no free position (all literal) has no other value of the same form.
    return "".join(rng.choice(string.ascii_lowercase) for _ in value)


def fake_ip(version: int, rng: random.Random) -> str:
    """A random public IPv4 address, or a global unicast IPv6 one (compressed form)."""
    if version == 6:
        network = _GLOBAL_V6
        return str(network[rng.getrandbits(125)])
    for _ in range(_TRIES):
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not address.is_multicast:
            break
    return str(address)


def _fill(kind: PiiKind, mask: list[str], rng: random.Random, locale: str | None) -> list[str]:
    """Characters for `mask`: letter runs as names, digit runs as digits, literals kept."""
    runs = _runs(mask)
    letter_runs = [i for i, (cls, _) in enumerate(runs) if cls == "letters"]
    at = next((i for i, (cls, tokens) in enumerate(runs) if tokens == ["@"]), len(runs))
    out: list[str] = []
    for index, (cls, tokens) in enumerate(runs):
        if cls == "literal":
            out.extend(token[-1] for token in tokens)
        elif cls == "digits":
            first = "123456789" if kind == PiiKind.ADDRESS and len(tokens) > 1 else string.digits
            out.append(rng.choice(first))
            out.extend(rng.choice(string.digits) for _ in tokens[1:])
        else:
            pool = _pool(kind, index, letter_runs, at)
            out.extend(_word(tokens, pool if locale else None, rng, locale or ""))
    return out


def _runs(mask: list[str]) -> list[tuple[str, list[str]]]:
    runs: list[tuple[str, list[str]]] = []
    for token in mask:
        cls = "letters" if token in ("A", "a") else "digits" if token == "9" else "literal"
        if runs and runs[-1][0] == cls and cls != "literal":
            runs[-1][1].append(token)
        else:  # each literal character is a run of its own
            runs.append((cls, [token]))
    return runs


def _pool(kind: PiiKind, index: int, letter_runs: list[int], at: int) -> str | None:
    """Which list a letter run draws from: "first", "last", or None (random letters)."""
    if kind == PiiKind.FIRST_NAME:
        return "first"
    if kind in (PiiKind.LAST_NAME, PiiKind.ADDRESS):
        return "last"
    if kind == PiiKind.PERSON_NAME:
        return "first" if index != letter_runs[-1] or len(letter_runs) == 1 else "last"
    if kind in (PiiKind.EMAIL, PiiKind.TEXT):
        return "first" if index == letter_runs[0] and index < at else "last"
    return None


def _word(tokens: list[str], pool: str | None, rng: random.Random, locale: str) -> str:
    """A word with one letter per token, in the tokens' case ("Aaaa" -> "Jane")."""
    words = name_choices(locale, pool, len(tokens)) if pool else ()
    if words:
        word = rng.choice(words).lower()
    elif pool and (pair := _two_names(len(tokens), rng, locale)):
        word = pair  # "janeporter": user names join a first and a last name
    else:  # no name of that length: a pronounceable string
        word = "".join(
            rng.choice(_CONSONANTS if i % 2 == 0 else _VOWELS) for i in range(len(tokens))
        )
    return "".join(ch.upper() if t == "A" else ch for ch, t in zip(word, tokens, strict=True))


def _two_names(length: int, rng: random.Random, locale: str) -> str:
    """A first name and a last name of `length` letters together, or "" if none fit."""
    splits = list(range(3, length - 2))
    rng.shuffle(splits)
    for first in splits:
        heads, tails = (
            name_choices(locale, "first", first),
            name_choices(locale, "last", length - first),
        )
        if heads and tails:
            return (rng.choice(heads) + rng.choice(tails)).lower()
    return ""


def _with_luhn(chars: list[str]) -> str:
    """`chars` with its last digit replaced by the Luhn check digit of the others."""
    digits = [i for i, ch in enumerate(chars) if ch.isdigit()]
    if len(digits) < 2:
        return "".join(chars)
    body = "".join(chars[i] for i in digits[:-1])
    chars[digits[-1]] = luhn.calc_check_digit(body)
    return "".join(chars)


def _with_valid_prefix(chars: list[str], mask: list[str], rng: random.Random, region: str) -> str:
    """`chars` with its first free digits taken from a number the numbering plan accepts.

    Checking every fake against the plan costs about 0.2 ms a try; the leading digits
    (area code, exchange) decide validity, so they come from a pool of valid ones.
    """
    pool = _valid_prefixes("".join(mask), region)
    free = [i for i, token in enumerate(mask) if token == "9"]
    if pool:
        for position, digit in zip(free, rng.choice(pool), strict=False):
            chars[position] = digit
    return "".join(chars)


@cache
def _valid_prefixes(mask_text: str, region: str) -> tuple[str, ...]:
    """Up to `_PREFIX_PROBES` leading free digits of valid numbers of this shape.

    Drawn with a fixed seed, so a shape gets the same pool in every process.
    """
    mask = parse_masks("pattern:" + mask_text)[0]
    free = [i for i, token in enumerate(mask) if token == "9"]
    width = max(0, min(_PREFIX_DIGITS, len(free) - 2))
    probe = random.Random(f"{region}|{mask_text}")
    found = set()
    for _ in range(_PREFIX_PROBES):
        chars = _fill(PiiKind.PHONE, mask, probe, None)
        if _valid_phone("".join(chars), region):
            found.add("".join(chars[i] for i in free[:width]))
    return tuple(sorted(found))


def _valid_phone(value: str, region: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(value, region)))
    except phonenumbers.NumberParseException:
        return False
