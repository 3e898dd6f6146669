"""Local stand-ins for PagerDuty, Slack and the incident webhook, and what they were sent.

One HTTP server takes every notification Alertmanager sends (PagerDuty's Events API at
/pagerduty, both Slack webhooks at /slack, the incident webhook at /webhook) and keeps
each request with the monotonic time it arrived. `notifications` turns those requests
into what an on-call person saw: pages (PagerDuty events, one incident per dedup_key)
and Slack messages, each with the alert names it speaks of.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fixtures.alertmanager import Receiver

from benchmarks.alert_config import names_in


class TimedReceiver(Receiver):
    """The test receiver, with the monotonic time each request arrived ("t")."""

    def first(
        self, path: str, match: Callable[[dict[str, Any]], bool], after: float, timeout: float
    ) -> dict[str, Any]:
        return self.wait_for(path, lambda body: match(body), timeout=timeout, after=after)[0]

    def wait_for(
        self,
        path: str,
        match: Callable[[dict[str, Any]], bool] = lambda body: True,
        timeout: float = 45.0,
        after: float = 0.0,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [
                r
                for r in list(self.requests)
                if r["path"] == path and r["t"] >= after and match(r["body"])
            ]
            if got:
                return got
            time.sleep(0.05)
        seen = [(r["path"], r["body"]) for r in self.requests if r["t"] >= after]
        raise AssertionError(f"no matching request to {path} in {timeout}s: {seen}")


def start_receiver() -> tuple[TimedReceiver, ThreadingHTTPServer]:
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": json.loads(body),
                    "t": arrived,
                }
            )
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return TimedReceiver(
        url=f"http://127.0.0.1:{server.server_address[1]}", requests=requests
    ), server


def notifications(
    receiver: Receiver, names: list[str], after: float, before: float = float("inf")
) -> list[dict[str, Any]]:
    """Every PagerDuty event and Slack message that arrived in [after, before), oldest
    first, as {t, kind, action, key, alertnames, text}. `key` identifies the incident or
    message thread: PagerDuty's dedup_key (one per Alertmanager group), Slack's channel
    and title. Alert names are found in the text, whatever the templates print."""
    out = []
    for request in list(receiver.requests):
        t = request.get("t", 0.0)
        if not after <= t < before:
            continue
        body = request["body"]
        if request["path"] == "/pagerduty":
            text = body.get("payload", {}).get("summary", "")
            out.append(
                {
                    "t": t,
                    "kind": "pagerduty",
                    "action": body.get("event_action", ""),
                    "key": body.get("dedup_key", ""),
                    "routing_key": body.get("routing_key", ""),
                    "text": text,
                    "alertnames": names_in(text, names),
                }
            )
        elif request["path"] == "/slack":
            attachment = (body.get("attachments") or [{}])[0]
            title = attachment.get("title", "")
            out.append(
                {
                    "t": t,
                    "kind": "slack",
                    "action": "resolve" if title.startswith("Resolved") else "trigger",
                    "key": f"{body.get('channel', '')} {title.split(':', 1)[-1].strip()}",
                    "channel": body.get("channel", ""),
                    "text": title,
                    "alertnames": names_in(f"{title}\n{attachment.get('text', '')}", names),
                }
            )
    return sorted(out, key=lambda n: n["t"])


def distinct_groups(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alert groups someone was told about (firing only): one per PagerDuty
    dedup_key, plus one per Slack thread whose alerts no page already named (a
    critical security alert goes to PagerDuty and to Slack: that is one group)."""
    firing = [n for n in seen if n["action"] == "trigger"]
    pages: dict[str, dict[str, Any]] = {}
    for n in firing:
        if n["kind"] == "pagerduty":
            pages.setdefault(n["key"], n)
    paged = {frozenset(n["alertnames"]) for n in pages.values()}
    slack: dict[str, dict[str, Any]] = {}
    for n in firing:
        if n["kind"] == "slack" and frozenset(n["alertnames"]) not in paged:
            slack.setdefault(n["key"], n)
    return sorted([*pages.values(), *slack.values()], key=lambda n: n["t"])
