"""Inspecting an upload where it was stored, from any process.

The inspection runs in the offload helper process (service/core/offload.py), which
holds no platform: it gets the store's configuration (plain, picklable data) and the
key, opens the store once per process, and reads the object as a local file: the
stored file itself on the local backend (zero copy), else a copy in the process's
work directory that is dropped as soon as the inspection ends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from synthdata.artifacts import ArtifactStore, StoreConfig, open_store
from synthdata.service.core.storage import Storage

R = TypeVar("R")


@functools.lru_cache(maxsize=4)
def _store(config: StoreConfig) -> ArtifactStore:
    # One client (and its connection pool) per configuration and process.
    return open_store(config)


def inspect_stored(
    config: StoreConfig,
    work_dir: Path,
    key: str,
    inspect: Callable[..., R],
    *args: Any,
    **options: Any,
) -> R:
    """`inspect(path, *args, **options)` on a local file holding the object `key`."""
    storage = Storage(_store(config), work_dir)
    try:
        return inspect(storage.fetch(key), *args, **options)
    finally:
        storage.evict(key)  # an upload is inspected once: keep no copy of it
