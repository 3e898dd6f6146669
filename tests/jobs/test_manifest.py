"""The result manifest: stable bytes, round trip, digests of the part files."""

from __future__ import annotations

import hashlib
import json

import pytest

from synthdata.jobs.manifest import Manifest, PartEntry, file_digest, is_manifest_key, job_folder


def _manifest() -> Manifest:
    parts = (
        PartEntry(0, "parts/part-00000.csv", 10, 120, "a" * 64),
        PartEntry(1, "parts/part-00001.csv", 5, 61, "b" * 64),
    )
    return Manifest("job_1", "mod_1", "copula", 9, "csv", 15, "2026-12-08T00:00:00+00:00", parts)


def test_manifest_round_trips_with_every_field():
    manifest = _manifest()
    data = manifest.to_json()
    assert Manifest.from_json(data) == manifest
    assert data == _manifest().to_json()  # deterministic bytes
    assert manifest.total_bytes == 181
    body = json.loads(data)
    assert set(body) == {
        "version", "job_id", "model_id", "synthesizer", "seed", "format", "rows",
        "created_at", "parts",
    }  # fmt: skip
    assert body["version"] == 1
    assert set(body["parts"][0]) == {"index", "key", "rows", "bytes", "sha256"}


def test_other_versions_are_refused():
    with pytest.raises(ValueError):
        Manifest.from_json(b'{"version": 2, "parts": []}')


def test_file_digest_matches_hashlib(tmp_path):
    path = tmp_path / "part.csv"
    path.write_bytes(b"x,y\n" * 500_000)
    assert file_digest(path) == (2_000_000, hashlib.sha256(path.read_bytes()).hexdigest())


def test_manifest_keys_and_their_folder():
    key = "customers/c/jobs/j/manifest.json"
    assert is_manifest_key(key) and job_folder(key) == "customers/c/jobs/j"
    assert not is_manifest_key("customers/c/jobs/j/result.csv")
