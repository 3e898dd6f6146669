"""Conditions on column values, as weights on each column's tokens.

A condition allows, per token, a share of its probability mass: a category is
allowed whole or not at all; a numeric bin is allowed for the part of it that
falls inside the range, and values are then drawn only from that part. The
sampler multiplies each row's weight by the allowed mass of its leaf and
resamples rows by weight (see `_chain.sampling`), so the rows come from the
model's conditional distribution, not from the marginal with a filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._chain.tokens import TokenCodec
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind, ColumnSpec

Condition = Any
"""A value, a list/set/tuple-set of values, or a (low, high) range; None means null."""


@dataclass
class Allowed:
    """What a condition allows of one column's tokens."""

    column: str
    text: str  # the condition as the user wrote it, for error messages
    mass: np.ndarray  # per token: the share of its probability that is allowed (0..1)
    low: np.ndarray  # per token: allowed part of the bin, as a share of the bin [low, high)
    high: np.ndarray
    level: np.ndarray  # per token: the one level a "rare" token must become (-1: any)


def allowed_tokens(codec: TokenCodec, spec: ColumnSpec, condition: Condition) -> Allowed:
    """Translate one column's condition into per-token allowed mass."""
    text = f"{spec.name}={_describe(condition)}"
    n = codec.n_tokens
    mass, low, high = np.zeros(n), np.zeros(n), np.ones(n)
    level = np.full(n, -1, dtype=np.int64)
    values, bounds, want_null = _split(condition)
    if want_null:
        if not codec.has_null:
            raise InputError(f"condition {text}: the column has no nulls in the real table")
        mass[codec.null_token] = 1.0
    if codec.grid is None:
        _allow_levels(codec, spec, values, bounds, mass, level, text)
    else:
        _allow_range(codec, spec, values, bounds, mass, low, high, text)
    if not mass.any():
        raise InputError(f"condition {text}: no value of the real table meets it")
    return Allowed(spec.name, text, mass, low, high, level)


def _split(condition: Condition) -> tuple[list[Any], tuple[Any, Any] | None, bool]:
    """(values, range, wants null) from a condition."""
    if isinstance(condition, tuple) and len(condition) == 2:
        return [], condition, False
    items = list(condition) if isinstance(condition, list | set | frozenset) else [condition]
    want_null = any(v is None or (isinstance(v, float) and np.isnan(v)) for v in items)
    values = [v for v in items if not (v is None or (isinstance(v, float) and np.isnan(v)))]
    return values, None, want_null


def _allow_levels(
    codec: TokenCodec,
    spec: ColumnSpec,
    values: list[Any],
    bounds: tuple[Any, Any] | None,
    mass: np.ndarray,
    level: np.ndarray,
    text: str,
) -> None:
    levels = codec.levels or []
    if bounds is not None:
        low, high = (_as_number(b, spec, text) if b is not None else None for b in bounds)
        numbers = [_as_number(v, spec, text) for v in levels]
        chosen = [
            i
            for i, v in enumerate(numbers)
            if (low is None or v >= low) and (high is None or v <= high)
        ]
    else:
        lookup = {_key(v): i for i, v in enumerate(levels)}
        chosen = []
        for value in values:
            wanted = _coerce(value, spec)
            if spec.kind == ColumnKind.DATETIME:
                wanted = _as_number(value, spec, text)
            index = lookup.get(_key(wanted))
            if index is None:
                raise InputError(
                    f"condition {text}: {value!r} never occurs in column {spec.name!r}"
                )
            chosen.append(index)
    rare_from = codec.bins - 1 if codec.rare_cumulative is not None else codec.bins
    for index in chosen:
        if index < rare_from:
            mass[index] = 1.0
            continue
        # A rare level shares its token: only its own share of the token is allowed.
        assert codec.rare_cumulative is not None
        k = index - rare_from
        share = codec.rare_cumulative[k] - (codec.rare_cumulative[k - 1] if k else 0.0)
        if level[rare_from] >= 0 and level[rare_from] != index:
            raise InputError(f"condition {text}: name at most one of the rarest values")
        mass[rare_from], level[rare_from] = share, index


