"""The monitoring tools (the real promtool, amtool and Alertmanager, with the paths of the
monitoring configuration) live in `tests/fixtures/monitoring.py`, a real Alertmanager
running the repository's configuration and its receiver in `tests/fixtures/alertmanager.py`,
a stand-in for Grafana's API in `tests/fixtures/grafana.py`; this makes their fixtures
available to every test here."""

from tests.fixtures.alertmanager import alertmanager, receiver  # noqa: F401  (the fixtures)
from tests.fixtures.grafana import grafana  # noqa: F401  (the fixture)
from tests.fixtures.monitoring import tools  # noqa: F401  (the fixture)
