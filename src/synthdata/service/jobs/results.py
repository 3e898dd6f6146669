"""Serving a job's result from the artifact store: one file, or the parts of a manifest.

A chunked job's result is its parts plus `manifest.json` (`jobs/manifest.py`); the
API streams them as one file, lists them for clients that read parts in parallel
(pyarrow dataset, DuckDB, Spark), or redirects to a presigned URL when the result is
one object. A job on linked tables (a zip), and rows written before manifests
existed, have one stored file as their result; they are served as one part.
Everything here answers from the manifest alone: a part it does not list is never
served, and a part it lists that is gone makes the whole result gone (410).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from synthdata.artifacts.base import ArtifactStore, ObjectNotFound
from synthdata.jobs.chunking import stream_parts
from synthdata.jobs.manifest import Manifest, is_manifest_key, job_folder
from synthdata.jobs.models import Job
from synthdata.service.core.problems import Problem
from synthdata.service.jobs.models import ResultPart, ResultParts

_BLOCK = 1024**2


@dataclass(frozen=True)
class StoredPart:
    """One object of a result, with what the manifest says of it (None for a single
    file stored before manifests: its rows are the job's, its checksum unknown)."""

    index: int
    key: str
    rows: int
    bytes: int
    sha256: str | None


def _gone(job: Job) -> Problem:
    return Problem(410, f"the result of job {job.id!r} is no longer stored", kind="gone")


def result_parts(store: ArtifactStore, job: Job) -> list[StoredPart]:
    """The objects of a succeeded job's result, in order; 410 if any of them is gone."""
    assert job.result_path is not None
    if not is_manifest_key(job.result_path):
        info = store.info(job.result_path)
        if info is None:
            raise _gone(job)
        return [StoredPart(0, job.result_path, job.rows, info.size, None)]
    try:
        with store.open_read(job.result_path) as source:
            manifest = Manifest.from_json(source.read())
    except ObjectNotFound:
        raise _gone(job) from None
    folder = job_folder(job.result_path)
    parts = [
        StoredPart(p.index, f"{folder}/{p.key}", p.rows, p.bytes, p.sha256) for p in manifest.parts
    ]
    # One HEAD per part before the first byte is sent: a stream cut off halfway by a
    # missing part would look to the client like a network error, not like a 410.
    for part in parts:
        info = store.info(part.key)
        if info is None or info.size != part.bytes:
            raise _gone(job)
    return parts


def stream(store: ArtifactStore, parts: list[StoredPart], fmt: str) -> Iterator[bytes]:
    """The result as one file: the single object as stored, or the parts joined."""
    if len(parts) == 1:
        return read_object(store, parts[0].key)
    return stream_parts([p.key for p in parts], fmt, store.open_read)


def read_object(store: ArtifactStore, key: str) -> Iterator[bytes]:
    """One stored object, block by block."""
    with store.open_read(key) as source:
        while block := source.read(_BLOCK):
            yield block


def listing(
    store: ArtifactStore, job: Job, parts: list[StoredPart], fmt: str, seconds: int
) -> ResultParts:
    """Every part with a URL to fetch it: presigned where the store can, else the API's
    own `/result/parts/{index}` (which checks the caller's key)."""
    entries = []
    for part in parts:
        url = store.presign(part.key, seconds, part_filename(job, part, fmt))
        if url is None:
            url = f"/api/v1/jobs/{job.id}/result/parts/{part.index}"
        entries.append(
            ResultPart(
                index=part.index, rows=part.rows, bytes=part.bytes, sha256=part.sha256, url=url
            )
        )
    return ResultParts(format=fmt, rows=job.rows, parts=entries)


def part_filename(job: Job, part: StoredPart, fmt: str) -> str:
    """The download name of one part (the whole result's name for a single object)."""
    return f"{job.id}.part-{part.index:05d}.{fmt}" if part.sha256 else f"{job.id}.{fmt}"
