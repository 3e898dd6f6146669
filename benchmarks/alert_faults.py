"""The runbook's faults against the production-timed stack, one fresh stack each.

Each fault starts on a healthy, warmed-up ProductionStack (benchmarks/alert_production.py)
under SteadyLoad, is held until every page it can cause has had its chance, then
undone; the stack is discarded afterwards, so no alert, rate window or Alertmanager
group of one fault leaks into the next. Measured per fault: the time from the fault's
start to the first notification, the notifications it caused (pages counted by
PagerDuty dedup_key; target exactly 1 per root cause), and the time from the repair to
the page's resolve event. Faults:

- api_down: the API's process group is SIGKILLed, restarted at the end;
- database_down: PostgreSQL goes away for the service and postgres_exporter alike
  (their proxies drop and reset every connection);
- redis_down: the same for Redis (the job queue and rate limits; redis_exporter);
- error_rate: half the steady requests get an injected 500 (`X-Synthdata-Fault`);
- latency: the service's database answers 1 s late (its proxy delays every answer
  block): the service has no delay fault, so the runbook's "slow database" it is;
- brute_force: 25 requests per second with unknown API keys, on 32 connections.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.alert_config import (
    Timing,
    alert_for_seconds,
    longest_critical_for_seconds,
    pages_expected,
)
from benchmarks.alert_flows import BAD_KEY, BRUTE_FORCE_CONNECTIONS, BRUTE_FORCE_PER_SECOND, FAULT
from benchmarks.alert_load import SteadyLoad, traffic
from benchmarks.alert_production import ProductionStack
from benchmarks.alert_receiver import TimedReceiver, distinct_groups, notifications

SLOW_DATABASE_S = 1.0
Undo = Callable[[], None]


@dataclass(frozen=True)
class Fault:
    name: str
    expected: str  # the alert the runbook expects to notify
    begin: Callable[[ProductionStack, SteadyLoad], Undo]


def _api_down(stack: ProductionStack, load: SteadyLoad) -> Undo:
    stack.kill_api()
    return stack.restart_api


def _database_down(stack: ProductionStack, load: SteadyLoad) -> Undo:
    proxies = [p for p in (stack.pg_proxy, stack.db_proxy) if p is not None]
    for proxy in proxies:
        proxy.down()

    def undo() -> None:
        for proxy in proxies:
            proxy.up()

    return undo


def _redis_down(stack: ProductionStack, load: SteadyLoad) -> Undo:
    assert stack.redis_proxy is not None
    stack.redis_proxy.down()
    return stack.redis_proxy.up


def _error_rate(stack: ProductionStack, load: SteadyLoad) -> Undo:
    flip = itertools.count()
    load.extra_headers = lambda: {FAULT: "500"} if next(flip) % 2 == 0 else {}

    def undo() -> None:
        load.extra_headers = None

    return undo


def _latency(stack: ProductionStack, load: SteadyLoad) -> Undo:
    assert stack.db_proxy is not None
    stack.db_proxy.delay_s = SLOW_DATABASE_S

    def undo() -> None:
        assert stack.db_proxy is not None
        stack.db_proxy.delay_s = 0.0

    return undo


def _brute_force(stack: ProductionStack, load: SteadyLoad) -> Undo:
    running = contextlib.ExitStack()
    running.enter_context(
        traffic(
            stack.api_url,
            BRUTE_FORCE_PER_SECOND,
            lambda: {"X-API-Key": BAD_KEY},
            "/api/v1/me",
            BRUTE_FORCE_CONNECTIONS,
        )
    )
    return running.close


FAULTS = {
    fault.name: fault
    for fault in (
        Fault("api_down", "APIDown", _api_down),
        Fault("database_down", "DatabaseConnectionFailure", _database_down),
        Fault("redis_down", "RedisConnectionFailure", _redis_down),
        Fault("error_rate", "HighErrorRate", _error_rate),
        Fault("latency", "APILatencyBudgetBurn", _latency),
        Fault("brute_force", "BruteForceAttack", _brute_force),
    )
}


def settle_seconds(timing: Timing) -> float:
    """How long a fault is held after its first notification: the longest critical
    `for:` plus one scrape, one evaluation and group_wait, so every page the fault can
    cause has had its chance to arrive."""
    return timing.bound_s(longest_critical_for_seconds())


def warm_up(stack: ProductionStack, seconds: float, timeout: float = 600.0) -> None:
    """At least `seconds` of load, and every target scraped and up."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        up = stack.query("up")
        healthy = up and all(float(r["value"][1]) == 1 for r in up)
        if healthy and time.monotonic() - started >= seconds:
            return
        time.sleep(2)
    raise RuntimeError(f"a scrape target is not up after {timeout:.0f} s: {stack.query('up')}")


