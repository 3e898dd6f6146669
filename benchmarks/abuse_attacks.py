"""The resource attacks of issue 13 (items 1-7), each as one or more timed phases.

An attack is a function `(target, phase, payloads) -> None`. Everything it does
happens inside `with phase("what"):` blocks; the benchmark measures each phase's
window (peak RSS, the bystander's latency) and the attacker's statuses recorded in it.
Each is bounded in time: a job is cancelled after `JOB_BOUND_S`, a request gives up
after 60 s, a flood lasts `FLOOD_S`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.abuse_http import FloodResult, chunked, flood, request_head, send_raw
from benchmarks.abuse_payloads import (
    CHUNKED_BODY_BYTES,
    FIELDS_BODY_BYTES,
    WIDE_JOB_COLUMNS,
    Payloads,
    huge_json_body,
    multipart_text_fields,
    new_boundary,
)
from benchmarks.abuse_target import Target

JOB_BOUND_S = 60.0
MIN_WINDOW_S = 3.0  # the shortest window a phase is judged on (60 bystander requests)
PART_BOUND_S = 40.0  # how long the jobs may take to write PART_BYTES
PART_BYTES = 8 * 1024**2  # a part well under way: cancelling then must leave nothing
# Long enough for the slowest flooded route (/status, ~180 requests/s here) to pass the
# default per-source limit of 3,000 requests a minute.
FLOOD_S = 25.0
SCRAPE_S = 15.0
HEADER_BYTES = 64 * 1024**2
MONITORING_SOURCE = "127.0.0.4"


@dataclass
class Phase:
    """One timed step of an attack: when it ran, the window it is judged on (at least
    `MIN_WINDOW_S`), and what the attacker got in it."""

    name: str
    start: float
    end: float = 0.0
    window_end: float = 0.0
    statuses: list[str] = field(default_factory=list)


class Phases:
    """Opens timed phases on a target; `with phases("name"):` times one."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.done: list[Phase] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[Phase]:
        print(f"[{time.strftime('%H:%M:%S')}]   {name}", flush=True)
        first = len(self.target.statuses)
        phase = Phase(name, time.monotonic())
        try:
            yield phase
        finally:
            phase.end = time.monotonic()
            phase.statuses = self.target.statuses[first:]
            self.done.append(phase)
            # A short phase is followed by a quiet moment that belongs to it: the
            # bystander gets 60 requests to tell, and its after-effects count.
            time.sleep(max(0.0, phase.start + MIN_WINDOW_S - phase.end))
            phase.window_end = time.monotonic()


PhaseFn = Callable[[str], AbstractContextManager[Phase]]


def _run_job(t: Target, what: str, body: dict[str, Any], bound: float = JOB_BOUND_S) -> None:
    """Start a job, wait for it (`bound` s at most), cancel it if it still runs."""
    job_id = t.start_job(f"POST job ({what})", body)
    if job_id is None:
        return
    job = t.wait_job(job_id, bound)
    job = t.cancel_if_running(job_id, what)
    t.record(f"{what} ended", job.get("state", "unknown"))
    if job.get("error"):
        t.notes.append(f"{what}: {str(job['error'])[:160]}")


def _record_flood(t: Target, what: str, result: FloodResult) -> None:
    counts = ", ".join(f"{s} x{n}" for s, n in result.statuses.most_common())
    t.record(what, counts or "no answer")
    t.notes.append(f"{what}: {result.requests:,} answers, {result.rate:,.0f}/s")


