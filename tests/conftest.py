"""Suite-wide fixtures and checks.

The service fixtures (real databases, Redis, a client and callers) live in
`tests/fixtures/service.py` and serve every directory (service, jobs, security).
A test marked `sdv` fails (never skips) where SDV is not installed.

What several test modules share lives in a module of `tests/fixtures/` named by what
it provides (`processes.py`: serve, worker, Prometheus; `ops.py`: the ops CLI and
stand-in receivers; `alertmanager.py`, `grafana.py`, `logs.py`, `monitoring.py`,
`manifests.py`, `rules.py`, `jobs.py`, `tables.py`, ...), imported by the tests that use
it; no module imports a test module or a conftest.py (`tests/test_layout.py` checks).
The conftest.py of a directory only makes the fixtures of tests/fixtures/ its tests use
available there. Fixtures are imported, not registered suite-wide, where different
fixtures share a name (`receiver` is Alertmanager's, the ops tests' or PagerDuty's).
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
