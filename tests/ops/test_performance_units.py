"""The performance toolkit's parts on their own: the open-loop generator against a
local server that stalls, durations and periods, the verdict, the run store, and
every PromQL string the report and the comparison send."""

from __future__ import annotations

import http.server
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import promql_parser
import pytest

from synthdata.ops.loadgen import run_load_sync
from synthdata.ops.perf_compare import resolve_window, stored_stats
from synthdata.ops.perf_prometheus import all_expressions
from synthdata.ops.perf_store import latency_histogram, load_runs, save_run
from synthdata.ops.performance import judge
from synthdata.ops.timeparse import parse_duration

STALL_S = 1.0
RATE = 50.0
STALL_ON_REQUEST = 50  # one second into the run


class _StallOnce(http.server.BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1; request number STALL_ON_REQUEST takes STALL_S to answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else head and body wait on delayed ACKs (~40 ms)
    served = 0
    stall = threading.Event()  # set once the stall has happened
    lock = threading.Lock()
    stalled_at: ClassVar[list[int]] = []

    def do_GET(self) -> None:
        with _StallOnce.lock:
            _StallOnce.served += 1
            number = _StallOnce.served
        if number == STALL_ON_REQUEST:
            _StallOnce.stalled_at.append(number)
            _StallOnce.stall.wait(STALL_S)  # a plain sleep, interruptible at teardown
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stalling_server() -> Iterator[str]:
    _StallOnce.served = 0
    _StallOnce.stalled_at.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallOnce)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        _StallOnce.stall.set()
        server.shutdown()
        server.server_close()
        _StallOnce.stall.clear()


def test_requests_held_up_by_a_stall_are_charged_from_their_scheduled_time(
    stalling_server: str,
) -> None:
    # One connection, as a closed-loop client would use: while the server stalls, the
    # requests that fall due queue up in the generator.
    result = run_load_sync(stalling_server, rate=RATE, duration=3.0, connections=1, warmup=0.0)
    assert _StallOnce.stalled_at == [STALL_ON_REQUEST]
    assert result.scheduled == int(RATE * 3.0)
    assert result.ok == result.scheduled and result.error_count == 0

    slowest = max(result.latencies)
    # Measured from the send, only the stalled request is slow (what a closed-loop tool
    # would report); measured from the schedule, every request due during the stall is.
    assert result.service_ms["max"] >= 0.5 * slowest
    held_up = [ms for ms in result.latencies if ms >= 0.5 * slowest]
    due_in_first_half_of_stall = int(RATE * STALL_S / 2)
    assert len(held_up) >= 0.6 * due_in_first_half_of_stall
    # Those requests were waiting, not being served: their service times stay short,
    # so the p99 of the service time is far below the p99 from the schedule.
    assert result.service_ms["p95"] < result.latency_ms["p95"]
    assert result.latency_ms["p99"] >= 0.5 * slowest
    # In completion order the held-up requests form a falling staircase: each was due
    # 1/RATE after the one before and was answered right after it.
    in_order = [ms for ms in result.latencies if ms >= 0.5 * slowest]
    falling = sum(1 for a, b in itertools.pairwise(in_order) if b < a)
    assert falling >= 0.9 * (len(in_order) - 1)


def test_a_service_that_does_not_listen_fails_before_any_load() -> None:
    # Nothing listens on this port once the probe socket is closed.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError):
        run_load_sync(f"http://127.0.0.1:{port}/", rate=10, duration=1, warmup=0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("1h", 3600), ("7d", 604_800), ("500ms", 0.5), ("1.5m", 90)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["10", "ten minutes", "10x", "-5s", "0s", ""])
def test_bad_durations_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"30s, 10m|more than zero"):
        parse_duration(text)


def test_period_words_are_utc_windows() -> None:
    now = datetime(2024, 5, 8, 15, 30, tzinfo=UTC)  # a Wednesday
    today = resolve_window("today", now)
    assert (today.start, today.end) == (datetime(2024, 5, 8, tzinfo=UTC), now)
    yesterday = resolve_window("yesterday", now)
    assert (yesterday.start, yesterday.end) == (
        datetime(2024, 5, 7, tzinfo=UTC),
        datetime(2024, 5, 8, tzinfo=UTC),
    )
    last_week = resolve_window("last-week", now)  # Monday 29 April to Monday 6 May
    assert (last_week.start, last_week.end) == (
        datetime(2024, 4, 29, tzinfo=UTC),
        datetime(2024, 5, 6, tzinfo=UTC),
    )
    day = resolve_window("2024-05-01", now)
    assert day.end - day.start == timedelta(days=1)
    span = resolve_window("2024-05-01..2024-05-03", now)  # both days included
    assert (span.start, span.end) == (
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 4, tzinfo=UTC),
    )
    exact = resolve_window("2024-05-01T10:00..2024-05-01T14:30+02:00", now)
    assert (exact.start, exact.end) == (
        datetime(2024, 5, 1, 10, tzinfo=UTC),  # no offset: UTC
        datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    )
    assert resolve_window("24h", now).start == now - timedelta(days=1)


