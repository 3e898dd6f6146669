"""An open-loop HTTP/1.1 load generator: constant arrival rate, keep-alive connections.

Request i is due at ``start + i / rate`` whatever happened before it. A due request
goes out on an idle connection at once; when every connection is busy it waits for
one, and its latency is still counted from the time it was due. So a server that
stalls is charged for every request it held up, not only for the one it was
serving (no coordinated omission, unlike closed-loop tools such as wrk). The time
from the actual send is kept apart as the service time: the two differ exactly by
the time a request waited for its turn.

It is deliberately lean (raw asyncio protocols, a minimal response parser, uvloop
when installed) so that it leaves the CPU to the server; it reports its own CPU use.
`synthdata ops performance-benchmark` and `benchmarks/service_benchmark.py` both
drive it.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

_TICK_S = 0.001  # uvloop rounds timers to whole milliseconds
_PROGRESS_EVERY_S = 0.1
_HEADER_END = b"\r\n\r\n"

# Called now and then with (requests answered or failed, requests measured in all).
ProgressCallback = Callable[[int, int], None]


@dataclass
class LoadResult:
    """What one load run measured; latencies in milliseconds from the due time."""

    url: str
    target_rate: float
    duration_s: float
    connections: int
    event_loop: str
    scheduled: int = 0
    completed: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    achieved_rate: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    service_ms: dict[str, float] = field(default_factory=dict)
    max_backlog: int = 0
    client_cpu_s: float = 0.0
    client_cpu_percent: float = 0.0
    # Every measured latency (ms from the due time), in completion order; left out of
    # `summary()` because a long run holds hundreds of thousands of them.
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        """Everything but the raw latencies, as plain JSON-able data."""
        data = asdict(self)
        del data["latencies"]
        return data


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p95/p99/p99.9/max and mean of `values` (nearest-rank), rounded to 0.01."""
    if not values:
        return {}
    ordered = sorted(values)
    n = len(ordered)

    def rank(q: float) -> float:
        return ordered[min(n - 1, max(0, math.ceil(q * n) - 1))]

    stats = {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "p99_9": rank(0.999),
        "max": ordered[-1],
        "mean": sum(ordered) / n,
    }
    return {k: round(v, 2) for k, v in stats.items()}


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying at most one request at a time."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due: float | None = None  # due time of the request in flight
        self.sent_at = 0.0  # when that request actually went out
        self.expect: int | None = None  # bytes of head + body once the head is parsed
        self.status = 0
        self.dead = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.sent_at = time.perf_counter()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.expect is None:
            end = self.buffer.find(_HEADER_END)
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                self.status = int(head[0].split(" ", 2)[1])
            except (IndexError, ValueError):
                self._fail("bad-response")
                return
            length = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                self._fail("no-content-length")
                return
            self.expect = end + len(_HEADER_END) + length
        if len(self.buffer) >= self.expect:
            del self.buffer[: self.expect]
            self.expect = None
            due, self.due = self.due, None
            if due is not None:
                self.run.finished(self, due, self.sent_at, self.status)

    def _fail(self, reason: str) -> None:
        due, self.due = self.due, None
        if due is not None:
            self.run.failed(due, reason)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.dead = True
        due, self.due = self.due, None
        if due is not None:
            self.run.failed(due, "connection-lost")
        elif not self.run.stopping:  # closed while idle (keep-alive timeout): replace it
            self.run.closed_idle(self)


