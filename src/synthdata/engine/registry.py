"""The synthesizers by name: which ones exist, what each is, and where its class lives.

This module imports nothing heavy, so the command line can list the synthesizers in its
help (and check a name) without loading NumPy, pandas or scikit-learn. A class is
imported the first time it is asked for by name (`synthesizer_class`); importing its
module registers it (`register`, the class decorator).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthdata.engine.errors import InputError

if TYPE_CHECKING:
    from synthdata.engine.base import Synthesizer

DEFAULT_SYNTHESIZER = "chain"
"""The synthesizer used when none is named (see docs/engine.md for when to choose another)."""


@dataclass(frozen=True)
class BuiltinSynthesizer:
    """A synthesizer that ships with the package: the module that defines it, in a line,
    and what it can do (its class says the same: tests/engine/test_registry.py). Asking
    what it can do imports nothing: importing `chain` (scikit-learn) took 1.4 s of CPU
    inside the API's first job request and stalled every other request meanwhile."""

    module: str
    summary: str
    supports_save: bool = True
    supports_conditions: bool = False


BUILTIN_SYNTHESIZERS: dict[str, BuiltinSynthesizer] = {
    "chain": BuiltinSynthesizer(
        "synthdata.engine.chain",
        "a chain of trees over the columns, takes conditions",
        supports_conditions=True,
    ),
    "copula": BuiltinSynthesizer("synthdata.engine.copula", "a stratified Gaussian copula"),
    "dp": BuiltinSynthesizer(
        "synthdata.engine.dp", "differentially private (MST over noisy marginals; --epsilon)"
    ),
    # SDV is imported only when one of these is fitted: naming them costs nothing.
    "sdv_copula": BuiltinSynthesizer(
        "synthdata.engine.sdv_adapter",
        "SDV's Gaussian copula, needs the sdv extra",
        supports_save=False,
    ),
    "sdv_ctgan": BuiltinSynthesizer(
        "synthdata.engine.sdv_adapter", "SDV's CTGAN, needs the sdv extra", supports_save=False
    ),
    "sdv_tvae": BuiltinSynthesizer(
        "synthdata.engine.sdv_adapter", "SDV's TVAE, needs the sdv extra", supports_save=False
    ),
}

_REGISTRY: dict[str, type[Synthesizer]] = {}


def register(cls: type[Synthesizer]) -> type[Synthesizer]:
    """Class decorator: make a synthesizer available by its `name`."""
    _REGISTRY[cls.name] = cls
    return cls


def synthesizer_class(name: str) -> type[Synthesizer]:
    """The class registered as `name` (to ask about it without creating one)."""
    builtin = BUILTIN_SYNTHESIZERS.get(name)
    if name not in _REGISTRY and builtin is not None:
        importlib.import_module(builtin.module)  # registers the class
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(list_synthesizers())
        raise InputError(f"unknown synthesizer {name!r} (available: {known})") from None


def can_save(name: str) -> bool:
    """Whether `name`'s models can be saved (jobs run from saved models); no import for a
    built-in one."""
    builtin = BUILTIN_SYNTHESIZERS.get(name)
    return builtin.supports_save if builtin else synthesizer_class(name).supports_save


def takes_conditions(name: str) -> bool:
    """Whether `name` meets conditions while sampling; no import for a built-in one."""
    builtin = BUILTIN_SYNTHESIZERS.get(name)
    return builtin.supports_conditions if builtin else synthesizer_class(name).supports_conditions


def list_synthesizers() -> list[str]:
    """Names accepted by `create_synthesizer` (without importing any of them)."""
    return sorted({*BUILTIN_SYNTHESIZERS, *_REGISTRY})


def describe_synthesizers() -> str:
    """The built-in synthesizers, each with what it is, in one line for help texts."""
    return "; ".join(f"{name} ({entry.summary})" for name, entry in BUILTIN_SYNTHESIZERS.items())


def private_synthesizer(name: str, epsilon: float | None, delta: float | None) -> str:
    """The synthesizer that `epsilon` / `delta` ask for: "dp" (another one named
    alongside them is an error, not silently replaced)."""
    if name not in (DEFAULT_SYNTHESIZER, "dp"):
        raise InputError(
            f"epsilon/delta need the dp synthesizer, not {name!r} "
            "(differential privacy is a property of how the model is fitted)"
        )
    if epsilon is None:
        raise InputError("delta needs epsilon (the differential privacy budget)")
    return "dp"
