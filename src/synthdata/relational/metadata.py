"""What links the tables of a dataset: primary keys, foreign keys, column kinds.

Metadata is plain data that round-trips through JSON (`to_json`/`from_json`,
`save`/`load`). `validate` checks it against the tables and refuses what the
synthesizer cannot honour (a self-reference, a cycle, a key whose types do not
match) with a `RelationalError` whose message is one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.engine.errors import InputError
from synthdata.engine.kinds import ColumnKind

FORMAT = "synthdata-metadata"
VERSION = 1


class RelationalError(InputError):
    """The tables or their metadata cannot be synthesized together (one-line message)."""


@dataclass(frozen=True)
class ForeignKey:
    """`child.columns` hold values of `parent.parent_columns` (its primary key)."""

    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]

    @property
    def label(self) -> str:
        """``child.col->parent``: the name evaluation and messages use for this link."""
        return f"{self.child}.{'+'.join(self.columns)}->{self.parent}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "child": self.child,
            "columns": list(self.columns),
            "parent": self.parent,
            "parent_columns": list(self.parent_columns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForeignKey:
        return cls(
            str(data["child"]),
            tuple(str(c) for c in data["columns"]),
            str(data["parent"]),
            tuple(str(c) for c in data["parent_columns"]),
        )


@dataclass
class TableMeta:
    """One table: its primary key (possibly several columns) and column kind overrides."""

    primary_key: tuple[str, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)  # column -> ColumnKind value


@dataclass
class Metadata:
    """The tables of a dataset and the foreign keys between them."""

    tables: dict[str, TableMeta]
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    # -- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "tables": {
                name: {"primary_key": list(meta.primary_key), "kinds": dict(meta.kinds)}
                for name, meta in self.tables.items()
            },
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> Metadata:
        try:
            tables = {
                str(name): TableMeta(
                    tuple(str(c) for c in item.get("primary_key") or ()),
                    {str(k): str(v) for k, v in (item.get("kinds") or {}).items()},
                )
                for name, item in data["tables"].items()
            }
            keys = [ForeignKey.from_dict(item) for item in data.get("foreign_keys") or []]
        except (KeyError, TypeError, AttributeError) as exc:
            raise RelationalError(
                f"metadata is malformed (missing or wrong field: {exc})"
            ) from None
        metadata = cls(tables, keys)
        metadata._check_self()
        return metadata

    @classmethod
    def from_json(cls, text: str) -> Metadata:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RelationalError(f"metadata is not JSON: {exc}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Metadata:
        file = Path(path)
        if not file.is_file():
            raise RelationalError(f"metadata file not found: {file}")
        return cls.from_json(file.read_text(encoding="utf-8"))

    # -- structure ----------------------------------------------------------------------
    def parents_of(self, table: str) -> list[ForeignKey]:
        """The foreign keys of `table`, in declaration order (the first is its primary link)."""
        return [fk for fk in self.foreign_keys if fk.child == table]

    def children_of(self, table: str) -> list[ForeignKey]:
        """The foreign keys that reference `table`."""
        return [fk for fk in self.foreign_keys if fk.parent == table]

    def order(self) -> list[str]:
        """Table names, every parent before its children; a cycle is a RelationalError."""
        self._check_self()
        pending = {name: {fk.parent for fk in self.parents_of(name)} for name in self.tables}
        done: list[str] = []
        while pending:
            ready = [name for name, needs in pending.items() if needs <= set(done)]
            if not ready:
                cycle = " -> ".join(sorted(pending))
                raise RelationalError(
                    f"the foreign keys form a cycle among tables {cycle}: "
                    "remove one of them from the metadata"
                )
            for name in ready:  # declaration order among tables ready together
                done.append(name)
                del pending[name]
        return done

    def _check_self(self) -> None:
        for fk in self.foreign_keys:
            if fk.child == fk.parent:
                raise RelationalError(
                    f"foreign key {fk.label} references its own table: self-references "
                    "are not supported (drop it or treat the column as an attribute)"
                )

    def validate(self, tables: dict[str, pd.DataFrame]) -> None:
        """Check the metadata against the tables; the first problem is a RelationalError."""
        for name in self.tables:
            if name not in tables:
                raise RelationalError(f"table {name!r} is in the metadata but not in the data")
        for name, meta in self.tables.items():
            _require_columns(name, meta.primary_key, tables[name], "primary key")
            for column, kind in meta.kinds.items():
                _require_columns(name, (column,), tables[name], "kind override")
                if kind not in {k.value for k in ColumnKind}:
                    raise RelationalError(f"table {name!r}: unknown kind {kind!r} for {column!r}")
            if meta.primary_key and tables[name][list(meta.primary_key)].isna().any().any():
                raise RelationalError(
                    f"table {name!r}: primary key {'+'.join(meta.primary_key)} has empty values"
                )
            if meta.primary_key and tables[name].duplicated(list(meta.primary_key)).any():
                raise RelationalError(
                    f"table {name!r}: primary key {'+'.join(meta.primary_key)} has duplicate values"
                )
        for fk in self.foreign_keys:
            for table in (fk.child, fk.parent):
                if table not in self.tables or table not in tables:
                    raise RelationalError(f"foreign key {fk.label}: table {table!r} is missing")
            parent_key = self.tables[fk.parent].primary_key
            if tuple(fk.parent_columns) != tuple(parent_key):
                raise RelationalError(
                    f"foreign key {fk.label} must reference the primary key of {fk.parent!r} "
                    f"({'+'.join(parent_key) or 'none declared'})"
                )
            if len(fk.columns) != len(fk.parent_columns):
                raise RelationalError(f"foreign key {fk.label}: column counts differ")
            _require_columns(fk.child, fk.columns, tables[fk.child], "foreign key")
            for mine, theirs in zip(fk.columns, fk.parent_columns, strict=True):
                a, b = tables[fk.child][mine], tables[fk.parent][theirs]
                if value_family(a) != value_family(b):
                    raise RelationalError(
                        f"foreign key {fk.label}: {fk.child}.{mine} holds {value_family(a)} "
                        f"values but {fk.parent}.{theirs} holds {value_family(b)} values"
                    )
        self.order()


def _require_columns(table: str, columns: tuple[str, ...], frame: pd.DataFrame, what: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise RelationalError(f"table {table!r} has no column {column!r} (its {what})")


def value_family(series: pd.Series) -> str:
    """ "integer", "text" or another dtype family: what a key's values must share to join."""
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        whole = bool(len(values)) and bool((values == values.round()).all())
        return "integer" if whole or not len(values) else "decimal"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"