def run_fault(
    fault: Fault,
    home: Path,
    receiver: TimedReceiver,
    names: list[str],
    timing: Timing,
    warmup_s: float,
    recover_timeout_s: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """One fault on a fresh stack; the measurements (see the module docstring)."""
    expected_for = alert_for_seconds(fault.expected)
    page_timeout = timing.bound_s(expected_for) + 300
    settle = settle_seconds(timing)
    stack = ProductionStack(home, receiver)
    created = time.monotonic()
    try:
        stack.start()
        with SteadyLoad(stack.api_url, stack.api_key) as load:
            warm_up(stack, warmup_s)
            active_at_start = [a.get("alertname") for a in stack.active_alerts()]
            before = load.snapshot()
            start = time.monotonic()
            log(f"{fault.name}: fault on (expecting {fault.expected})")
            undo = fault.begin(stack, load)
            first = None
            while time.monotonic() < start + page_timeout and first is None:
                groups = distinct_groups(notifications(receiver, names, start))
                first = groups[0] if groups else None
                time.sleep(0.2)
            hold_until = (first["t"] if first else start + page_timeout) + settle
            log(f"{fault.name}: first notification {_brief(first, start)}; hold {settle:.0f} s")
            time.sleep(max(0.0, hold_until - time.monotonic()))
            repaired = time.monotonic()
            undo()
            log(f"{fault.name}: repaired; waiting for the resolve events")
            episode = notifications(receiver, names, start)
            open_keys = {n["key"] for n in distinct_groups(episode)}
            while time.monotonic() < repaired + recover_timeout_s and open_keys:
                resolved = {
                    n["key"]
                    for n in notifications(receiver, names, repaired)
                    if n["action"] == "resolve"
                }
                open_keys -= resolved
                time.sleep(1)
            ended = time.monotonic()
            statuses = _difference(load.snapshot(), before)
        seen = notifications(receiver, names, start, ended)
        groups = distinct_groups(seen)
        resolves = [n for n in seen if n["action"] == "resolve" and n["t"] >= repaired]
        # A group of one cause names several alerts: the first to fire had the shortest.
        first_for = (
            min(alert_for_seconds(name) for name in first["alertnames"])
            if first and first["alertnames"]
            else None
        )
        expected_hits = [g for g in groups if fault.expected in g["alertnames"]]
        return {
            "fault": fault.name,
            "expected_alert": fault.expected,
            "expected_for_s": expected_for,
            "expected_floor_s": timing.floor_s(expected_for),
            "expected_bound_s": timing.bound_s(expected_for),
            "fire_s": round(first["t"] - start, 1) if first else None,
            "first_alertnames": first["alertnames"] if first else [],
            "first_kind": first["kind"] if first else None,
            "first_bound_s": timing.bound_s(first_for) if first_for is not None else None,
            "expected_fire_s": round(expected_hits[0]["t"] - start, 1) if expected_hits else None,
            "pages_expected": pages_expected(fault.expected),
            "pages": len(
                {n["key"] for n in seen if n["kind"] == "pagerduty" and n["action"] == "trigger"}
            ),
            "groups": len(groups),
            "group_alertnames": [g["alertnames"] for g in groups],
            "held_s": round(repaired - start, 1),
            "resolve_s": round(resolves[0]["t"] - repaired, 1) if resolves else None,
            "recover_wait_s": recover_timeout_s,
            "unresolved_after_s": recover_timeout_s if open_keys else None,
            "unresolved": [g["alertnames"] for g in groups if g["key"] in open_keys],
            "resolve_by_group": [
                {
                    "alertnames": g["alertnames"],
                    "resolve_s": next(
                        (round(n["t"] - repaired, 1) for n in resolves if n["key"] == g["key"]),
                        None,
                    ),
                }
                for g in groups
            ],
            "notifications": [_row(n, start) for n in seen],
            "warmup_notifications": [
                _row(n, created) for n in notifications(receiver, names, created, start)
            ],
            "active_at_fault_start": active_at_start,
            "load_statuses": statuses,
        }
    finally:
        stack.stop()


def _row(note: dict[str, Any], origin: float) -> dict[str, Any]:
    return {
        "t_s": round(note["t"] - origin, 1),
        "kind": note["kind"],
        "action": note["action"],
        "alertnames": note["alertnames"],
        "text": note["text"],
    }


def _brief(note: dict[str, Any] | None, origin: float) -> str:
    if note is None:
        return "none"
    return f"{note['kind']} {'/'.join(note['alertnames'])} after {note['t'] - origin:.1f} s"


def _difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v - before.get(k, 0)}
