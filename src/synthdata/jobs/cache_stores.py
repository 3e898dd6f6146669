"""Where the model cache keeps its entries: Redis, a local directory, or the artifact
store's bucket.

All expire entries after a time to live. Redis does it itself (`EX`); the directory
store writes each entry's expiry time as the file's mtime, and the bucket store (an
object's time cannot be set) as its name; both treat older entries as absent
(deleting them when they meet them), so no clock or index file is needed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from synthdata.artifacts.base import ArtifactStore, ObjectInfo
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


class BucketStore:
    """Entries as objects `<prefix>/<key>/<expiry>.synth` in the artifact store, for
    workers that share no directory (the "filesystem" backend when the artifacts are in
    S3). A re-put writes a new name and drops the older ones."""

    def __init__(self, store: ArtifactStore, prefix: str = "cache/models") -> None:
        self.store = store
        self.prefix = prefix

    def _versions(self, key: str) -> list[tuple[float, ObjectInfo]]:
        found = []
        for info in self.store.list(f"{self.prefix}/{key}/"):
            try:
                found.append((float(info.key.rsplit("/", 1)[-1].removesuffix(".synth")), info))
            except ValueError:  # not an entry of ours: leave it
                continue
        return sorted(found, key=lambda pair: pair[0])

    def get(self, key: str) -> bytes | None:
        versions = self._versions(key)
        if not versions:
            return None
        expires, newest = versions[-1]
        if expires <= time.time():
            self.delete(key)
            return None
        try:
            with self.store.open_read(newest.key) as source:
                return source.read()
        except FileNotFoundError:  # expired and removed by another worker meanwhile
            return None

    def put(self, key: str, data: bytes, ttl: int) -> None:
        name = f"{self.prefix}/{key}/{time.time() + ttl:.3f}.synth"
        with self.store.open_write(name) as sink:
            sink.write(data)
        for _expires, older in self._versions(key):
            if older.key != name:
                self.store.delete(older.key)

    def delete(self, key: str) -> None:
        self.store.delete_prefix(f"{self.prefix}/{key}/")

    def expires_at(self, key: str) -> float | None:
        """When the entry expires (epoch seconds), or None when there is none."""
        versions = self._versions(key)
        return versions[-1][0] if versions else None

    def stats(self) -> CacheStats:
        entries = size = 0
        now = time.time()
        newest: dict[str, tuple[float, ObjectInfo]] = {}
        for info in self.store.list(f"{self.prefix}/"):
            folder, _, name = info.key.rpartition("/")
            try:
                expires = float(name.removesuffix(".synth"))
            except ValueError:
                continue
            if folder not in newest or newest[folder][0] < expires:
                newest[folder] = (expires, info)
        for expires, info in newest.values():
            if expires <= now:
                self.store.delete_prefix(info.key.rpartition("/")[0] + "/")  # reclaim now
                continue
            entries += 1
            size += info.size
        return CacheStats(entries, size)
