"""The end-to-end fixtures (real `synthdata serve` / `synthdata worker` processes, Redis,
a real Prometheus) live in `tests/fixtures/processes.py`, the PagerDuty and Slack
recorder of the incident tests in `tests/fixtures/incident_webhook.py`; this makes them
available to every test here."""

from tests.fixtures.incident_webhook import stand_ins  # noqa: F401  (the fixture)
from tests.fixtures.processes import (  # noqa: F401  (the fixtures)
    processes,
    prometheus_factory,
    redis_db,
    serve,
    worker,
)
