"""Word lists the detectors and fakes use, taken from Faker's locale providers.

Faker ships public lists of first names, last names, street suffixes and state codes
for each locale; they serve twice: to recognise names in a column or a sentence, and
to draw realistic replacements of a given length. Lists load once per locale.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from synthdata.engine.pii.kinds import DEFAULT_LOCALE


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Locales whose names the detector knows, whatever the output locale.
DETECTION_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR")
MIN_CHOICES = 10  # fewer names than this of one length: fakes are not drawn from them
# Words that stay as they are in masks: they say what a value is, not whose it is.
STREET_WORDS = _words(
    "St Street Ave Avenue Rd Road Blvd Boulevard Ln Lane Dr Drive Ct Court Way Pl Place "
    "Ter Terrace Cir Circle Pkwy Parkway Hwy Highway Sq Square Apt Suite Unit Box PO "
    "N S E W NE NW SE SW North South East West"
)
NAME_WORDS = frozenset(_words("Mr Mrs Ms Dr Miss Prof Jr Sr II III IV MD DDS PhD DVM"))
TOP_LEVEL_DOMAINS = _words(
    "com net org edu gov mil int info biz io co uk de fr es it nl be ch at se no dk fi pl "
    "pt br ca au nz jp cn in ru us eu"
)


@dataclass
class Vocabulary:
    """The lists of one locale, with words also grouped by length."""

    first_names: list[str]
    last_names: list[str]
    literal_words: frozenset[str]
    street_suffixes: list[str]
    by_length: dict[str, dict[int, list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pool, words in (("first", self.first_names), ("last", self.last_names)):
            grouped: dict[int, list[str]] = defaultdict(list)
            for word in words:
                if word.isalpha() and word.isascii():
                    grouped[len(word)].append(word)
            self.by_length[pool] = dict(grouped)


def _names(module: str, attribute: str) -> list[str]:
    try:
        provider = importlib.import_module(module).Provider
    except ModuleNotFoundError:
        return []
    values = getattr(provider, attribute, ())
    return sorted({str(v) for v in values})  # weighted lists are dicts: keep the names


@cache
def vocabulary(locale: str = DEFAULT_LOCALE) -> Vocabulary:
    """The lists of `locale` (Faker's module name, e.g. "de_DE"); en_US where it has none."""
    first = _names(f"faker.providers.person.{locale}", "first_names")
    last = _names(f"faker.providers.person.{locale}", "last_names")
    if not first or not last:
        first = first or _names("faker.providers.person.en_US", "first_names")
        last = last or _names("faker.providers.person.en_US", "last_names")
    states = _names(f"faker.providers.address.{locale}", "states_abbr")
    suffixes = _names(f"faker.providers.address.{locale}", "street_suffixes")
    literal = frozenset([*STREET_WORDS, *states, *suffixes, *TOP_LEVEL_DOMAINS])
    return Vocabulary(first, last, literal, suffixes)


@cache
def name_choices(locale: str, pool: str, length: int) -> tuple[str, ...]:
    """Names of `length` letters from `pool` ("first" or "last") to draw a fake from.

    The locale's own names first; where it has fewer than `MIN_CHOICES` of that length,
    the other detection locales' too, and if still too few, none (the caller then makes
    a pronounceable string), so that no fake is nearly always one particular name.
    """
    names = list(vocabulary(locale).by_length[pool].get(length, []))
    if len(names) < MIN_CHOICES:
        for other in DETECTION_LOCALES:
            names.extend(vocabulary(other).by_length[pool].get(length, []))
        names = sorted(set(names))
    return tuple(names) if len(names) >= MIN_CHOICES else ()


@cache
def known_first_names() -> frozenset[str]:
    """First names of every detection locale, lower-cased."""
    names: set[str] = set()
    for locale in DETECTION_LOCALES:
        names.update(n.lower() for n in vocabulary(locale).first_names)
    return frozenset(names)


@cache
def known_last_names() -> frozenset[str]:
    """Last names of every detection locale, lower-cased."""
    names: set[str] = set()
    for locale in DETECTION_LOCALES:
        names.update(n.lower() for n in vocabulary(locale).last_names)
    return frozenset(names)
