"""Where the model cache keeps its entries: Redis, or a directory on the shared volume.

Both expire entries after a time to live. Redis does it itself (`EX`); the directory
store writes each entry's expiry time as the file's mtime and treats older files as
absent (deleting them when it meets them), so no clock or index file is needed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from synthdata.engine.io import atomic_path


@dataclass(frozen=True)
class CacheStats:
    """Live entries and their total size."""

    entries: int
    bytes: int


class CacheStore(Protocol):
    """A key -> bytes store whose entries expire."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes, ttl: int) -> None: ...

    def delete(self, key: str) -> None: ...

    def stats(self) -> CacheStats: ...


class RedisStore:
    """Entries as Redis strings under `prefix`, expired by Redis."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def name(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> bytes | None:
        value = self._client.get(self.name(key))
        return value if isinstance(value, bytes) else None

    def put(self, key: str, data: bytes, ttl: int) -> None:
        self._client.set(self.name(key), data, ex=ttl)

    def delete(self, key: str) -> None:
        self._client.delete(self.name(key))

    def stats(self) -> CacheStats:
        entries = size = 0
        for name in self._client.scan_iter(match=f"{self.prefix}*", count=500):
            entries += 1
            size += int(self._client.strlen(name))
        return CacheStats(entries, size)


class FileStore:
    """Entries as files `<key>.synth` in `root`; a file's mtime is its expiry time."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{key}.synth"

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            if path.stat().st_mtime <= time.time():
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:  # absent, or expired and removed by another worker
            return None

    def put(self, key: str, data: bytes, ttl: int) -> None:
        expires = time.time() + ttl
        with atomic_path(self.path(key)) as tmp:
            tmp.write_bytes(data)
            os.utime(tmp, (expires, expires))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def expires_at(self, key: str) -> float | None:
        """When the entry expires (epoch seconds), or None when there is none."""
        try:
            return self.path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def stats(self) -> CacheStats:
        entries = size = 0
        now = time.time()
        for path in self.root.glob("*.synth") if self.root.is_dir() else ():
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if info.st_mtime <= now:
                path.unlink(missing_ok=True)  # expired: reclaim the space now
                continue
            entries += 1
            size += info.st_size
        return CacheStats(entries, size)
