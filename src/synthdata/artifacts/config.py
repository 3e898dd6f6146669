"""Which store a process uses, built once from its settings.

`store_config(settings)` copies the `SYNTHDATA_STORE` / `SYNTHDATA_S3_*` settings into a
plain `StoreConfig` (the settings have already resolved credential files and the AWS_*
fallback), and `open_store(config)` returns the backend wrapped in the metrics
wrapper, so every caller is measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from synthdata.artifacts.base import ArtifactStore, StoreError
from synthdata.artifacts.local import LocalStore
from synthdata.artifacts.metrics import InstrumentedStore
from synthdata.artifacts.s3 import S3Store

Backend = Literal["local", "s3"]


@dataclass(frozen=True)
class StoreConfig:
    """Everything needed to open a store; `repr` never shows a credential."""

    backend: Backend = "local"
    local_root: Path = Path("data")
    endpoint: str | None = None
    bucket: str = ""
    prefix: str = ""
    region: str = "us-east-1"
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    allow_http: bool = False
    """Plain HTTP to the endpoint (an in-cluster MinIO, the test server); from its scheme."""


class StoreSettings(Protocol):
    """The part of `service.core.settings.Settings` a store needs."""

    @property
    def store(self) -> Backend: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def s3_endpoint(self) -> str | None: ...
    @property
    def s3_bucket(self) -> str: ...
    @property
    def s3_prefix(self) -> str: ...
    @property
    def s3_region(self) -> str: ...
    @property
    def s3_access_key_id(self) -> str | None: ...
    @property
    def s3_secret_access_key(self) -> SecretStr | None: ...
    @property
    def s3_session_token(self) -> SecretStr | None: ...


def store_config(settings: StoreSettings) -> StoreConfig:
    """The store the settings describe (local: `data_dir`; s3: bucket and prefix)."""
    endpoint = settings.s3_endpoint or None
    return StoreConfig(
        backend=settings.store,
        local_root=settings.data_dir,
        endpoint=endpoint,
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        session_token=settings.s3_session_token,
        allow_http=bool(endpoint) and urlsplit(endpoint).scheme == "http",
    )


def open_backend(config: StoreConfig) -> ArtifactStore:
    """The bare backend, without metrics (tests of the backends themselves use it)."""
    if config.backend == "local":
        return LocalStore(config.local_root)
    if config.backend == "s3":
        return S3Store(config)
    raise StoreError(f"unknown store backend {config.backend!r} (local or s3)")


def open_store(config: StoreConfig) -> ArtifactStore:
    """The store every caller uses: the backend, measured by the store metrics."""
    return InstrumentedStore(open_backend(config))
