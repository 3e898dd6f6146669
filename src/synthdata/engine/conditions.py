"""Conditions as JSON: how the API and job records write what `sample(conditions=...)` takes.

{"segment": "premium"}                      one value
{"segment": ["premium", "vip"]}             any of these values
{"age": {"min": 30, "max": 40}}             a range (numbers, dates); either end may be left out
{"amount": null}                            a null
"""

from __future__ import annotations

from typing import Any

from synthdata.engine.errors import InputError

_RANGE_KEYS = frozenset({"min", "max"})


def conditions_from_json(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The SDK's `conditions` from their JSON form (None or {} stays None)."""
    if not raw:
        return None
    out: dict[str, Any] = {}
    for column, value in raw.items():
        if isinstance(value, dict):
            if not value or not set(value) <= _RANGE_KEYS:
                raise InputError(
                    f"condition on {column!r}: a range is an object with 'min' and/or 'max'"
                )
            out[column] = (value.get("min"), value.get("max"))
        elif isinstance(value, list):
            if not value or any(isinstance(v, list | dict) for v in value):
                raise InputError(f"condition on {column!r}: a list holds one or more plain values")
            out[column] = value
        else:
            out[column] = value
    return out
