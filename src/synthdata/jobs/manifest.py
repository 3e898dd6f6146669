"""The manifest of a generation job's result: which parts, in order, with their checksums.

A chunked job's result is its part files plus `manifest.json`, written last by the
finalize step from the chunk rows. Readers (the download, clients reading the parts
in parallel) trust only what the manifest lists: a part written by a duplicate
delivery after the job finished, or a part of an attempt that never completed, is
not in it. Part keys are relative to the job folder, so the manifest stays valid
whatever prefix the store puts in front of the job folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synthdata.artifacts.base import ArtifactStore
from synthdata.jobs import telemetry
from synthdata.jobs.models import Job, JobChunk

VERSION = 1
NAME = "manifest.json"
_READ_BYTES = 1024**2


@dataclass(frozen=True)
class PartEntry:
    """One part file of a result: its place, rows, size and sha256 (hex)."""

    index: int
    key: str  # relative to the job folder, e.g. "parts/part-00000.csv"
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a reader needs to reassemble or verify a result, and how it was generated."""

    job_id: str
    model_id: str | None
    synthesizer: str
    seed: int
    format: str
    rows: int
    created_at: str  # ISO 8601, UTC
    parts: tuple[PartEntry, ...]

    @property
    def total_bytes(self) -> int:
        """The sum of the part sizes: the job's `result_bytes`."""
        return sum(part.bytes for part in self.parts)

    def to_json(self) -> bytes:
        """The manifest as stored: stable key order, so equal manifests are equal bytes."""
        body: dict[str, Any] = {"version": VERSION, **asdict(self)}
        body["parts"] = [asdict(part) for part in self.parts]
        return json.dumps(body, indent=1, sort_keys=False).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse a stored manifest (ValueError if it is not one this code can read)."""
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("version") != VERSION:
            raise ValueError("not a version 1 result manifest")
        parts = tuple(PartEntry(**part) for part in body["parts"])
        fields = {k: body[k] for k in cls.__dataclass_fields__ if k != "parts"}
        return cls(parts=parts, **fields)


class PartsMissing(Exception):
    """A chunk's part is not stored as its row records it (lost, or never recorded)."""


def manifest_of(
    job: Job, chunks: Sequence[JobChunk], part_keys: Sequence[str], created_at: str
) -> Manifest:
    """The manifest of a job whose chunks are all done: one entry per chunk, in order,
    from what each chunk recorded when it completed. `part_keys` are relative to the
    job folder."""
    entries = []
    for chunk, key in zip(chunks, part_keys, strict=True):
        if chunk.part_bytes is None or chunk.part_sha256 is None:
            raise PartsMissing(f"chunk {chunk.index} recorded no part")
        entries.append(PartEntry(chunk.index, key, chunk.rows, chunk.part_bytes, chunk.part_sha256))
    return Manifest(
        job_id=job.id,
        model_id=job.model_id,
        synthesizer=job.synthesizer,
        seed=job.seed,
        format=job.format,
        rows=job.rows,
        created_at=created_at,
        parts=tuple(entries),
    )


def check_parts(store: ArtifactStore, folder: str, manifest: Manifest) -> None:
    """Raise PartsMissing unless every listed part is stored with its recorded size
    (one HEAD each: the bytes were hashed by the chunk that uploaded them)."""
    for part in manifest.parts:
        info = store.info(f"{folder}/{part.key}")
        if info is None or info.size != part.bytes:
            raise PartsMissing(f"part {part.key} is missing or truncated")


@telemetry.step("job.write")
def write_manifest(store: ArtifactStore, key: str, manifest: Manifest) -> int:
    """Store the manifest (atomically: a reader sees no manifest or all of it); the
    finalize step calls this last, after every part it lists is stored."""
    data = manifest.to_json()
    with store.open_write(key) as sink:
        sink.write(data)
    return len(data)


def is_manifest_key(key: str) -> bool:
    """Whether a job's `result_path` names a manifest (else it is one file: an old row,
    or a zip of linked tables)."""
    return key.rsplit("/", 1)[-1] == NAME


def job_folder(manifest_key: str) -> str:
    """The key of the folder the manifest's part keys are relative to."""
    return manifest_key.rsplit("/", 1)[0]


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a local file, read in blocks (parts may be large)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while block := source.read(_READ_BYTES):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
