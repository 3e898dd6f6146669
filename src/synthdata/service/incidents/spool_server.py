"""`synthdata incident-spool`: the webhook Alertmanager always reaches.

A small HTTP server with one route, the API's own webhook path, so pointing
Alertmanager at it changes only the host and port. It takes a notification with the
same bearer token as the API, validates it as the API would (a payload the API would
refuse must not block the queue), writes it to the `Spool` and answers 200. One
forwarder thread posts the spooled notifications, oldest first, to the API and
retries (backing off to `MAX_BACKOFF`) while the API or its database is down; a
notification the API refuses as malformed is set aside, never retried.

The same thread keeps the response clock (see `spool`): between two forwarding
rounds it escalates the groups whose deadline passed while the API could not have
them, as the API's escalator would (PagerDuty for SEV-1/2, Slack for SEV-3/4).
Both happen on one thread so that an escalation and the delivery that would have let
the API escalate never race.

The standard library's HTTP server is used on purpose: the spool must not share the
API's web stack, and it serves one route at Alertmanager's pace.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook
from synthdata.service.incidents.escalation import pagerduty_event, slack_message
from synthdata.service.incidents.intake import incident_title
from synthdata.service.incidents.models import Incident
from synthdata.service.incidents.pagerduty import routing_key_for
from synthdata.service.incidents.policy import escalation_target
from synthdata.service.incidents.spool import ESCALATION_HEADER, Overdue, Spool, SpoolEscalation

log = logging.getLogger("synthdata.incidents.spool")

WEBHOOK_PATH = "/api/v1/alerts/webhook"
MAX_BODY = 10 * 1024 * 1024  # 1,000 alerts with long annotations fit
MAX_BACKOFF = 5.0
TICK = 1.0  # how often the clock is checked when nothing arrives
TIMEOUT = httpx.Timeout(10.0)
# The API will never take these: set the notification aside. Any other failure
# (401/403 a token being rotated, 429 a lockout, 5xx, no answer) is retried.
REFUSED_FOR_GOOD = {400, 413, 422}


class Forwarder:
    """The thread that forwards spooled notifications and escalates overdue groups."""

    def __init__(self, spool: Spool, api_url: str, settings: Settings) -> None:
        self.spool = spool
        self.api_url = api_url.rstrip("/")
        self.settings = settings
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="incident-spool", daemon=True)
        self._http = httpx.Client(timeout=TIMEOUT)
        self._backoff = 0.0
        self._failed_escalations: dict[tuple[str, datetime], datetime] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout=30.0)
        self._http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.escalate_overdue(utcnow())
                delivered_all = self.forward()
            except Exception:  # a full disk or a bug must not end the loop
                log.exception("incident spool pass failed")
                delivered_all = False
            self._backoff = 0.0 if delivered_all else min(MAX_BACKOFF, self._backoff * 2 or 0.25)
            self.wake.wait(self._backoff or TICK)
            self.wake.clear()

    # -- forwarding ------------------------------------------------------------------------
    def forward(self) -> bool:
        """Deliver what is pending, oldest first; False when the API did not take one."""
        while batch := self.spool.pending():
            for item in batch:
                if not self._deliver(item.id, item.group_key, item.body):
                    return False
        return True

    def _deliver(self, notification_id: int, group_key: str, body: str) -> bool:
        headers = {
            "Authorization": f"Bearer {self.settings.alert_webhook_token}",
            "Content-Type": "application/json",
        }
        escalation = self.spool.unreported_escalation(group_key)
        if escalation is not None:
            headers[ESCALATION_HEADER] = escalation.model_dump_json()
        try:
            response = self._http.post(self.api_url + WEBHOOK_PATH, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("incident API not reachable (%s); notifications stay spooled", exc)
            return False
        if response.is_success:
            now = utcnow()
            self.spool.delivered(notification_id, now)
            if escalation is not None and response.json().get("incident_id"):
                self.spool.escalation_reported(group_key, now)
            return True
        if response.status_code in REFUSED_FOR_GOOD:
            log.error(
                "the incident API refused spooled notification %s for good (HTTP %s): %s",
                notification_id,
                response.status_code,
                response.text[:300],
            )
            self.spool.rejected(notification_id, f"HTTP {response.status_code}")
            return True
        log.warning(
            "incident API answered HTTP %s; notifications stay spooled", response.status_code
        )
        return False

    # -- the response clock ----------------------------------------------------------------
    def escalate_overdue(self, now: datetime) -> list[SpoolEscalation]:
        """Escalate every group overdue while undelivered (once each, retried on failure)."""
        done = []
        for overdue in self.spool.overdue_groups(now):
            key = (overdue.group_key, overdue.episode_start)
            if self._failed_escalations.get(key, now) > now:
                continue  # the target failed recently; the next try waits
            escalation = self._escalate(overdue, now)
            if escalation is None:
                self._failed_escalations[key] = now + self._retry_after()
                continue
            self._failed_escalations.pop(key, None)
            self.spool.record_escalation(overdue, escalation)
            done.append(escalation)
        return done

    def _retry_after(self) -> timedelta:
        return timedelta(seconds=self.settings.escalation_check_seconds)

    def _escalate(self, overdue: Overdue, now: datetime) -> SpoolEscalation | None:
        target = escalation_target(overdue.severity)
        url, body = self._request(overdue, target, now)
        outcome: Literal["sent", "skipped"] = "skipped"
        if url:
            try:
                response = self._http.post(url, json=body)
            except httpx.HTTPError as exc:
                log.error("spool escalation of %s to %s failed: %s", overdue.group_key, target, exc)
                return None
            if not response.is_success:
                log.error(
                    "spool escalation of %s to %s failed: HTTP %s",
                    overdue.group_key,
                    target,
                    response.status_code,
                )
                return None
            outcome = "sent"
        log.warning(
            "incident of group %s not recorded by the API %s after its alert started: "
            "escalation %s (%s)",
            overdue.group_key,
            now - overdue.episode_start,
            outcome,
            target,
        )
        return SpoolEscalation(
            at=now,
            target=target,
            outcome=outcome,
            dedup_key=str(body.get("dedup_key") or overdue.reference),
            episode_start=overdue.episode_start,
        )

    def _request(self, overdue: Overdue, target: str, now: datetime) -> tuple[str, dict[str, Any]]:
        # The same messages as the API's escalator, for an incident the API has not
        # written yet; the spool's reference stands for its id.
        incident = Incident(
            id=overdue.reference,
            group_key=overdue.group_key,
            title=incident_title(overdue.payload),
            severity=overdue.severity.value,
            service=overdue.payload.commonLabels.get("service", "")[:100],
            opened_at=overdue.episode_start,
            ack_due_at=overdue.ack_due_at,
        )
        settings = self.settings
        if target == "pagerduty":
            routing_key = routing_key_for(settings, incident.group_key)
            if not routing_key or not settings.pagerduty_events_url:
                return "", {}
            event = pagerduty_event(incident, routing_key, now)
            return settings.pagerduty_events_url, event
        if not settings.slack_webhook_url:
            return "", {}
        return settings.slack_webhook_url, slack_message(incident, now)


def make_server(host: str, port: int, spool: Spool, forwarder: Forwarder) -> ThreadingHTTPServer:
    """The receiving HTTP server (not started)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "synthdata-incident-spool"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        def do_GET(self) -> None:
            if self.path != "/healthz":
                self._answer(HTTPStatus.NOT_FOUND, {"detail": "not found"})
                return
            self._answer(HTTPStatus.OK, {"status": "ok", "pending": spool.pending_count()})

        def do_POST(self) -> None:
            if self.path != WEBHOOK_PATH:
                self._answer(HTTPStatus.NOT_FOUND, {"detail": "not found"})
                return
            # Read on every call, as the API does: a token replaced in its file is used
            # at once, without a restart that would leave Alertmanager's posts refused.
            token = forwarder.settings.alert_webhook_token
            if not token:
                self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "no webhook token set"})
                return
            scheme, _, presented = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                presented.strip().encode(), token.encode()
            ):
                self._answer(HTTPStatus.UNAUTHORIZED, {"detail": "a valid token is required"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"detail": "bad body size"})
                return
            raw = self.rfile.read(length)
            try:
                payload = AlertmanagerWebhook.model_validate_json(raw)
            except ValidationError as exc:
                self._answer(HTTPStatus.BAD_REQUEST, {"detail": str(exc)[:1000]})
                return
            spooled = spool.append(payload, raw.decode(), utcnow())
            forwarder.wake.set()
            self._answer(HTTPStatus.OK, {"spooled": spooled})

        def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return ThreadingHTTPServer((host, port), Handler)
