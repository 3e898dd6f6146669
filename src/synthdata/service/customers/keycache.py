"""Recently checked API keys, so that a busy key is not looked up on every request.

Authentication is on every request's path; looking the key up in the database each
time cost more CPU than the rest of a small read. A key's answer (its principal, or
why it was refused) is kept for `ttl` seconds. Revoking a key through this process
drops it at once; another replica sees a revocation within `ttl` seconds
(`SYNTHDATA_AUTH_CACHE_SECONDS`, 0 turns the cache off). Entries are keyed by the
secret's hash, never the secret, and bounded in number, so a flood of random keys
cannot grow the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from synthdata.service.customers.service import Principal

Verdict = tuple[Principal | None, str]
"""What `authenticate_with_reason` answered: (principal, "") or (None, reason)."""


class KeyCache:
    """A thread-safe, size-bounded, time-bounded map from secret hash to verdict."""

    def __init__(
        self, ttl: float, maxsize: int = 10_000, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = ttl > 0
        self._entries: TTLCache[str, Verdict] = TTLCache(
            maxsize=maxsize, ttl=max(ttl, 1e-9), timer=timer
        )
        self._lock = threading.Lock()

    def get(self, secret_hash: str) -> Verdict | None:
        if not self.enabled:
            return None
        with self._lock:
            return self._entries.get(secret_hash)

    def put(self, secret_hash: str, verdict: Verdict) -> None:
        if self.enabled:
            with self._lock:
                self._entries[secret_hash] = verdict

    def forget_key(self, key_id: str) -> None:
        """Drop a key's entry (after it was revoked here)."""
        with self._lock:
            stale = [
                digest
                for digest, (principal, _) in self._entries.items()
                if principal is not None and principal.key_id == key_id
            ]
            for digest in stale:
                self._entries.pop(digest, None)
