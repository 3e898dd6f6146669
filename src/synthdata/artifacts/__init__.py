"""Artifact storage: one interface (`ArtifactStore`) over a local directory and an
S3-compatible bucket, with the store metrics. See docs/storage.md.

Names load on first use, as in `synthdata/__init__.py`: the settings import the key
checks of `base`, and must not pay for pyarrow and obstore to do so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthdata.artifacts.base import (
        ArtifactStore,
        ObjectInfo,
        ObjectNotFound,
        StoreError,
        StoreUnavailable,
        UnsafeKey,
        check_key,
        check_prefix,
    )
    from synthdata.artifacts.config import StoreConfig, open_backend, open_store, store_config
    from synthdata.artifacts.local import LocalStore
    from synthdata.artifacts.metrics import InstrumentedStore
    from synthdata.artifacts.s3 import S3Store

_EXPORTS = {
    "ArtifactStore": "synthdata.artifacts.base",
    "ObjectInfo": "synthdata.artifacts.base",
    "ObjectNotFound": "synthdata.artifacts.base",
    "StoreError": "synthdata.artifacts.base",
    "StoreUnavailable": "synthdata.artifacts.base",
    "UnsafeKey": "synthdata.artifacts.base",
    "check_key": "synthdata.artifacts.base",
    "check_prefix": "synthdata.artifacts.base",
    "StoreConfig": "synthdata.artifacts.config",
    "open_backend": "synthdata.artifacts.config",
    "open_store": "synthdata.artifacts.config",
    "store_config": "synthdata.artifacts.config",
    "LocalStore": "synthdata.artifacts.local",
    "InstrumentedStore": "synthdata.artifacts.metrics",
    "S3Store": "synthdata.artifacts.s3",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthdata.artifacts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ArtifactStore",
    "InstrumentedStore",
    "LocalStore",
    "ObjectInfo",
    "ObjectNotFound",
    "S3Store",
    "StoreConfig",
    "StoreError",
    "StoreUnavailable",
    "UnsafeKey",
    "check_key",
    "check_prefix",
    "open_backend",
    "open_store",
    "store_config",
]
