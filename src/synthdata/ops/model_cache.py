"""`configure-cache`: set the fitted-model cache for the platform and report its state.

The cache itself lives with the jobs (`synthdata.jobs.model_cache`); this module turns
the runbook's `./scripts/configure-cache.sh --redis --ttl 3600` into the stored
setting, and reports the setting with the live entries and bytes of its store.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from synthdata.engine.errors import InputError
from synthdata.jobs.model_cache import CacheConfig, read_config, store_for, write_config
from synthdata.ops.report import Report
from synthdata.service.core.settings import Settings


def configure(
    session: Session,
    settings: Settings,
    *,
    redis: bool,
    ttl: int | None,
    disable: bool,
    actor: str = "cli",
) -> CacheConfig:
    """Store the new configuration (InputError when Redis is asked for but not configured).

    `--disable` keeps the backend and TTL, so re-enabling restores them; a TTL not
    given keeps the current one.
    """
    current = read_config(session)
    if redis and not settings.redis_url:
        raise InputError("--redis needs SYNTHDATA_REDIS_URL (the Redis the workers use)")
    if disable:
        wanted = CacheConfig(False, current.backend, ttl or current.ttl)
    else:
        wanted = CacheConfig(True, "redis" if redis else "filesystem", ttl or current.ttl)
    return write_config(session, wanted, actor=actor)


def cache_report(config: CacheConfig, settings: Settings) -> Report:
    """The configuration and what its store holds now."""
    report = Report("configure-cache")
    report.extra["config"] = {
        "enabled": config.enabled,
        "backend": config.backend,
        "ttl_seconds": config.ttl,
    }
    state = "on" if config.enabled else "off"
    report.add(
        "model cache",
        "ok" if config.enabled else "info",
        f"{state}: backend {config.backend}, entries kept {config.ttl} s",
        enabled=config.enabled,
        backend=config.backend,
        ttl=config.ttl,
    )
    store = store_for(config.backend, settings)
    if store is None:
        report.add("store", "unreachable", "backend redis, but SYNTHDATA_REDIS_URL is not set")
        return report
    try:
        stats = store.stats()
    except Exception as exc:
        report.add("store", "unreachable", f"{type(exc).__name__}: {exc}")
        return report
    report.add(
        "store",
        "ok",
        f"{stats.entries} entries, {stats.bytes} bytes",
        entries=stats.entries,
        bytes=stats.bytes,
    )
    return report
