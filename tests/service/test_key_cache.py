"""The API-key cache: a revocation here works at once, elsewhere within the cache's TTL."""

from __future__ import annotations

from sqlalchemy.orm import Session
from tests.fixtures.service import FakeClock, clocked_key_cache

from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.customers.keycache import KeyCache
from synthdata.service.customers.models import ApiKey, Role
from synthdata.service.customers.service import Principal, revoke_key


def test_entries_expire_and_revoked_keys_are_forgotten() -> None:
    clock = FakeClock()
    cache = KeyCache(ttl=2.0, timer=clock)
    alice = Principal("key_a", Role.CUSTOMER, "cus_a")
    cache.put("hash-a", (alice, ""))
    cache.put("hash-x", (None, "unknown"))
    assert cache.get("hash-a") == (alice, "")
    assert cache.get("hash-x") == (None, "unknown")
    cache.forget_key("key_a")
    assert cache.get("hash-a") is None
    assert cache.get("hash-x") == (None, "unknown")
    clock.now = 2.5
    assert cache.get("hash-x") is None


def test_the_cache_is_bounded_and_can_be_turned_off() -> None:
    cache = KeyCache(ttl=60, maxsize=3)
    for i in range(10):
        cache.put(f"hash-{i}", (None, "unknown"))
    assert sum(cache.get(f"hash-{i}") is not None for i in range(10)) == 3
    off = KeyCache(ttl=0)
    off.put("hash", (None, "unknown"))
    assert off.get("hash") is None


def _revoke_elsewhere(database_url: str, key_id: str) -> None:
    """Revoke as another replica (or the CLI) would: in the database, not through this app."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            assert isinstance(session, Session)
            revoke_key(session, session.get_one(ApiKey, key_id))
    finally:
        engine.dispose()


def test_a_revocation_elsewhere_is_seen_once_the_entry_expires(settings, client, alice) -> None:
    clock = clocked_key_cache(client, settings)
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    _revoke_elsewhere(settings.database_url, alice.key_id)
    # Within the TTL this process still trusts its last answer...
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    clock.now += settings.auth_cache_seconds + 0.1
    # ...and after it, it asks the database again.
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
