"""Checking a synthesizer's parameters against its declared signature.

Parameters arrive from Python calls, from the command line and from model files
(JSON), so the check is shallow and forgiving where JSON is lossy: an int is a
valid float, a list a valid tuple; a bool is not an int.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

from synthdata.engine.errors import InputError

if TYPE_CHECKING:
    from synthdata.engine.base import Synthesizer


def check_parameters(cls: type[Synthesizer], options: dict[str, Any]) -> None:
    """Refuse parameters `cls` does not declare, or values not of the declared type."""
    names = cls.parameter_names()
    if names is None:
        return
    accepted = ", ".join(names) or "none"
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise InputError(
            f"unknown option(s) for the {cls.name} synthesizer: {', '.join(unknown)} "
            f"(accepted: {accepted})"
        )
    try:
        hints = typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no check
        return
    for key, value in options.items():
        hint = hints.get(key)
        if hint is not None and not _is_instance(value, hint):
            raise InputError(
                f"option {key!r} of the {cls.name} synthesizer must be {_describe(hint)}, "
                f"got {value!r}"
            )


def _is_instance(value: Any, hint: Any) -> bool:
    """A shallow `isinstance` against a type hint (ints pass for floats, bools not for ints)."""
    if hint is Any:
        return True
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_is_instance(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    target = origin or hint
    if not isinstance(target, type):
        return True
    if target is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if target in (tuple, list) and isinstance(value, (tuple, list)):
        return True  # JSON turns tuples into lists
    return isinstance(value, target)


def _describe(hint: Any) -> str:
    text = str(hint) if typing.get_origin(hint) or typing.get_args(hint) else hint.__name__
    return text.replace("typing.", "").replace("NoneType", "None")