def test_bad_periods_are_refused() -> None:
    now = datetime(2024, 5, 8, 15, 30, tzinfo=UTC)
    for text in ("last-month", "2024-13-01", "2024-05-03..2024-05-01"):
        with pytest.raises(ValueError):
            resolve_window(text, now)


def _run(**overrides: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "started_at": "2024-05-08T10:00:00+00:00",
        "endpoint": "/api/v1/usage",
        "rps": 100.0,
        "achieved_rps": 100.0,
        "latency_ms": {"p50": 5.0, "p95": 20.0, "p99": 40.0, "max": 60.0},
        "error_rate": 0.0,
        "errors": {},
        "requests": {"scheduled": 6000, "ok": 6000, "failed": 0},
        "generation": None,
    }
    run.update(overrides)
    return run


def _statuses(run: dict[str, Any]) -> dict[str, str]:
    return {check.name: check.status for check in judge(run)}


def test_the_verdict_follows_each_baseline() -> None:
    assert _statuses(_run()) == {
        "p95 latency": "ok",
        "error rate": "ok",
        "throughput": "ok",
        "capacity": "info",  # 100/s: the 1000 RPS capacity baseline is not tested
    }
    slow = _run(latency_ms={"p50": 100.0, "p95": 500.0, "p99": 900.0, "max": 1200.0})
    assert _statuses(slow)["p95 latency"] == "fail"
    errors = _run(error_rate=0.001, errors={"http-503": 6})
    assert _statuses(errors)["error rate"] == "fail"
    assert _statuses(_run(achieved_rps=95.0))["throughput"] == "ok"  # within 5 %
    assert _statuses(_run(achieved_rps=94.9))["throughput"] == "fail"
    capacity = _statuses(_run(rps=1000.0, achieved_rps=990.0))
    assert capacity["capacity"] == "ok"
    assert _statuses(_run(rps=1000.0, achieved_rps=900.0))["capacity"] == "fail"
    small = {"size_class": "small", "input_bytes": 10_000, "rows": 1000}
    assert _statuses(_run(generation={**small, "seconds": 12.0}))["generation (small)"] == "ok"
    assert _statuses(_run(generation={**small, "seconds": 31.0}))["generation (small)"] == "fail"
    failed = {**small, "seconds": 2.0, "error": "JobFailedError: boom"}
    assert _statuses(_run(generation=failed))["generation (small)"] == "fail"


def test_refused_requests_are_named_in_the_error_rate() -> None:
    run = _run(error_rate=0.5, errors={"http-429": 3000})
    check = next(c for c in judge(run) if c.name == "error rate")
    assert check.status == "fail" and "http-429 x3000" in check.detail
    assert "rate limits" in check.detail


def test_histogram_counts_every_latency_once() -> None:
    histogram = latency_histogram([0.5, 1.0, 1.5, 499.0, 500.0, 501.0, 20_000.0])
    counts = dict(zip(histogram["le"], histogram["counts"], strict=True))
    assert sum(histogram["counts"]) == 7
    assert counts[1] == 2 and counts[2] == 1 and counts[500] == 2 and counts[750] == 1
    assert counts["+Inf"] == 1


def test_runs_are_stored_one_file_each_and_read_back_by_time(tmp_path: Path) -> None:
    base = datetime(2024, 5, 8, 10, tzinfo=UTC)
    for hours in (0, 1, 2):
        save_run(_run(started_at=(base + timedelta(hours=hours)).isoformat()), tmp_path)
    (tmp_path / "run-20240508T103000Z-broken.json").write_text("{not json")
    assert len(list(tmp_path.glob("run-*.json"))) == 4
    assert not list(tmp_path.glob(".tmp-*"))  # no partial file left behind
    found = load_runs(tmp_path, base + timedelta(minutes=30), base + timedelta(hours=2))
    assert [r["started_at"] for r in found.runs] == [(base + timedelta(hours=1)).isoformat()]
    assert found.skipped == ["run-20240508T103000Z-broken.json"]
    stored = json.loads((tmp_path / found.runs[0]["file"]).read_text())
    assert stored["schema"] == 1


def test_window_stats_take_the_median_p95_and_pool_the_errors() -> None:
    runs = [
        _run(latency_ms={"p95": p95}, requests={"scheduled": 1000, "failed": failed})
        for p95, failed in ((10.0, 0), (12.0, 1), (400.0, 9))
    ]
    stats = stored_stats(runs)
    assert stats is not None
    assert stats.p95_ms == 12.0  # one odd run does not decide
    assert stats.error_rate == pytest.approx(10 / 3000)
    assert stored_stats([]) is None


def test_every_promql_string_parses() -> None:
    expressions = all_expressions()
    assert len(expressions) >= 8
    for expr in expressions:
        promql_parser.parse(expr)  # raises on a syntax error
