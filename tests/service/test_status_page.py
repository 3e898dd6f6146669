"""The public status page: /status.json from the real parts, /status as a browser shows it.

Facts are put where the page reads them (incident and job rows, the circuit breaker
through the admin API), then read back over the API; the browser test serves the app
over real HTTP and opens it in the Debian Chromium.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from benchmarks.service_processes import free_port
from fastapi.testclient import TestClient
from tests.fixtures.service import serving

from synthdata.jobs.models import Job, JobState
from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import Role
from synthdata.service.incidents.models import Incident

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_TITLE = "<script>window.__pwned = true</script> Uploads failing"
COMPONENTS = ["Database", "Job queue", "File storage", "Job workers", "New jobs"]


# -- putting facts in the database ------------------------------------------------------
@contextmanager
def database(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def add_incident(
    session: Any, severity: str, title: str, status: str, opened: timedelta, **times: timedelta
) -> None:
    """An incident opened `opened` ago; `times` (acknowledged=, resolved=) likewise ago."""
    now = utcnow()
    session.add(
        Incident(
            group_key=f"group-{title}",
            title=title,
            severity=severity,
            status=status,
            opened_at=now - opened,
            ack_due_at=now - opened + timedelta(minutes=15),
            acknowledged_at=now - times["acknowledged"] if "acknowledged" in times else None,
            resolved_at=now - times["resolved"] if "resolved" in times else None,
        )
    )


def add_the_four_incidents(settings: Settings, sev1_title: str = "API down") -> None:
    """SEV-1 open, SEV-3 acknowledged, one resolved 2 days ago and one 10 days ago."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    with database(settings) as session:
        add_incident(session, "SEV-1", sev1_title, "open", timedelta(minutes=20))
        add_incident(
            session, "SEV-3", "Slow downloads", "acknowledged", 3 * hour, acknowledged=2 * hour
        )
        add_incident(session, "SEV-2", "Jobs delayed", "resolved", 2 * day + hour, resolved=2 * day)
        add_incident(session, "SEV-2", "Old outage", "resolved", 10 * day + hour, resolved=10 * day)


def add_job(
    settings: Settings, customer_id: str, state: JobState, age: timedelta, **values: Any
) -> None:
    with database(settings) as session:
        session.add(
            Job(
                customer_id=customer_id,
                state=state.value,
                seed=1,
                rows=10,
                created_at=utcnow() - age,
                **values,
            )
        )


def status_of(client: TestClient) -> dict[str, Any]:
    response = client.get("/status.json")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-cache"
    return response.json()


def component(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in body["components"] if c["name"] == name)


# -- /status.json -----------------------------------------------------------------------
def test_a_fresh_service_is_all_operational(client: TestClient) -> None:
    body = status_of(client)
    assert (body["status"], body["summary"]) == ("operational", "All systems operational")
    assert [c["name"] for c in body["components"]] == COMPONENTS
    assert {c["state"] for c in body["components"]} == {"operational"}
    assert component(body, "Job workers")["reason"] == "Idle: no jobs waiting"
    assert body["open_incidents"] == body["recently_resolved"] == []
    assert body["incidents_available"] is True


def test_open_and_recently_resolved_incidents(settings: Settings, client: TestClient) -> None:
    add_the_four_incidents(settings)
    body = status_of(client)
    assert (body["status"], body["summary"]) == ("major_outage", "Major outage")
    opened = [(i["severity"], i["title"], i["status"]) for i in body["open_incidents"]]
    assert opened == [("SEV-1", "API down", "open"), ("SEV-3", "Slow downloads", "acknowledged")]
    assert body["open_incidents"][0]["acknowledged_at"] is None
    assert body["open_incidents"][1]["acknowledged_at"] is not None
    assert [i["title"] for i in body["recently_resolved"]] == ["Jobs delayed"]  # not 10 days old
    generated = datetime.fromisoformat(body["generated_at"])
    resolved = datetime.fromisoformat(body["recently_resolved"][0]["resolved_at"])
    assert timedelta(days=1, hours=23) < generated - resolved < timedelta(days=2, hours=1)
    # Only what the public may see: no group keys, owners or checklists.
    assert set(body["open_incidents"][0]) == {
        "severity",
        "title",
        "status",
        "opened_at",
        "acknowledged_at",
        "resolved_at",
    }


def test_a_flood_of_readers_costs_one_render_per_cache_period(
    settings_for: Callable[..., Settings],
) -> None:
    """Within SYNTHDATA_STATUS_CACHE_SECONDS every reader gets the same render."""
    settings = settings_for(status_cache_seconds=3600)
    with TestClient(create_app(settings)) as cached:
        first = status_of(cached)
        page = cached.get("/status").text
        add_the_four_incidents(settings)
        assert status_of(cached) == first  # the same render: the incident is not in it
        assert cached.get("/status").text == page
    with TestClient(create_app(settings)) as fresh:  # a new render sees the facts
        assert status_of(fresh)["status"] == "major_outage"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("SEV-2", "degraded"), ("SEV-3", "degraded"), ("SEV-4", "operational")],
)
def test_open_incidents_below_sev1_set_the_banner_by_impact(
    settings: Settings, client: TestClient, severity: str, expected: str
) -> None:
    with database(settings) as session:
        add_incident(session, severity, "Something", "acknowledged", timedelta(minutes=5))
    assert status_of(client)["status"] == expected