class _Run:
    """The schedule, the idle connections, the backlog of due requests, the counts."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.idle: collections.deque[_Connection] = collections.deque()
        self.backlog: collections.deque[float] = collections.deque()
        self.recording_from = math.inf  # due times before this are warm-up
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.max_backlog = 0
        self.stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    def _record(self, due: float) -> bool:
        return due >= self.recording_from

    @property
    def done(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    def finished(self, conn: _Connection, due: float, sent_at: float, status: int) -> None:
        if self._record(due):
            now = time.perf_counter()
            self.latencies.append((now - due) * 1000.0)
            self.service.append((now - sent_at) * 1000.0)
            self.statuses[status] += 1
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def failed(self, due: float, reason: str) -> None:
        if self._record(due):
            self.errors[reason] += 1
        if not self.stopping:
            self._tasks.add(asyncio.get_running_loop().create_task(self._replace()))

    def closed_idle(self, conn: _Connection) -> None:
        if conn in self.idle:
            self.idle.remove(conn)
        self._tasks.add(asyncio.get_running_loop().create_task(self._replace()))

    async def _replace(self) -> None:
        try:
            conn = await self.connect()
        except OSError:
            self.errors["connect-failed"] += 1
            return
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    async def connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        transport, conn = await loop.create_connection(
            lambda: _Connection(self), self.host, self.port
        )
        conn.transport = transport  # uvloop may call connection_made only after returning
        return conn

    def dispatch(self, due: float) -> None:
        while self.idle and self.idle[0].dead:
            self.idle.popleft()
        if self.idle:
            self.idle.popleft().send(due)
        else:
            self.backlog.append(due)
            self.max_backlog = max(self.max_backlog, len(self.backlog))


def _request_bytes(url: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Accept: */*"]
    lines += headers
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Ticker:
    """Calls the progress callback at most every `_PROGRESS_EVERY_S` seconds."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback, self.total, self.last = callback, total, 0.0

    def __call__(self, done: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if self.callback is not None and (force or now - self.last >= _PROGRESS_EVERY_S):
            self.last = now
            self.callback(min(done, self.total), self.total)


async def run_load(
    url: str,
    *,
    rate: float,
    duration: float,
    headers: list[str] | None = None,
    connections: int = 64,
    warmup: float = 2.0,
    drain: float = 5.0,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Send GET `url` at `rate` per second for `warmup` + `duration` seconds; measure the
    last `duration` seconds (requests still unanswered `drain` s after the end are errors).
    Only http:// URLs (the generator speaks plain HTTP/1.1)."""
    if urlsplit(url).scheme != "http":
        raise ValueError(f"the load generator speaks plain http:// only, not {url!r}")
    host, port, request = _request_bytes(url, headers or [])
    run = _Run(host, port, request)
    conns = [await run.connect() for _ in range(connections)]
    run.idle.extend(conns)
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    result = LoadResult(url, rate, duration, connections, loop_name)

    start = time.perf_counter() + 0.05
    run.recording_from = start + warmup
    total = int((warmup + duration) * rate)
    recorded = total - int(warmup * rate)
    tick = _Ticker(progress, recorded)
    sent = 0
    cpu_start: float | None = None
    while sent < total:
        now = time.perf_counter()
        if cpu_start is None and now >= run.recording_from:
            cpu_start = time.process_time()
        due_count = min(total, int((now - start) * rate) + 1) if now >= start else 0
        while sent < due_count:
            run.dispatch(start + sent / rate)
            sent += 1
        tick(run.done)
        await asyncio.sleep(_TICK_S)
    cpu_start = cpu_start if cpu_start is not None else time.process_time()
    end = start + total / rate
    deadline = time.perf_counter() + drain
    while run.done < recorded:
        if time.perf_counter() > deadline:
            break
        tick(run.done)
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu_start
    elapsed = max(time.perf_counter(), end) - run.recording_from

    run.stopping = True
    for conn in conns + list(run.idle):
        if conn.transport is not None:
            conn.transport.close()
    lost = recorded - run.done
    if lost > 0:
        run.errors["timeout"] += lost
    tick(recorded, force=True)
    for status, count in run.statuses.items():
        if status >= 400:
            run.errors[f"http-{status}"] += count
    result.scheduled = recorded
    result.completed = len(run.latencies)
    result.ok = sum(c for s, c in run.statuses.items() if s < 400)
    result.errors = dict(run.errors)
    result.achieved_rate = round(result.ok / duration, 1)
    result.latency_ms = percentiles(run.latencies)
    result.service_ms = percentiles(run.service)
    result.latencies = run.latencies
    result.max_backlog = run.max_backlog
    result.client_cpu_s = round(cpu, 3)
    result.client_cpu_percent = round(100.0 * cpu / elapsed, 1) if elapsed > 0 else 0.0
    return result


def run_load_sync(url: str, **options: Any) -> LoadResult:
    """`run_load` on a fresh event loop (uvloop's when it is installed)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run_load(url, **options))
    return uvloop.run(run_load(url, **options))
