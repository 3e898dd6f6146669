"""Personal data inside free text: find the spans, replace only them.

The same value tests as whole columns (`validators`), applied to candidate spans that
patterns pick out of a sentence; phone numbers are found by `phonenumbers`' own
matcher and by their written forms, person names inside runs of capitalised words
("Call Jane Porter" holds "Jane Porter"). Overlapping candidates are resolved in a
fixed order, the most specific kind first (an e-mail address before a name in it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from synthdata.engine.pii.kinds import PiiKind
from synthdata.engine.pii.validators import (
    ADDRESS,
    CARD,
    EMAIL,
    NAME_WORD,
    SSN,
    TITLES,
    is_card,
    is_ip,
    is_person_name,
    is_phone,
    is_ssn,
)

Span = tuple[int, int, PiiKind]
_BOUNDED = r"(?<![\w@.-]){}(?![\w@-])"
# Written phone numbers ("(415) 555-0132", "+44 20 7946 0958"), possible ones too: an
# unassigned area code does not make a number less personal.
_WRITTEN_PHONE = (
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .-]?\d{3,4}[ .-]\d{3,4}(?!\w)"
)
_SEARCHES: list[tuple[PiiKind, re.Pattern[str], Callable[[str], bool] | None]] = [
    (PiiKind.EMAIL, re.compile(_BOUNDED.format(EMAIL.pattern)), None),
    (PiiKind.IP_ADDRESS, re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"), is_ip),
    (
        PiiKind.IP_ADDRESS,
        re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),
        is_ip,
    ),
    (PiiKind.CREDIT_CARD, re.compile(_BOUNDED.format(CARD.pattern)), is_card),
    (PiiKind.SSN, re.compile(_BOUNDED.format(SSN.pattern)), is_ssn),
    (PiiKind.PHONE, re.compile(_WRITTEN_PHONE), lambda span: is_phone(span, bare=True)),
    (PiiKind.ADDRESS, re.compile(r"\b" + ADDRESS.pattern, re.IGNORECASE), None),
]
_TITLE = "|".join(sorted(TITLES))
_CAPITALISED = re.compile(rf"\b(?:(?:{_TITLE})\.? )?{NAME_WORD}(?: {NAME_WORD})+")
MAX_TEXT_CHARS = 100_000  # longer values are scanned up to here only


def find_spans(text: str, region: str = "US") -> list[Span]:
    """The non-overlapping PII spans of `text` as (start, end, kind), in order."""
    text = text[:MAX_TEXT_CHARS]
    found: list[Span] = []
    taken = [False] * len(text)

    def claim(start: int, end: int, kind: PiiKind) -> None:
        if not any(taken[start:end]):
            found.append((start, end, kind))
            taken[start:end] = [True] * (end - start)

    for kind, pattern, test in _SEARCHES:
        for match in pattern.finditer(text):
            if test is None or test(match.group()):
                claim(match.start(), match.end(), kind)
    if any(ch.isdigit() for ch in text):
        valid = phonenumbers.Leniency.VALID
        for hit in phonenumbers.PhoneNumberMatcher(text, region, leniency=valid):
            claim(hit.start, hit.end, PiiKind.PHONE)
    for start, end in _names(text):
        claim(start, end, PiiKind.PERSON_NAME)
    return sorted(found)


def _names(text: str) -> list[tuple[int, int]]:
    """Person names (two or three words) inside each run of capitalised words."""
    spans = []
    for run in _CAPITALISED.finditer(text):
        words = [
            (run.start() + m.start(), run.start() + m.end())
            for m in re.finditer(r"\S+", run.group())
        ]
        i = 0
        while i < len(words) - 1:
            for j in (i + 3, i + 2):
                if j <= len(words) and is_person_name(text[words[i][0] : words[j - 1][1]]):
                    spans.append((words[i][0], words[j - 1][1]))
                    i = j - 1
                    break
            i += 1
    return spans


def replace_spans(text: str, replace: Callable[[PiiKind, str], str], region: str = "US") -> str:
    """`text` with every PII span swapped for `replace(kind, span)`; the rest untouched."""
    spans = find_spans(text, region)
    if not spans:
        return text
    parts, position = [], 0
    for start, end, kind in spans:
        parts.append(text[position:start])
        parts.append(replace(kind, text[start:end]))
        position = end
    parts.append(text[position:])
    return "".join(parts)
