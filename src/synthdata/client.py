"""A small Python client for the REST service.

client = synthdata.Client("http://127.0.0.1:8000", api_key="sdk_...")
dataset = client.upload("customers.csv")
job = client.generate(dataset_id=dataset["id"], rows=10_000, seed=7)   # waits
client.download(job["id"], "synthetic.csv")
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import httpx

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.engine.errors import SynthDataError

FINAL_STATES = ("succeeded", "failed", "cancelled")


class ServiceError(SynthDataError):
    """The service answered with an error; carries its problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


class JobFailedError(SynthDataError):
    """A job ended failed or cancelled while `generate(wait=True)` waited for it."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        super().__init__(f"job {job['id']} {job['state']}: {job.get('error') or ''}".strip())


class Client:
    """Talks to `/api/v1` with an API key; `http` lets tests pass their own httpx client."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._own = http is None
        self._http = http or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        response = self._http.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        if response.status_code >= 400:
            self._raise(response)
        return response

    def me(self) -> dict[str, Any]:
        """Who the key belongs to."""
        return dict(self._request("GET", "/me").json())

    def upload(self, path: str | Path, *, name: str | None = None) -> dict[str, Any]:
        """Upload a CSV or Parquet file; returns the dataset with its inferred schema."""
        file = Path(path)
        data = {"name": name} if name else None
        with file.open("rb") as handle:
            response = self._request(
                "POST", "/datasets", files={"file": (file.name, handle)}, data=data
            )
        return dict(response.json())

    def job(self, job_id: str) -> dict[str, Any]:
        """A job's current state."""
        return dict(self._request("GET", f"/jobs/{job_id}").json())

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job."""
        return dict(self._request("POST", f"/jobs/{job_id}/cancel").json())

    def generate(
        self,
        *,
        rows: int,
        dataset_id: str | None = None,
        model_id: str | None = None,
        synthesizer: str = DEFAULT_SYNTHESIZER,
        format: str = "csv",
        seed: int | None = None,
        wait: bool = True,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Start a generation job; with `wait`, poll until it is final.

        A fresh idempotency key is sent by default, so retrying this call after a
        network error can never start the job twice.
        """
        body: dict[str, Any] = {"rows": rows, "synthesizer": synthesizer, "format": format}
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        if model_id is not None:
            body["model_id"] = model_id
        if seed is not None:
            body["seed"] = seed
        key = idempotency_key or uuid.uuid4().hex
        job = dict(
            self._request("POST", "/jobs", json=body, headers={"Idempotency-Key": key}).json()
        )
        return self.wait(job["id"], poll_interval=poll_interval, timeout=timeout) if wait else job

    def wait(
        self, job_id: str, *, poll_interval: float = 0.5, timeout: float | None = None
    ) -> dict[str, Any]:
        """Poll a job until it succeeds; raise `JobFailedError` if it fails or is cancelled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] == "succeeded":
                return job
            if job["state"] in FINAL_STATES:
                raise JobFailedError(job)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll_interval)

    def download(self, job_id: str, path: str | Path) -> Path:
        """Stream a succeeded job's result to `path` (written whole or not at all)."""
        from synthdata.engine.io import atomic_path

        target = Path(path)
        headers = self._headers
        with self._http.stream("GET", f"/api/v1/jobs/{job_id}/result", headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                self._raise(response)
            with atomic_path(target) as tmp, tmp.open("wb") as sink:
                for block in response.iter_bytes():
                    sink.write(block)
        return target

    @staticmethod
    def _raise(response: httpx.Response) -> NoReturn:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase, "detail": response.text[:200]}
        raise ServiceError(response.status_code, problem)
