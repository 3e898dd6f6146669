"""What the registry says a built-in synthesizer can do, without importing it, is what
its class says once imported."""

from __future__ import annotations

import pytest

from synthdata.engine.registry import (
    BUILTIN_SYNTHESIZERS,
    can_save,
    synthesizer_class,
    takes_conditions,
)


@pytest.mark.parametrize("name", sorted(BUILTIN_SYNTHESIZERS))
def test_the_registry_agrees_with_the_class(name: str) -> None:
    cls = synthesizer_class(name)
    assert can_save(name) == cls.supports_save
    assert takes_conditions(name) == cls.supports_conditions
