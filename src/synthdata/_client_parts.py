"""Downloading a result's parts side by side, each checked against the manifest's SHA-256.

A large result is stored as part files; `GET /jobs/{id}/result?parts=true` lists them
with a URL each (a presigned object-store URL, or the API's own part route). Fetching
them in parallel into one folder gives a table that pyarrow.dataset, DuckDB or Spark
read as one, without the API joining anything. A presigned URL is fetched without the
API key: it carries its own signature, and the key must never leave for another host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from synthdata.engine.errors import SynthDataError


class PartChecksumError(SynthDataError):
    """A downloaded part's bytes differ from the checksum the manifest records."""


def fetch_parts(
    http: httpx.Client,
    headers: dict[str, str],
    listing: dict[str, Any],
    folder: Path,
    threads: int,
    check: Callable[[httpx.Response], None],
) -> list[Path]:
    """Download every listed part into `folder` (part-NNNNN.<format>), in parallel."""
    folder.mkdir(parents=True, exist_ok=True)
    fmt = listing["format"]

    def one(part: dict[str, Any]) -> Path:
        target = folder / f"part-{part['index']:05d}.{fmt}"
        own = part["url"].startswith("/")
        temp = target.with_name(f".{target.name}.partial")
        digest = hashlib.sha256()
        with http.stream("GET", part["url"], headers=headers if own else {}) as response:
            check(response)
            with temp.open("wb") as sink:
                for block in response.iter_bytes():
                    digest.update(block)
                    sink.write(block)
        if part["sha256"] is not None and digest.hexdigest() != part["sha256"]:
            temp.unlink(missing_ok=True)
            raise PartChecksumError(f"part {part['index']} does not match its sha256")
        temp.replace(target)
        return target

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(one, listing["parts"]))
