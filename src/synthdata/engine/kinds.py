"""The kinds of column the engine knows (see `schema` for how a column gets one)."""

from __future__ import annotations

from enum import StrEnum


class ColumnKind(StrEnum):
    """How a column is modelled and regenerated."""

    CONTINUOUS = "continuous"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    CATEGORICAL = "categorical"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"
    EMPTY = "empty"
