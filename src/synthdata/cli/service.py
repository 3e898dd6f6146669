"""`synthdata serve`, `synthdata worker` and `synthdata admin ...`.

Each command parses its options, calls the service or jobs domain, and prints
through the shared console. Configuration comes from `SYNTHDATA_*` variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from synthdata.cli.console import console, error, info
from synthdata.engine.errors import InputError
from synthdata.observability.multiprocess import prepare_multiprocess_metrics
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.settings import Settings

T = TypeVar("T")
API_SERVICE = "synthdata-api"

admin_app = typer.Typer(help="Customers, API keys and migrations.", no_args_is_help=True)


def settings_from_env() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error(f"invalid configuration: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    upgrade_head(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def run_in_session(action: Callable[[Session], T]) -> T:
    """Run `action` in a committed session; user errors exit with code 2."""
    try:
        with _session(settings_from_env()) as session:
            return action(session)
    except InputError as exc:
        error(str(exc))
        raise typer.Exit(2) from None


def _print_value(value: str) -> None:
    """Print an id or secret on one line, unwrapped and unstyled, for scripts to capture."""
    console.print(value, soft_wrap=True, highlight=False, markup=False)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(min=1, help="API server processes (metrics are merged across them)."),
    ] = 1,
    job_threads: Annotated[
        int | None,
        typer.Option(
            help="Job threads inside each server process (default: SYNTHDATA_SERVE_WORKERS; "
            "0 with the Redis queue)."
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxies trusted for X-Forwarded-For (comma-separated).")
    ] = "127.0.0.1",
) -> None:
    """Run the REST API (and, with the local queue, the job workers) until interrupted."""
    import uvicorn

    settings = settings_from_env()
    if job_threads is not None:
        os.environ["SYNTHDATA_SERVE_WORKERS"] = str(job_threads)
    if workers > 1:
        prepare_multiprocess_metrics(settings.data_dir.parent / "prometheus")
    uvicorn.run(
        "synthdata.service.asgi:create_service_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_config=None,  # the app logs JSON lines itself
        access_log=False,  # one access-log line per request comes from the app
    )


def worker(
    threads: Annotated[int, typer.Option(min=1, help="Jobs run at once by this worker.")] = 1,
    metrics_port: Annotated[
        int,
        typer.Option(help="Serve this worker's /metrics on this port (0: none)."),
    ] = 8001,
    metrics_host: Annotated[str, typer.Option(help="Address for /metrics.")] = "127.0.0.1",
) -> None:
    """Consume the job queue (run any number of these; stop with Ctrl-C or SIGTERM)."""
    from synthdata.jobs.worker import run_worker
    from synthdata.observability.logging import configure_logging

    settings = settings_from_env()
    configure_logging(settings.log_level, log_file=settings.log_file)
    run_worker(settings, threads=threads, metrics_address=(metrics_host, metrics_port))


# -- admin ------------------------------------------------------------------------------
@admin_app.command("migrate")
def migrate() -> None:
    """Bring the database schema up to date (serve and worker also do this at start)."""
    settings = settings_from_env()
    upgrade_head(settings.database_url)
    info("database schema is up to date")


@admin_app.command("create-customer")
def create_customer(
    name: Annotated[str, typer.Argument(help="The customer's name.")],
    plan: Annotated[str, typer.Option(help="Plan name.")] = "standard",
    price_per_1k_rows: Annotated[str, typer.Option(help="Price per 1,000 rows.")] = "0",
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "USD",
) -> None:
    """Create a customer and print its id."""
    from synthdata.service.admin.service import audit
    from synthdata.service.customers.models import CustomerCreate
    from synthdata.service.customers.service import create_customer as create

    try:
        body = CustomerCreate(
            name=name, plan=plan, price_per_1k_rows=Decimal(price_per_1k_rows), currency=currency
        )
    except (ValidationError, InvalidOperation) as exc:
        error(f"invalid customer: {exc}")
        raise typer.Exit(2) from None

    def action(session: Session) -> str:
        customer = create(session, body)
        audit(session, actor="cli", action="customer.create", target=customer.id)
        return customer.id

    _print_value(run_in_session(action))


@admin_app.command("list-customers")
def list_customers() -> None:
    """Print every customer: id, name, plan, price per 1k rows."""
    from synthdata.service.customers.models import CustomerOut
    from synthdata.service.customers.service import list_customers as listing

    rows = run_in_session(
        lambda s: [CustomerOut.of(c) for c in listing(s, limit=10_000, after=None)]
    )
    for c in rows:
        console.print(
            f"{c.id}\t{c.name}\t{c.plan}\t{c.price_per_1k_rows} {c.currency}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )


@admin_app.command("create-key")
def create_key(
    customer_id: Annotated[
        str | None,
        typer.Argument(help="The customer the key acts for (omit for a platform admin key)."),
    ] = None,
    role: Annotated[
        str, typer.Option(help="customer, or admin (with CUSTOMER_ID: an admin of it).")
    ] = "customer",
    admin: Annotated[
        bool, typer.Option("--admin", help="Same as --role admin.", hidden=True)
    ] = False,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from synthdata.service.admin.service import audit
    from synthdata.service.customers.models import Customer, KeyCreate, Role
    from synthdata.service.customers.service import create_key as create

    if role not in ("customer", "admin"):
        error(f"unknown role {role!r} (customer or admin)")
        raise typer.Exit(2)
    chosen = Role.ADMIN if admin or role == "admin" else Role.CUSTOMER
    if customer_id is None and chosen != Role.ADMIN:
        error("give CUSTOMER_ID, or --role admin for a platform admin key")
        raise typer.Exit(2)

    def action(session: Session) -> str:
        if customer_id is not None and session.get(Customer, customer_id) is None:
            raise InputError(f"customer {customer_id!r} not found")
        key, secret = create(session, customer_id, KeyCreate(name=name, role=chosen))
        audit(
            session,
            actor="cli",
            action="api_key.create",
            target=key.id,
            detail={"customer_id": customer_id, "role": chosen.value},
        )
        return secret

    _print_value(run_in_session(action))
    info("store this key now: it cannot be shown again")


@admin_app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]) -> None:
    """Revoke an API key."""
    from synthdata.service.admin.service import audit
    from synthdata.service.customers.models import ApiKey
    from synthdata.service.customers.service import revoke_key as revoke

    def action(session: Session) -> None:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise InputError(f"API key {key_id!r} not found")
        revoke(session, key)
        audit(session, actor="cli", action="api_key.revoke", target=key_id)

    run_in_session(action)
    info(f"revoked {key_id}")
