"""Issue 13, item 7: per-source limits and lockout on the public routes with work behind them.

`/status`, `/status.json`, `/readyz` and `/metrics` answer 429 (with Retry-After) once a
source is over its request rate, and the alert webhook's token cannot be guessed
without limit: wrong tokens lock the source out as wrong API keys do, for every
route, while other sources go on unharmed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from synthdata.observability.http import metrics_payload
from synthdata.observability.request_tally import fold_all
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.asgi import service_hooks
from synthdata.service.core.ratelimit import Tarpit
from synthdata.service.core.settings import Settings
from tests.fixtures.service import Caller, serving
from tests.service.alertmanager_payloads import alert, group_key, notification

TOKEN = "webhook-token-for-tests"
WEBHOOK = "/api/v1/alerts/webhook"
ATTACKER = ("203.0.113.66", 40000)
BYSTANDER = ("198.51.100.7", 40000)
NOTIFICATION = notification(group_key("HighCPU"), alert("HighCPU", "warning"))


@contextmanager
def api(settings: Settings, client: tuple[str, int]) -> Iterator[TestClient]:
    app = create_app(settings, workers=0, hooks=[observe.install])
    with TestClient(app, client=client) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/status", "/status.json", "/readyz", "/metrics"])
def test_public_routes_have_a_per_source_rate_limit(
    settings_for: Callable[..., Settings], path: str
) -> None:
    settings = settings_for(rate_limit_per_source=5, metrics_token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with api(settings, ATTACKER) as attacker:
        statuses = [attacker.get(path, headers=headers).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5, statuses
        assert statuses[5:] == [429] * 3, statuses
        refused = attacker.get(path, headers=headers)
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["type"].endswith("rate-limited")
    with api(settings, BYSTANDER) as bystander:  # another address is not affected
        assert bystander.get(path, headers=headers).status_code == 200


def test_wrong_webhook_tokens_lock_the_source_out(
    settings_for: Callable[..., Settings], alice: Caller
) -> None:
    settings = settings_for(
        alert_webhook_token=TOKEN, auth_lockout_failures=5, escalation_check_seconds=3600
    )
    with api(settings, ATTACKER) as attacker:
        guesses = [
            attacker.post(
                WEBHOOK, json=NOTIFICATION, headers={"Authorization": f"Bearer guess-{n}"}
            ).status_code
            for n in range(8)
        ]
        assert guesses[:4] == [401] * 4, guesses
        assert set(guesses[4:]) == {429}, guesses
        # Locked out: even the right token, and an API key, from that address.
        right = attacker.post(
            WEBHOOK, json=NOTIFICATION, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 60
        assert attacker.get("/api/v1/me", headers=alice.headers).status_code == 429
        assert attacker.get("/status.json").status_code == 429
    with api(settings, BYSTANDER) as alertmanager:
        answer = alertmanager.post(
            WEBHOOK, json=NOTIFICATION, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 200, answer.text


def test_wrong_scrape_tokens_lock_the_source_out(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(metrics_token=TOKEN, auth_lockout_failures=3)
    with api(settings, ATTACKER) as attacker:
        guesses = [
            attacker.get("/metrics", headers={"Authorization": f"Bearer guess-{n}"}).status_code
            for n in range(5)
        ]
        assert guesses == [401, 401, 429, 429, 429], guesses
        assert (
            attacker.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            == 429
        )
    with api(settings, BYSTANDER) as prometheus:
        assert prometheus.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).is_success


# -- floods: a per-second window and a tarpit (the abuse benchmark's flood rows) -------
def test_a_source_cannot_spend_its_whole_window_in_one_second(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(rate_limit_per_source=1000, rate_limit_per_source_per_second=3)
    with api(settings, ATTACKER) as attacker:
        statuses = [attacker.get("/readyz").status_code for _ in range(12)]
    # Fixed one-second windows: the burst may straddle one boundary, never more.
    assert 3 <= statuses.count(200) <= 6, statuses
    assert statuses.count(429) >= 6, statuses


def test_the_tarpit_holds_at_most_its_capacity() -> None:
    async def scenario() -> tuple[int, list[bool]]:
        tarpit = Tarpit(seconds=3600, capacity=2)
        holds = [asyncio.create_task(tarpit.hold()) for _ in range(5)]
        await asyncio.sleep(0)  # every task runs up to its sleep, or returns
        held, done = tarpit.held, [task.done() for task in holds]
        for task in holds:
            task.cancel()
        await asyncio.gather(*holds, return_exceptions=True)
        assert tarpit.held == 0  # cancelled holds give their place back
        return held, done

    held, done = asyncio.run(scenario())
    assert held == 2
    assert done == [False, False, True, True, True]  # past capacity: answered at once


def test_a_refused_request_is_held_by_the_tarpit_before_its_429(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(
        rate_limit_per_source=1, rate_limit_tarpit_seconds=2.0, rate_limit_tarpit_capacity=8
    )
    app = create_app(settings, workers=0)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        answers: list[httpx.Response] = []
        refused = threading.Thread(target=lambda: answers.append(client.get("/readyz")))
        refused.start()
        tarpit = app.state.platform.tarpit
        seen_held = False
        while refused.is_alive():
            seen_held = seen_held or tarpit.held == 1
            time.sleep(0.01)
        assert seen_held  # the 429 waited in the tarpit
        assert answers[0].status_code == 429
        assert tarpit.held == 0


def _readyz_latency(le: str) -> float:
    """Observations of GET /readyz at most `le` seconds ("": all), as /metrics shows them."""
    name = "http_request_duration_seconds_bucket" if le else "http_request_duration_seconds_count"
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_payload().decode())
        for sample in family.samples
        if sample.name == name
        and sample.labels.get("endpoint") == "/readyz"
        and sample.labels.get("method") == "GET"
        and (not le or float(sample.labels["le"]) == float(le))
    )


def test_the_latency_histogram_leaves_out_the_tarpits_hold(
    settings_for: Callable[..., Settings],
) -> None:
    """A refusal held 2 s on purpose is not the service being slow: APILatencyBudgetBurn
    paged during a brute-force attack while every user request was fast."""
    settings = settings_for(
        rate_limit_per_source=1, rate_limit_tarpit_seconds=2.0, rate_limit_tarpit_capacity=8
    )
    app = create_app(settings, workers=0, hooks=service_hooks(settings))  # with metrics
    fold_all()
    fast, count = _readyz_latency("0.5"), _readyz_latency("")
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        started = time.monotonic()
        assert client.get("/readyz").status_code == 429
        assert time.monotonic() - started >= 2.0  # it was held
        deadline = time.monotonic() + 10  # requests are counted in batches
        while _readyz_latency("") < count + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            fold_all()
    assert _readyz_latency("") == count + 2
    assert _readyz_latency("0.5") == fast + 2  # both counted under 500 ms