def control(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """No attack: the bystander alone for as long as a short attack, the noise floor."""
    with phase("nothing (the machine's noise)"):
        time.sleep(FLOOD_S)


def parquet_bomb(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 1: a small zstd Parquet file of 20M rows, uploaded and fitted."""
    bomb = payloads.bomb
    t.notes.append(f"bomb: {bomb.stat().st_size / 1024:,.0f} KB on disk, 20,000,000 rows")
    with phase("upload the bomb"):
        dataset = t.upload(bomb)
    if dataset is not None:
        with phase(f"fit it (a job, cancelled after {JOB_BOUND_S:.0f} s)"):
            _run_job(t, "bomb job", {"dataset_id": dataset, "rows": 1000})


def wide_columns(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 2: 100,000 columns in 1.3 MB, read back; then a job on 3,000 columns."""
    with phase("upload 100,000 columns (1.3 MB)"):
        dataset = t.upload(payloads.wide)
    with phase("dataset GETs (5 lists, 5 reads)"):
        largest = 0
        paths = ["/api/v1/datasets"] * 5 + ([f"/api/v1/datasets/{dataset}"] * 5 if dataset else [])
        for path in paths:
            response = t.call(f"GET {path.split('/')[-1][:12]}", "GET", path, timeout=30)
            if response is not None:
                largest = max(largest, len(response.content))
        t.notes.append(f"largest dataset GET answer: {largest:,} bytes")
    with phase(f"3,000-column job (cancelled after {JOB_BOUND_S:.0f} s)"):
        wide = t.upload(payloads.wide_table(WIDE_JOB_COLUMNS))
        if wide is not None:
            _run_job(t, "3,000-column job", {"dataset_id": wide, "rows": 1000})
    limit = _column_limit()
    if wide is None and limit and limit < WIDE_JOB_COLUMNS:
        # Refused: the widest table the server takes is what an attacker sends instead.
        with phase(f"{limit:,}-column job, the widest allowed (cancelled after 60 s)"):
            widest = t.upload(payloads.wide_table(limit))
            if widest is not None:
                _run_job(t, f"{limit:,}-column job", {"dataset_id": widest, "rows": 1000})


def _column_limit() -> int | None:
    """The tree's limit on a dataset's columns, if its settings have one."""
    from synthdata.service.core.settings import Settings

    for name, info in Settings.model_fields.items():
        if "column" in name and name.startswith("max") and isinstance(info.default, int):
            return int(info.default)
    return None


def header_bomb(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 3: one 64 MB request header on /healthz, no authentication."""
    host, port = t.server
    head = request_head("GET", "/healthz", f"{host}:{port}")[:-2]  # keep the header open
    filler = b"X-Filler: " + b"a" * HEADER_BYTES + b"\r\n\r\n"
    with phase("one 64 MB header on /healthz"):
        result = send_raw(t.server, t.attacker_source, head, [filler], timeout=60)
        t.record("GET /healthz", result.label)
        t.notes.append(
            f"header: {result.bytes_sent / 1024**2:,.1f} MiB sent before the answer,"
            f" {result.seconds:.1f} s"
        )


def multipart_fields(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 4: 120,000 text fields of 1 KB in one upload; a 256 MB body with no length."""
    host, port = t.server
    boundary = new_boundary()
    head = request_head(
        "POST",
        "/api/v1/datasets",
        f"{host}:{port}",
        [
            f"X-API-Key: {t.attacker_key}",
            f"Content-Type: multipart/form-data; boundary={boundary}",
            "Transfer-Encoding: chunked",
        ],
    )
    with phase("120,000 text fields x 1 KB (multipart, chunked)"):
        result = send_raw(
            t.server, t.attacker_source, head, chunked(multipart_text_fields(boundary)), 60
        )
        t.record("POST /datasets", result.label)
        t.facts["fields_sent_share"] = result.bytes_sent / FIELDS_BODY_BYTES
        t.notes.append(
            f"fields: {result.bytes_sent / 1024**2:,.0f} MiB sent, {result.seconds:.1f} s"
        )
    head = request_head(
        "POST",
        "/api/v1/jobs",
        f"{host}:{port}",
        [
            f"X-API-Key: {t.attacker_key}",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
    )
    with phase("256 MB JSON body, chunked, no length (POST /jobs)"):
        result = send_raw(t.server, t.attacker_source, head, chunked(huge_json_body()), 60)
        t.record("POST /jobs", result.label)
        t.facts["json_sent_share"] = result.bytes_sent / CHUNKED_BODY_BYTES
        t.notes.append(f"body: {result.bytes_sent / 1024**2:,.0f} MiB sent, {result.seconds:.1f} s")


def disk_leaks(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 5: two jobs cancelled mid-run and one that fails; what stays on disk."""
    with phase("upload a 20,000-row table"):
        dataset = t.upload(payloads.mixed)
    if dataset is None:
        return
    with phase("two 20M-row jobs, cancelled once they hold 8 MiB on disk"):
        body = {"dataset_id": dataset, "rows": 20_000_000, "synthesizer": "copula"}
        jobs = [t.start_job(f"POST job {i}", body) for i in (1, 2)]
        deadline = time.monotonic() + PART_BOUND_S
        for job_id in filter(None, jobs):
            size = t.job_dir_bytes(job_id)
            while size < PART_BYTES and time.monotonic() < deadline:
                time.sleep(0.5)
                size = t.job_dir_bytes(job_id)
            t.record(
                "job ended", t.cancel_if_running(job_id, "20M-row job").get("state", "unknown")
            )
            t.notes.append(f"cancelled with {size / 1024**2:,.1f} MiB in its folder")
    with phase("a job that fails (a condition no row meets)"):
        body = {"dataset_id": dataset, "rows": 2_000_000, "conditions": {"region": "Atlantis"}}
        _run_job(t, "failing job", body)


def metrics_scrapers(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 6: 20 concurrent scrapers of the metrics, anonymous and with access."""
    host, port = t.server
    anonymous = t.call("one anonymous GET /metrics", "GET", "/metrics", timeout=30, anonymous=True)
    if anonymous is not None:
        leaks = t.bystander_id in anonymous.text
        t.notes.append(
            f"anonymous /metrics on the API port: {anonymous.status_code},"
            f" {len(anonymous.content):,} bytes, names the bystander's customer id: {leaks}"
        )
    t.notes.append(f"metrics found: {t.metrics.mode}")
    request = request_head("GET", "/metrics", f"{host}:{port}")
    with phase(f"20 anonymous scrapers on the API port's /metrics, {SCRAPE_S:.0f} s"):
        _record_flood(
            t,
            "GET /metrics",
            flood(t.server, t.attacker_source, lambda i: request, connections=20, seconds=SCRAPE_S),
        )
    if t.metrics.url and (t.metrics.headers or not t.metrics.url.startswith(t.api_url)):
        # Scrapers with access come from the monitoring host, an address of their own,
        # so the anonymous flood's per-source limit is not theirs.
        with httpx.Client(headers=t.metrics.headers, timeout=30) as http:
            body = http.get(t.metrics.url).text
        t.notes.append(
            f"with access: {len(body):,} bytes, names the bystander's customer id:"
            f" {t.bystander_id in body}"
        )
        where = t.metrics.url.removeprefix("http://").split("/")[0]
        m_host, m_port = where.rsplit(":", 1)
        headers = [f"{k}: {v}" for k, v in t.metrics.headers.items()]
        scrape = request_head("GET", "/metrics", where, headers)
        with phase(f"20 scrapers with access ({t.metrics.mode}), {SCRAPE_S:.0f} s"):
            result = flood(
                (m_host, int(m_port)),
                MONITORING_SOURCE,
                lambda i: scrape,
                connections=20,
                seconds=SCRAPE_S,
            )
            _record_flood(t, "GET metrics", result)


def source_floods(t: Target, phase: PhaseFn, payloads: Payloads) -> None:
    """Item 7: floods from one address of the public probes, metrics and the webhook."""
    host, port = t.server
    here = f"{host}:{port}"
    status = request_head("GET", "/status", here)
    readyz = request_head("GET", "/readyz", here)
    metrics_where = (t.metrics.url or f"{t.api_url}/metrics").removeprefix("http://").split("/")[0]
    m_host, m_port = metrics_where.rsplit(":", 1)
    alert = (
        b'{"version":"4","groupKey":"g","status":"firing","alerts":'
        b'[{"status":"firing","labels":{"alertname":"Guess"},"fingerprint":"f"}]}'
    )

    def metrics_guess(i: int) -> bytes:
        return request_head("GET", "/metrics", metrics_where, [f"Authorization: Bearer guess{i}"])

    def webhook_guess(i: int) -> bytes:
        headers = [
            f"Authorization: Bearer guess{i}",
            "Content-Type: application/json",
            f"Content-Length: {len(alert)}",
        ]
        return request_head("POST", "/api/v1/alerts/webhook", here, headers) + alert

    floods: list[tuple[str, tuple[str, int], Callable[[int], bytes]]] = [
        ("GET /status", t.server, lambda i: status),
        ("GET /readyz", t.server, lambda i: readyz),
        ("GET metrics, wrong tokens", (m_host, int(m_port)), metrics_guess),
        ("POST /alerts/webhook, wrong tokens", t.server, webhook_guess),
    ]
    # Each flood from an address of its own (127.0.0.10, .11, ...), so that one flood's
    # limit or lockout is not what stops the next.
    for i, (what, server, make) in enumerate(floods):
        source = f"127.0.0.{10 + i}"
        with phase(f"flood: {what}, {FLOOD_S:.0f} s, 16 connections from {source}"):
            _record_flood(t, what, flood(server, source, make, seconds=FLOOD_S))


ATTACKS: dict[str, tuple[str, Callable[[Target, PhaseFn, Payloads], None]]] = {
    "control": ("0. Control: no attack", control),
    "bomb": ("1. Parquet row bomb", parquet_bomb),
    "wide": ("2. Wide tables", wide_columns),
    "header": ("3. 64 MB request header", header_bomb),
    "multipart": ("4. Multipart fields and chunked bodies", multipart_fields),
    "disk": ("5. Disk left by cancelled and failed jobs", disk_leaks),
    "metrics": ("6. Concurrent metrics scrapers", metrics_scrapers),
    "floods": ("7. Floods from one source", source_floods),
}
