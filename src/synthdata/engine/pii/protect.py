"""Swapping real PII values for fakes before a model learns them; pseudonymising tables.

Each real value maps to one fake through an HMAC of the value under a key: the
user's secret in consistent mode (the same real value gets the same fake in every
table and every fit made with that secret), else a random key that is forgotten
after fitting. The key is never written to a model file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from collections.abc import Mapping

import pandas as pd

from synthdata.engine.pii.columns import is_replaced, settle
from synthdata.engine.pii.fakes import fake_like, region_of
from synthdata.engine.pii.kinds import DEFAULT_LOCALE, KEEP, PiiKind, parse_treatment
from synthdata.engine.pii.text import replace_spans
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

Secret = str | bytes


class Pseudonymiser:
    """Maps real values to fakes, the same fake for the same (kind, value) and key."""

    def __init__(self, secret: Secret | None = None, locale: str = DEFAULT_LOCALE) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self._key = secret if secret else os.urandom(32)
        self.locale = locale

    def fake(self, kind: PiiKind, value: str) -> str:
        """The fake for `value`; free text keeps everything but its PII spans."""
        if kind == PiiKind.TEXT:
            return replace_spans(value, self.fake, region_of(self.locale))
        message = f"{kind.value}\x1f{self.locale}\x1f{value}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return fake_like(kind, value, random.Random(digest), self.locale)

    def replace(self, kind: PiiKind, series: pd.Series) -> pd.Series:
        """`series` with each distinct non-null value swapped for its fake."""
        present = series.dropna()
        if present.empty:
            return series
        uniques = pd.unique(present)
        mapping = {value: self.fake(kind, str(value)) for value in uniques}
        out = series.astype(object).map(mapping)
        return out.where(series.notna(), None)


def protect_frame(
    frame: pd.DataFrame, schema: TableSchema, secret: Secret | None = None
) -> pd.DataFrame:
    """`frame` with the values a model would learn of each replaced PII column (its
    categories, its constant) swapped for fakes; `schema`'s constants are swapped too."""
    out = frame
    for spec in schema.columns:
        if spec.pii is None or not is_replaced(spec) or spec.name not in frame.columns:
            continue
        kind = PiiKind(spec.pii)
        fakes = Pseudonymiser(secret, spec.pii_locale or DEFAULT_LOCALE)
        if spec.kind == ColumnKind.CONSTANT and spec.constant_value is not None:
            spec.constant_value = fakes.fake(kind, str(spec.constant_value))
        # Identifiers are made, not learnt: only what the model reads is swapped.
        if spec.kind not in (ColumnKind.IDENTIFIER, ColumnKind.EMPTY):
            if out is frame:
                out = frame.copy()
            out[spec.name] = fakes.replace(kind, frame[spec.name])
    return out


def pseudonymise(
    frame: pd.DataFrame,
    pii: Mapping[str, str] | None = None,
    *,
    secret: Secret,
    detect: bool = True,
    locale: str = DEFAULT_LOCALE,
) -> pd.DataFrame:
    """The real table `frame` with every PII value swapped for its consistent fake.

    Columns are found as `synthdata inspect` finds them (`pii` overrides, as in `fit`);
    the same `secret` gives the same fake for the same value in every table, so keys
    made of PII (an e-mail in two tables) still join. Text keeps all but its PII spans.
    """
    given = {name: parse_treatment(name, value) for name, value in (pii or {}).items()}
    out = frame.copy()
    for name in frame.columns:
        spec = ColumnSpec(name=str(name), kind=ColumnKind.CATEGORICAL)
        treatment = given.get(str(name))
        if treatment == KEEP:
            continue
        settle(spec, frame[name].dropna(), given=treatment, detect=detect, locale=locale)
        if spec.pii is not None:
            fakes = Pseudonymiser(secret, locale)
            out[name] = fakes.replace(PiiKind(spec.pii), frame[name])
    return out
