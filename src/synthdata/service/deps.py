"""Typed dependencies shared by every router: the platform, a session, the caller.

Authentication takes the key from `X-API-Key` or `Authorization: Bearer`, and
applies the per-source rate limit and lockout before looking at the key, and the
per-key limit after, so a flood of bad keys is cut off before it reaches the database.

The dependencies are coroutines that do not block: FastAPI runs a plain `def`
dependency on the thread pool, and those hand-offs cost more CPU than a small read
itself. Only the work that waits on I/O goes to the pool: the key lookup on a
key-cache miss, the rate limiter when its counters live in Redis, and the endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select
from sqlalchemy.orm import Session

from synthdata.observability.metrics import auth_failures_total
from synthdata.service.core.availability import database_unavailable
from synthdata.service.core.platform import Platform
from synthdata.service.core.problems import Problem, not_found
from synthdata.service.core.ratelimit import Decision
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import Customer
from synthdata.service.customers.service import Principal, authenticate_with_reason, hash_secret

T = TypeVar("T")

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
_bearer = HTTPBearer(auto_error=False, scheme_name="Bearer")


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def get_settings(platform: PlatformDep) -> Settings:
    return platform.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request, platform: PlatformDep) -> AsyncIterator[Session]:
    """A session per request; views commit explicitly, anything left is rolled back.

    Requests with a safe method get a read-only session (no write lock on SQLite).
    Opening a session does no I/O; closing it only gives the connection back.
    While the database is known to be down, 503 at once (no thread waits on it).
    """
    if not platform.database.available:
        raise database_unavailable()
    factory = platform.read_sessions if request.method in READ_METHODS else platform.sessions
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


# scope="function": the session is closed, and its connection given back, as soon as
# the endpoint returns, not after the response has been sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def source_address(request: Request) -> str:
    """The caller's address (the proxy's, unless uvicorn is told to trust forwarded headers)."""
    return request.client.host if request.client else "unknown"


async def _too_many(
    platform: Platform, retry_after: int, detail: str, request: Request | None
) -> Problem:
    """The 429 to raise, once the tarpit has held the request (core/ratelimit.py).

    The hold is marked on the request: the latency histogram leaves it out (a refusal
    held on purpose is not the service being slow for its users; APILatencyBudgetBurn
    paged during a brute-force attack), while the access log keeps the whole time.
    """
    held = await platform.tarpit.hold()
    if request is not None and held:
        request.state.tarpit_seconds = held
    return Problem(
        429, detail, kind="rate-limited", headers={"Retry-After": str(max(1, retry_after))}
    )


async def _limit(platform: Platform, check: Callable[[str], Decision], subject: str) -> Decision:
    """Run a limiter check inline when its counters are in memory, else on the pool."""
    if platform.limiter.is_local:
        return check(subject)
    return await run_in_threadpool(check, subject)


async def limit_source(request: Request, platform: PlatformDep) -> str:
    """The caller's address, once it passed its per-source rate limit and lockout (else 429).

    Every route an anonymous client can reach with work behind it (`/readyz`,
    `/status`, `/metrics`, the alert webhook, and every authenticated route) runs
    this first, so one address cannot flood them or keep guessing secrets.
    """
    source = source_address(request)
    decision = await _limit(platform, platform.limiter.check_source, source)
    if not decision.allowed:
        if decision.locked_out:
            count_auth_failure(request, "locked_out")
        raise await _too_many(
            platform, decision.retry_after, "too many requests from this address", request
        )
    return source


SourceDep = Annotated[str, Depends(limit_source)]


def count_auth_failure(request: Request | None, reason: str) -> None:
    """Count a rejected authentication, and mark its access-log line with the reason.

    The mark lets `security-check` count in the access log exactly what the
    BruteForceAttack rule counts: the 429s of a locked-out address too, and not the
    429s of a busy but honest one.
    """
    auth_failures_total.labels(reason).inc()
    if request is not None:
        request.state.auth_failure = reason


async def refuse_credential(
    platform: Platform, source: str, reason: str, request: Request | None = None
) -> None:
    """Count a wrong secret from `source`: 429 once it has sent too many, else return.

    API keys, the alert webhook token and the metrics scrape token share one count
    per address, so guessing any of them leads to the same lockout.
    """
    count_auth_failure(request, reason)
    limiter = platform.limiter
    if not (await _limit(platform, limiter.record_failure, source)).allowed:
        raise await _too_many(
            platform,
            limiter.lockout_seconds,
            "too many invalid credentials from this address",
            request,
        )


async def get_principal(
    request: Request,
    platform: PlatformDep,
    source: SourceDep,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller, or 401/429 as a problem document."""
    limiter = platform.limiter
    secret = api_key or (bearer.credentials if bearer else None)
    if not secret:
        count_auth_failure(request, "missing")
        raise Problem(
            401,
            "an API key is required (X-API-Key or Authorization: Bearer)",
            kind="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = hash_secret(secret)
    verdict = platform.key_cache.get(digest)
    if verdict is None:
        verdict = await platform.read(authenticate_with_reason, secret)
        platform.key_cache.put(digest, verdict)
    principal, reason = verdict
    if principal is None:
        await refuse_credential(platform, source, reason, request)
        raise Problem(
            401,
            "invalid or revoked API key",
            kind="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    decision = await _limit(platform, limiter.check_key, principal.key_id)
    if not decision.allowed:
        raise await _too_many(
            platform, decision.retry_after, "too many requests for this API key", request
        )
    request.state.principal = principal
    # Read by the observability middleware: requests per customer, active users.
    request.state.customer_id = principal.customer_id
    platform.activity.seen(principal.key_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_admin(request: Request, principal: PrincipalDep) -> Principal:
    """The caller, who must hold an admin key."""
    if not principal.is_admin:
        count_auth_failure(request, "forbidden")
        raise Problem(403, "this operation needs an admin key", kind="forbidden")
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
"""The shape of a customer id (`cus_...`): it names a storage folder, so no dots or slashes."""


async def get_customer_filter(
    principal: PrincipalDep,
    platform: PlatformDep,
    customer_id: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=CUSTOMER_ID_PATTERN,
            description="Admins: act for / filter by this customer (404 if there is none).",
        ),
    ] = None,
) -> str | None:
    """`?customer_id=`, checked by shape (422) and, for admins, by existence (404).

    Customer keys may only name their own customer (`acting_customer` answers 403
    otherwise), so they learn nothing here about which other ids exist.
    """
    if customer_id is None or not principal.is_admin or customer_id == principal.customer_id:
        return customer_id
    exists = await platform.read(lambda session: session.get(Customer, customer_id) is not None)
    if not exists:
        raise not_found("customer", customer_id)
    return customer_id


CustomerFilter = Annotated[str | None, Depends(get_customer_filter)]


def acting_customer(principal: Principal, customer_id: str | None) -> str:
    """The customer on whose behalf a new object is created."""
    if not principal.is_admin:
        if customer_id is not None and customer_id != principal.customer_id:
            raise Problem(403, "only admins may act for another customer", kind="forbidden")
        assert principal.customer_id is not None  # customer keys always have one
        return principal.customer_id
    chosen = customer_id or principal.customer_id
    if chosen is None:
        # The request is well formed (the schema cannot know the caller): it is this key,
        # which belongs to no customer, that may not own objects. Hence 403, not 422.
        raise Problem(
            403,
            "a platform admin key belongs to no customer: pass customer_id to act for one",
            kind="customer-required",
        )
    return chosen


def list_scope(principal: Principal, customer_id: str | None) -> str | None:
    """The customer whose objects a list shows (None: everyone's, for admins)."""
    if principal.is_admin:
        return customer_id
    return acting_customer(principal, customer_id)


def owned(session: Session, model: type[T], ident: str, principal: Principal, what: str) -> T:
    """Load an object by id; 404 when missing or owned by another customer."""
    row = session.get(model, ident)
    if row is None or (
        not principal.is_admin and getattr(row, "customer_id", None) != principal.customer_id
    ):
        raise not_found(what, ident)
    return row


def scoped(query: Select[Any], model: type, scope: str | None) -> Select[Any]:
    """Restrict a query to one customer's rows (unless `scope` is None)."""
    if scope is None:
        return query
    return query.where(model.customer_id == scope)  # type: ignore[attr-defined]


Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
]
