"""A cache of fitted models, so a generation job on an unchanged dataset skips the fit.

An entry is keyed by everything that decides the fitted model: the dataset (its id
and the SHA-256 of its stored file), the synthesizer and its fit settings, and the
model format and engine versions. Its value is the saved model file (the engine's
zip of JSON and arrays, which cannot run code when loaded), kept

- in Redis (`SET key bytes EX ttl`), keys prefixed with the queue name, or
- under `data_dir/cache/models/`, one file per entry whose mtime is its expiry time, or,
  when the artifacts are in S3 (`SYNTHDATA_STORE=s3`), under `cache/models/` in the
  bucket, the expiry time in the object's name (the "filesystem" backend either way).

The configuration (enabled, backend, ttl) is the platform flag "model-cache" in the
database, so every replica and worker follows the same setting; it is off until an
operator runs `synthdata ops configure-cache`. SDV models cannot be saved in our
format, so they are never cached. A failing cache (Redis down, a damaged entry) costs
a fit, never a job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from synthdata.artifacts import open_store, store_config
from synthdata.engine.errors import SynthDataError
from synthdata.engine.io import atomic_path
from synthdata.engine.loading import FitLimits
from synthdata.jobs.cache_stores import BucketStore, CacheStats, CacheStore, FileStore, RedisStore
from synthdata.jobs.training import fit_to_file
from synthdata.observability.metrics import model_cache_requests_total
from synthdata.service.admin.models import Flag
from synthdata.service.admin.service import audit
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

log = logging.getLogger("synthdata.jobs")

FLAG_KEY = "model-cache"
DEFAULT_TTL = 3600
Backend = Literal["redis", "filesystem"]

__all__ = ["CacheConfig", "CacheStats", "ModelCache", "fit_with_cache", "open_cache"]


@dataclass(frozen=True)
class CacheConfig:
    """How the model cache is set for the whole platform."""

    enabled: bool = False
    backend: Backend = "filesystem"
    ttl: int = DEFAULT_TTL


def read_config(session: Session) -> CacheConfig:
    """The stored configuration (disabled when never set)."""
    flag = session.get(Flag, FLAG_KEY)
    if flag is None:
        return CacheConfig()
    value = flag.value
    backend: Backend = "redis" if value.get("backend") == "redis" else "filesystem"
    return CacheConfig(bool(value.get("enabled")), backend, int(value.get("ttl") or DEFAULT_TTL))


def write_config(session: Session, config: CacheConfig, *, actor: str) -> CacheConfig:
    """Store `config` for every process, and record the change in the audit log."""
    flag = session.get(Flag, FLAG_KEY)
    if flag is None:
        session.add(Flag(key=FLAG_KEY, value=asdict(config), updated_by=actor))
    else:
        flag.value, flag.updated_by, flag.updated_at = asdict(config), actor, utcnow()
    audit(session, actor=actor, action="model_cache.configure", detail=asdict(config))
    session.flush()
    return read_config(session)


def store_for(backend: Backend, settings: Settings) -> CacheStore | None:
    """The store of `backend` for these settings (None: Redis wanted but not configured)."""
    if backend == "redis":
        if not settings.redis_url:
            return None
        return RedisStore(settings.redis_url, f"{settings.queue_name}:model-cache:")
    if settings.store != "local":  # workers share no directory: use the bucket
        return BucketStore(open_store(store_config(settings)))
    return FileStore(settings.data_dir / "cache" / "models")


@dataclass(frozen=True)
class ModelCache:
    """An enabled cache: where entries live and how long they are kept."""

    store: CacheStore
    ttl: int

    def restore(self, key: str, target: Path) -> bool:
        """Write the cached model for `key` to `target`; False when absent or unusable."""
        from synthdata.engine.model_format import load_model

        try:
            data = self.store.get(key)
        except Exception:
            log.warning("model cache unreadable; fitting instead", exc_info=True)
            return False
        if data is None:
            return False
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        try:
            load_model(target)  # a damaged entry must cost a fit, not fail the job's chunks
        except SynthDataError:
            log.warning("model cache entry %s is damaged; dropping it", key)
            target.unlink(missing_ok=True)
            self._forget(key)
            return False
        return True

    def save(self, key: str, model_file: Path) -> None:
        """Keep the saved model at `model_file` for `ttl` seconds."""
        try:
            self.store.put(key, model_file.read_bytes(), self.ttl)
        except Exception:
            log.warning("model cache not filled (the job goes on)", exc_info=True)

    def _forget(self, key: str) -> None:
        try:
            self.store.delete(key)
        except Exception:
            log.warning("model cache entry %s not deleted", key, exc_info=True)


def open_cache(session: Session, settings: Settings) -> ModelCache | None:
    """The cache generation jobs use now, or None when it is off (or cannot be used here)."""
    config = read_config(session)
    if not config.enabled:
        return None
    store = store_for(config.backend, settings)
    if store is None:
        log.warning("model cache is set to Redis but SYNTHDATA_REDIS_URL is not set; fitting")
        return None
    return ModelCache(store, config.ttl)


def is_cacheable(synthesizer: str) -> bool:
    """Whether models of `synthesizer` can be saved in our format (SDV models cannot)."""
    from synthdata.engine.base import synthesizer_class

    try:
        return synthesizer_class(synthesizer).supports_save
    except SynthDataError:
        return False


def cache_key(
    dataset_id: str,
    source: Path,
    synthesizer: str,
    constraints: list[Any] | None = None,
    limits: FitLimits | None = None,
) -> str:
    """The entry name of a fit: a digest of everything the fitted model depends on."""
    import synthdata
    from synthdata.engine.model_format import VERSION

    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    material = {
        "dataset": dataset_id,
        "sha256": digest.hexdigest(),
        "synthesizer": synthesizer,
        "options": {},  # jobs fit with the synthesizer's defaults
        "constraints": constraints or [],
        # The sample of a large dataset depends on them (the defaults add nothing, so
        # entries written before the limits were settings stay valid).
        **({"fit_limits": asdict(limits)} if limits and limits != FitLimits() else {}),
        "format": VERSION,
        "engine": synthdata.__version__,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def fit_with_cache(
    cache: ModelCache | None,
    dataset_id: str,
    source: str | Path,
    target: Path,
    synthesizer: str,
    constraints: list[Any] | None = None,
    limits: FitLimits | None = None,
) -> None:
    """Put the model of `synthesizer` on `source` at `target`: from the cache, or by fitting."""
    if cache is None or not is_cacheable(synthesizer):
        fit_to_file(source, target, synthesizer, constraints, limits)
        return
    key = cache_key(dataset_id, Path(source), synthesizer, constraints, limits)
    if cache.restore(key, target):
        model_cache_requests_total.labels("hit").inc()
        return
    model_cache_requests_total.labels("miss").inc()
    fit_to_file(source, target, synthesizer, constraints, limits)
    cache.save(key, target)
