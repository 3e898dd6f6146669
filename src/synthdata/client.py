"""A small Python client for the REST service.

client = synthdata.Client("http://127.0.0.1:8000", api_key="sdk_...")
client.generate("customers.csv", rows=10_000, output="synthetic.csv", progress=True)

or step by step:

dataset = client.upload("customers.csv")
job = client.generate(dataset_id=dataset["id"], rows=10_000, seed=7)   # waits
client.download(job["id"], "synthetic.csv")

Linked tables (a folder or a .zip of CSV/Parquet files, one table per file) take a
`scale` instead of `rows`, and come back as a zip of tables whose keys join:

client.generate("shop/", scale=0.5, output="synthetic-shop.zip")
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NoReturn, overload

import httpx

from synthdata._client_parts import fetch_parts
from synthdata._client_progress import ProgressPrinter
from synthdata.engine.errors import SynthDataError

FINAL_STATES = ("succeeded", "failed", "cancelled")
PAGE_SIZE = 200  # the most the service returns at once
# What a folder of linked tables is uploaded with: its tables, and the keys if given.
_TABLE_FILES = (".csv", ".tsv", ".parquet", ".pq")
_METADATA_FILE = "metadata.json"

Progress = bool | Callable[[dict[str, Any]], None]
"""`True` prints progress to stderr; a callable is given each job state it polls."""


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
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        if url is None:  # SYNTHDATA_API_URL, else the port the server listens on
            from synthdata.service.core.settings import Settings

            url = Settings().api_url
        api_key = api_key or os.environ.get("SYNTHDATA_API_KEY")
        if not api_key:
            raise ValueError("no API key: pass api_key= or set SYNTHDATA_API_KEY")
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

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return dict(self._request("GET", path, params=_present(**params)).json())

    def _list(self, path: str, limit: int | None, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list, newest first (at most `limit`), page by page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while limit is None or len(items) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(items))
            page = self._get(path, limit=size, cursor=cursor, **params)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return items

    def me(self) -> dict[str, Any]:
        """Who the key belongs to."""
        return self._get("/me")

    def upload(self, path: str | PathLike[str], *, name: str | None = None) -> dict[str, Any]:
        """Upload a CSV or Parquet file, or linked tables (a .zip of them, or a folder,
        sent as a zip); returns the dataset with its inferred schema (and keys)."""
        file = Path(path)
        data = {"name": name} if name else None
        if file.is_dir():
            with _zipped(file) as archive:
                response = self._request(
                    "POST", "/datasets", files={"file": (f"{file.name}.zip", archive)}, data=data
                )
            return dict(response.json())
        with file.open("rb") as handle:
            response = self._request(
                "POST", "/datasets", files={"file": (file.name, handle)}, data=data
            )
        return dict(response.json())

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        """One dataset, with its schema."""
        return self._get(f"/datasets/{dataset_id}")

    def datasets(
        self, *, limit: int | None = None, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Your datasets, newest first (all of them, or the newest `limit`)."""
        return self._list("/datasets", limit, customer_id=customer_id)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and its stored file."""
        self._request("DELETE", f"/datasets/{dataset_id}")

    def model(self, model_id: str) -> dict[str, Any]:
        """One trained model, with the id of the job that trains it."""
        return self._get(f"/models/{model_id}")

    def models(
        self, *, limit: int | None = None, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Your trained models, newest first (all of them, or the newest `limit`)."""
        return self._list("/models", limit, customer_id=customer_id)

    def train(
        self,
        dataset_id: str,
        *,
        synthesizer: str | None = None,
        name: str | None = None,
        wait: bool = True,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        progress: Progress = False,
    ) -> dict[str, Any]:
        """Train a model on a dataset (a job); with `wait`, return it once `ready`.

        Generate from it with `generate(model_id=...)`, without fitting again.
        """
        body = _present(dataset_id=dataset_id, synthesizer=synthesizer, name=name)
        model = dict(self._request("POST", "/models", json=body).json())
        if not wait:
            return model
        self.wait(model["job_id"], poll_interval=poll_interval, timeout=timeout, progress=progress)
        return self.model(model["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """A job's current state."""
        return self._get(f"/jobs/{job_id}")

    def jobs(
        self,
        *,
        state: str | None = None,
        limit: int | None = None,
        customer_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Your jobs, newest first (all of them, or the newest `limit`), optionally in one
        `state` (queued, running, succeeded, failed, cancelled)."""
        return self._list("/jobs", limit, state=state, customer_id=customer_id)

    def usage(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        customer_id: str | None = None,
    ) -> dict[str, Any]:
        """Jobs, rows and cost of succeeded generation jobs, from `since` until before
        `until` (times with a time zone, or ISO 8601 text such as "2026-01-01T00:00:00Z")."""
        return self._get("/usage", since=_iso(since), until=_iso(until), customer_id=customer_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job."""
        return dict(self._request("POST", f"/jobs/{job_id}/cancel").json())

    @overload
    def generate(
        self,
        source: str | PathLike[str],
        *,
        rows: int | None = None,
        scale: float | None = None,
        output: str | PathLike[str] | None = None,
        name: str | None = None,
        synthesizer: str | None = None,
        format: str | None = None,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        progress: Progress = False,
    ) -> Path: ...

    @overload
    def generate(
        self,
        source: None = None,
        *,
        rows: int | None = None,
        scale: float | None = None,
        dataset_id: str | None = None,
        model_id: str | None = None,
        synthesizer: str | None = None,
        format: str | None = None,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
        wait: bool = True,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        progress: Progress = False,
    ) -> dict[str, Any]: ...

    def generate(
        self,
        source: str | PathLike[str] | None = None,
        *,
        rows: int | None = None,
        scale: float | None = None,
        output: str | PathLike[str] | None = None,
        name: str | None = None,
        dataset_id: str | None = None,
        model_id: str | None = None,
        synthesizer: str | None = None,
        format: str | None = None,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
        wait: bool = True,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        progress: Progress = False,
    ) -> Path | dict[str, Any]:
        """Generate `rows` synthetic rows (linked tables: `scale` times each table's rows),
        in one of two forms.

        `generate("customers.csv", rows=..., output="synthetic.csv")` does it all:
        uploads the file, runs the job, waits for it and downloads the result to
        `output` (default: `<name>.synthetic.csv` beside the source; Parquet when
        `output` ends in `.parquet`), and returns the path written. The uploaded
        dataset stays on the service (see `datasets()`), for more jobs. A folder or a
        .zip of linked tables is uploaded as a zip and its result is a zip of tables
        (default: `<name>.synthetic.zip` beside the source).

        `generate(dataset_id=... or model_id=..., rows=...)` starts a job on what is
        already on the service and, with `wait`, polls until it is final; it returns
        the job. `synthesizer` defaults to the service's default.

        `progress=True` prints what happens to stderr; a callable is instead given each
        job state as it is polled. A fresh idempotency key is sent by default, so
        retrying this call after a network error can never start the job twice.
        """
        body = _present(
            rows=rows,
            scale=scale,
            synthesizer=synthesizer,
            seed=seed,
            conditions=conditions,
            format=format,
        )
        if source is None:
            if output is not None or name is not None:
                raise TypeError("output= and name= go with a file to upload: generate(path, ...)")
            body.update(_present(dataset_id=dataset_id, model_id=model_id))
            job = self._post_job(body, idempotency_key)
            if not wait:
                return job
            return self.wait(
                job["id"], poll_interval=poll_interval, timeout=timeout, progress=progress
            )
        if dataset_id is not None or model_id is not None:
            raise TypeError("give a file to upload, or dataset_id=/model_id=, not both")
        if not wait:
            raise TypeError("generate(path, ...) always waits: upload() and generate(dataset_id=)")
        file = Path(source)
        target, body["format"] = _output_for(file, output, format)
        printer = ProgressPrinter() if progress is True else None
        if printer is not None:
            printer.uploading(file)
        dataset = self.upload(file, name=name)
        if printer is not None:
            printer.uploaded(dataset)
        job = self._post_job({**body, "dataset_id": dataset["id"]}, idempotency_key)
        job = self.wait(
            job["id"], poll_interval=poll_interval, timeout=timeout, progress=printer or progress
        )
        if printer is not None:
            printer.downloading(job, target)
        self.download(job["id"], target)
        if printer is not None:
            printer.written(job, target)
        return target

    def _post_job(self, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        key = idempotency_key or uuid.uuid4().hex
        headers = {"Idempotency-Key": key}
        return dict(self._request("POST", "/jobs", json=body, headers=headers).json())

    def wait(
        self,
        job_id: str,
        *,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        progress: Progress = False,
    ) -> dict[str, Any]:
        """Poll a job until it succeeds; raise `JobFailedError` if it fails or is cancelled.

        `progress=True` prints the job's progress to stderr; a callable is given each
        state polled.
        """
        report: Callable[[dict[str, Any]], None] | None = None
        if progress is True:
            report = ProgressPrinter()
        elif progress is not False:
            report = progress
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if report is not None:
                report(job)
            if job["state"] == "succeeded":
                return job
            if job["state"] in FINAL_STATES:
                raise JobFailedError(job)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll_interval)

    def download(self, job_id: str, path: str | PathLike[str]) -> Path:
        """Stream a succeeded job's result to `path` (written whole or not at all),
        following the API's redirect to the object store when it sends one."""
        target = Path(path)
        url, headers = f"/api/v1/jobs/{job_id}/result", self._headers
        with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code == 307:  # a presigned URL of the object store
                location = response.headers["location"]
            else:
                self._save(response, target)
                return target
        # The presigned URL carries its own signature: the API key is never sent on.
        with self._http.stream("GET", location) as response:
            self._save(response, target)
        return target

    def download_parts(
        self, job_id: str, folder: str | PathLike[str], *, threads: int = 4
    ) -> list[Path]:
        """Download the parts of a succeeded job's result into `folder`, `threads` at a
        time, each checked against its SHA-256; a folder pyarrow.dataset or DuckDB reads
        as one table. Returns the part files in row order."""
        listing = self._get(f"/jobs/{job_id}/result", parts="true")
        return fetch_parts(self._http, self._headers, listing, Path(folder), threads, self._check)

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            self._raise(response)

    def _save(self, response: httpx.Response, target: Path) -> None:
        from synthdata.engine.io import atomic_path

        self._check(response)
        with atomic_path(target) as tmp, tmp.open("wb") as sink:
            for block in response.iter_bytes():
                sink.write(block)

    @staticmethod
    def _raise(response: httpx.Response) -> NoReturn:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase, "detail": response.text[:200]}
        raise ServiceError(response.status_code, problem)


def _output_for(
    source: Path, output: str | PathLike[str] | None, format: str | None
) -> tuple[Path, str]:
    """Where the one-call `generate` writes, and in which format (linked tables: of the
    files in the zip)."""
    if source.is_dir() or source.suffix.lower() == ".zip":
        target = (
            Path(output) if output is not None else source.with_name(f"{source.stem}.synthetic.zip")
        )
        return target, format or "csv"
    if output is None:
        kind = format or "csv"
        return source.with_name(f"{source.stem}.synthetic.{kind}"), kind
    target = Path(output)
    if format is None:
        format = "parquet" if target.suffix.lower() in (".parquet", ".pq") else "csv"
    return target, format


@contextmanager
def _zipped(folder: Path) -> Iterator[IO[bytes]]:
    """The folder's table files as one zip, in a temporary file, for the upload."""
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.iterdir()):
                wanted = file.suffix.lower() in _TABLE_FILES or file.name == _METADATA_FILE
                if file.is_file() and wanted:
                    archive.write(file, file.name)
        handle.seek(0)
        yield handle


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that were given (None: left to the service's default)."""
    return {field: value for field, value in fields.items() if value is not None}


def _iso(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment
