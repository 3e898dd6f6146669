"""Suite-wide fixtures and checks.

The service fixtures (real databases, Redis, a client and callers) live in
`tests/fixtures/service.py` and serve every directory (service, jobs, security).
A test marked `sdv` fails (never skips) where SDV is not installed.
"""

from __future__ import annotations

import importlib.util

import pytest

pytest_plugins = ["tests.fixtures.service"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("sdv") and importlib.util.find_spec("sdv") is None:
        pytest.fail(
            "this test needs the sdv extra (SDV and torch): `make test` runs it in .venv-sdv "
            "(or: .venv-sdv/bin/pytest -m sdv)",
            pytrace=False,
        )