def _allow_range(
    codec: TokenCodec,
    spec: ColumnSpec,
    values: list[Any],
    bounds: tuple[Any, Any] | None,
    mass: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    text: str,
) -> None:
    if bounds is None:
        if not values:
            return
        if len(values) > 1:
            raise InputError(f"condition {text}: use a (low, high) range for a numeric column")
        bounds = (values[0], values[0])
    assert codec.grid is not None
    grid = codec.grid
    lo = -np.inf if bounds[0] is None else _as_number(bounds[0], spec, text)
    hi = np.inf if bounds[1] is None else _as_number(bounds[1], spec, text)
    if spec.kind == ColumnKind.INTEGER:  # values are rounded: 30..40 takes 29.5 to 40.5
        lo, hi = lo - 0.5, hi + 0.5 - 1e-9
    if lo > hi:
        raise InputError(f"condition {text}: the low end is above the high end")
    p_lo, p_hi = _position(grid, lo, "left"), _position(grid, hi, "right")
    edges = np.arange(codec.bins + 1) / codec.bins
    start = np.clip((p_lo - edges[:-1]) * codec.bins, 0.0, 1.0)
    stop = np.clip((p_hi - edges[:-1]) * codec.bins, 0.0, 1.0)
    mass[: codec.bins] = np.maximum(stop - start, 0.0)
    low[: codec.bins], high[: codec.bins] = start, np.maximum(stop, start)


def _position(grid: np.ndarray, value: float, side: str) -> float:
    """Where `value` sits on the quantile grid, as a probability (the grid is the inverse)."""
    steps = len(grid) - 1
    if value < grid[0]:
        return 0.0
    if value > grid[-1]:
        return 1.0
    i = int(np.searchsorted(grid, value, side=side))  # type: ignore[call-overload]
    if side == "left":  # first grid point >= value
        if i == 0:
            return 0.0
        left, right = grid[i - 1], grid[i]
        return float((i - 1 + (value - left) / (right - left)) / steps)
    if i >= len(grid):  # last grid point <= value
        return 1.0
    left, right = grid[i - 1], grid[i]
    return float((i - 1 + (value - left) / (right - left)) / steps)


def _as_number(value: Any, spec: ColumnSpec, text: str) -> float:
    try:
        if spec.kind == ColumnKind.DATETIME:
            stamp = pd.Timestamp(value)
            if spec.timezone is not None:
                stamp = (
                    stamp.tz_localize(spec.timezone) if stamp.tzinfo is None else stamp
                ).tz_convert("UTC")
                stamp = stamp.tz_localize(None)
            return float(stamp.as_unit("ns").value)
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"condition {text}: {value!r} is not a {spec.kind.value} ({exc})"
        ) from None


def _coerce(value: Any, spec: ColumnSpec) -> Any:
    """A value written as text (on the command line, in JSON) read as the column's type."""
    if not isinstance(value, str):
        return value
    if spec.kind == ColumnKind.BOOLEAN:
        return value.strip().lower() in ("true", "1", "yes")
    if spec.kind in (ColumnKind.INTEGER, ColumnKind.CONTINUOUS):
        try:
            return float(value)
        except ValueError:
            return value  # reported as a value that never occurs
    return value


def _key(value: Any) -> Any:
    """Compare 3 and 3.0 and "3" the same way, as users write them."""
    if isinstance(value, bool | np.bool_):
        return ("b", bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return ("n", float(value))
    return ("s", str(value))


def _describe(condition: Condition) -> str:
    if isinstance(condition, tuple) and len(condition) == 2:
        return f"{condition[0]}..{condition[1]}"
    if isinstance(condition, list | set | frozenset):
        return "{" + ", ".join(map(str, condition)) + "}"
    return str(condition)
