"""The HTTP APIs of the live monitoring stack (Prometheus, Alertmanager), for ops commands.

Two failures are kept apart, because the commands report them differently: the
server could not be reached at all (`Unreachable`, exit code 3) or it answered with
an error (`ApiError`, carrying the HTTP status and the server's message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx


class Unreachable(Exception):
    """The server did not answer; the message names it and its URL."""


class ApiError(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class LiveApi:
    """A JSON HTTP API (`name` is what error messages call it)."""

    def __init__(self, name: str, url: str, timeout: float = 15.0) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LiveApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response; raises `Unreachable` or `ApiError` (status >= 400)."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unreachable(f"{self.name} at {self.url}: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _message(response))
        return response

    def get(self, path: str, **params: Any) -> Any:
        """The JSON body (for Prometheus: its `data` member)."""
        body = self.request("GET", path, params=params).json()
        if isinstance(body, dict) and body.get("status") == "success" and "data" in body:
            return body["data"]
        return body

    def query(self, expr: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """A Prometheus instant query: `[{metric, value: [ts, "v"]}]` (a scalar is one item)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        data = self.get("/api/v1/query", **params)
        if data.get("resultType") == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data.get("result") or [])

    def scalar(self, expr: str, at: datetime | None = None) -> float:
        """The sum of an instant query's values (0 when it has no series)."""
        return sum(float(item["value"][1]) for item in self.query(expr, at))


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:300]
    return str(body)[:300]
