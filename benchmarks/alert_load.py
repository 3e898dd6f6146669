"""Request traffic for the alert flows: a paced stream, and a steady customer load.

`traffic` sends one kind of request at a rate (the compressed flows use it for the
5xx and brute-force bursts). `SteadyLoad` is the healthy background the production
mode and the soak keep up throughout: a few requests per second spread over the API's
customer routes with a valid key, on several connections so that one slow answer
does not stop the stream. A fault may ask it to add a header to some requests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx

# Read-only customer routes (each authenticates the key and reads the database) and
# the liveness probe.
ROUTES = (
    "/api/v1/me",
    "/api/v1/usage",
    "/api/v1/datasets",
    "/api/v1/jobs",
    "/api/v1/models",
    "/healthz",
)


@contextlib.contextmanager
def traffic(
    url: str,
    per_second: float,
    headers: Callable[[], dict[str, str]],
    path: str = "/healthz",
    connections: int = 1,
) -> Iterator[list[int]]:
    """Send requests at about `per_second` in all, over `connections` threads (an
    answer held back, as a 429 in the service's tarpit is, slows only its own
    connection); yield the status codes seen."""
    statuses: list[int] = []
    stop = threading.Event()
    interval = connections / per_second

    def run() -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    statuses.append(client.get(path, headers=headers()).status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                stop.wait(max(0.0, interval - (time.monotonic() - started)))

    threads = [threading.Thread(target=run, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


class SteadyLoad:
    """`per_second` requests over ROUTES with `api_key`, on `connections` threads.

    `extra_headers` (set and cleared by a fault) is called per request and its headers
    are added. Status codes are counted per route ("0" for no answer).
    """

    def __init__(
        self, url: str, api_key: str, per_second: float = 4.0, connections: int = 4
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.per_second = per_second
        self.connections = connections
        self.extra_headers: Callable[[], dict[str, str]] | None = None
        self.statuses: Counter[str] = Counter()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> SteadyLoad:
        for index in range(self.connections):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.statuses)

    def _run(self, index: int) -> None:
        interval = self.connections / self.per_second
        step = index
        # Threads start spread over one interval, so the load is even.
        self._stop.wait(interval * index / self.connections)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                route = ROUTES[step % len(ROUTES)]
                step += self.connections
                headers = {"X-API-Key": self.api_key}
                extra = self.extra_headers
                if extra is not None:
                    headers.update(extra())
                try:
                    status = str(client.get(route, headers=headers).status_code)
                except httpx.HTTPError:
                    status = "0"
                with self._lock:
                    self.statuses[f"{route} {status}"] += 1
                self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