def test_the_circuit_breaker_pauses_new_jobs(
    client: TestClient, make_caller: Callable[..., Any]
) -> None:
    admin = make_caller(Role.ADMIN, with_customer=False)
    change = client.put(
        "/api/v1/admin/circuit-breakers/synthdata-api",
        headers=admin.headers,
        json={"enabled": True, "reason": "failing over to pg-replica-7.internal"},
    )
    assert change.status_code == 200, change.text
    body = status_of(client)
    assert body["status"] == "degraded"
    assert component(body, "New jobs") == {
        "name": "New jobs",
        "state": "degraded",
        "reason": "New jobs paused",
    }
    # The operator's reason is for colleagues, not the public.
    assert "pg-replica-7" not in client.get("/status.json").text
    assert "pg-replica-7" not in client.get("/status").text


def test_a_job_nobody_picks_up_degrades_the_workers(
    settings: Settings, make_caller: Callable[..., Any]
) -> None:
    customer = make_caller().customer_id
    with TestClient(create_app(settings, workers=0)) as client:
        add_job(settings, customer, JobState.QUEUED, timedelta(minutes=2))
        workers = component(status_of(client), "Job workers")
        assert workers == {
            "name": "Job workers",
            "state": "operational",
            "reason": "1 job waiting, picked up normally",
        }
        add_job(settings, customer, JobState.QUEUED, timedelta(hours=1))
        body = status_of(client)
        workers = component(body, "Job workers")
        assert workers["state"] == "degraded"
        assert workers["reason"] == "Jobs are not being picked up (oldest waiting 1 h)"
        assert body["status"] == "degraded"
        # A worker holding a live lease is busy: the backlog is slow, not stuck.
        lease = utcnow() + timedelta(minutes=1)
        add_job(settings, customer, JobState.RUNNING, timedelta(hours=2), lease_until=lease)
        workers = component(status_of(client), "Job workers")
        assert workers["state"] == "degraded"
        assert workers["reason"].startswith("Busy: new jobs wait about 1 h")


def test_an_unreachable_database_is_an_outage_named_without_its_address(tmp_path: Path) -> None:
    secret_url = f"postgresql+psycopg://app:hunter2@127.0.0.1:{free_port()}/synthdata"
    settings = Settings(
        environment="test",
        database_url=secret_url,
        data_dir=tmp_path / "data",
        queue_name="status-test",
        migrate_on_start=False,
        rate_limit_backend="memory",
    )
    with TestClient(create_app(settings, workers=0)) as client:
        body = status_of(client)
        page = client.get("/status")
    assert (body["status"], body["incidents_available"]) == ("major_outage", False)
    assert component(body, "Database") == {
        "name": "Database",
        "state": "outage",
        "reason": "The service cannot reach its database",
    }
    assert component(body, "File storage")["state"] == "operational"
    assert component(body, "Job workers")["state"] == "degraded"
    assert page.status_code == 200
    assert "Major outage" in page.text
    assert "The incident list cannot be read right now." in page.text
    port = secret_url.split(":")[-1].split("/")[0]
    for text in (str(body), page.text):
        for secret in ("hunter2", "127.0.0.1", port, "psycopg"):
            assert secret not in text


# -- /status as HTML --------------------------------------------------------------------
def test_the_html_page_escapes_titles_and_is_never_cached(
    settings: Settings, client: TestClient
) -> None:
    add_the_four_incidents(settings, sev1_title=SCRIPT_TITLE)
    page = client.get("/status")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert '<meta http-equiv="refresh" content="60">' in page.text
    assert "&lt;script&gt;window.__pwned = true&lt;/script&gt; Uploads failing" in page.text
    assert "<script" not in page.text
    assert "Major outage" in page.text
    for private in (settings.database_url, str(settings.data_dir), "group-"):
        assert private not in page.text


# -- in a real browser ------------------------------------------------------------------
def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("migrated_database", ["sqlite"], indirect=True)
def test_what_a_visitor_sees_in_chromium(settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():  # installed by the test command (tools/env.sh)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    add_the_four_incidents(settings, sev1_title=SCRIPT_TITLE)
    ARTIFACTS.mkdir(exist_ok=True)
    desktop_png, mobile_png = ARTIFACTS / "status-page.png", ARTIFACTS / "status-page-mobile.png"
    with serving(create_app(settings, workers=0)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            response = page.goto(f"{url}/status")
            assert response is not None and response.status == 200
            assert page.locator(".banner").inner_text().strip().endswith("Major outage")
            titles = page.locator(".incident .title").all_inner_texts()
            assert titles == [SCRIPT_TITLE, "Slow downloads", "Jobs delayed"]
            assert page.get_by_text(SCRIPT_TITLE).is_visible()  # shown as text...
            assert page.evaluate("typeof window.__pwned") == "undefined"  # ...never run
            assert page.locator("script").count() == 0
            tags = page.locator(".incident .tags").all_inner_texts()
            assert [" ".join(t.split()) for t in tags] == [
                "SEV-1 Open",
                "SEV-3 Acknowledged",
                "SEV-2 Resolved",
            ]
            rows = page.locator(".component")
            assert rows.locator(".name").all_inner_texts() == COMPONENTS
            assert rows.locator(".state").all_inner_texts() == ["Operational"] * 5
            assert "Old outage" not in page.inner_text("body")
            page.screenshot(path=str(desktop_png), full_page=True)

            page.set_viewport_size({"width": 375, "height": 740})
            overflow = page.evaluate(
                """() => [document.documentElement.scrollWidth - window.innerWidth,
                    [...document.querySelectorAll('body *')]
                      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                      .map(e => e.tagName + '.' + e.className)]"""
            )
            assert overflow == [0, []], f"wider than a 375 px phone: {overflow}"
            page.screenshot(path=str(mobile_png), full_page=True)
        finally:
            browser.close()
    for png, width in ((desktop_png, 1280), (mobile_png, 375)):
        assert png.stat().st_size > 10_000, png
        shot_width, shot_height = png_size(png)
        assert shot_width == width
        assert 600 < shot_height < 4000  # the whole page, not a blank or runaway canvas
