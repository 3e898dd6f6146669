"""`synthdata serve`, `synthdata worker` and `synthdata admin ...`.

Each command parses its options, calls the service or jobs domain, and prints
through the shared console. Configuration comes from `SYNTHDATA_*` variables; the
database and files are found the same way by every command (`SYNTHDATA_HOME`, see
service/core/settings.py), and each says on stderr which database it uses.
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
from synthdata.service.core.db import (
    database_location,
    make_engine,
    make_session_factory,
    session_scope,
)
from synthdata.service.core.migrate import current_revision, upgrade_head
from synthdata.service.core.settings import Settings, deprecated_env_lines, local_api_url

T = TypeVar("T")
API_SERVICE = "synthdata-api"

admin_app = typer.Typer(
    help="Customers, API keys and migrations, in the server's database: the one under "
    "SYNTHDATA_HOME (default ~/.local/share/synthdata), or SYNTHDATA_DATABASE_URL. "
    "Each command names it on stderr.",
    no_args_is_help=True,
)


def settings_from_env() -> Settings:
    for line in deprecated_env_lines():
        error(line, prefix="warning")
    try:
        return Settings()
    except ValidationError as exc:
        error(f"invalid configuration: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None


def prepare_database(settings: Settings, *, announce: bool = True) -> None:
    """Migrate the database, saying on stderr which one (and whether it was empty).

    A wrong SYNTHDATA_HOME or SYNTHDATA_DATABASE_URL would otherwise quietly give a
    fresh database whose keys the server refuses; the line shows it at once. Without
    `announce` the line is printed only for a new (empty) database.
    """
    where = database_location(settings.database_url)
    new = current_revision(settings.database_url) is None
    upgrade_head(settings.database_url)
    if new:
        info(
            f"database: {where} (new: it was empty; a server started with another "
            "SYNTHDATA_HOME or SYNTHDATA_DATABASE_URL uses another one)"
        )
    elif announce:
        info(f"database: {where}")


@contextmanager
def _session(settings: Settings, *, announce: bool = True) -> Iterator[Session]:
    prepare_database(settings, announce=announce)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def run_in_session(action: Callable[[Session], T], *, announce: bool = True) -> T:
    """Run `action` in a committed session; user errors exit with code 2. `announce`:
    name the database on stderr (the admin commands do; incident commands only when it
    was empty, so their errors stay one line)."""
    try:
        with _session(settings_from_env(), announce=announce) as session:
            return action(session)
    except InputError as exc:
        error(str(exc))
        raise typer.Exit(2) from None


def _print_value(value: str) -> None:
    """Print an id or secret on one line, unwrapped and unstyled, for scripts to capture."""
    console.print(value, soft_wrap=True, highlight=False, markup=False)


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default: SYNTHDATA_HOST, else 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Port to listen on (default: SYNTHDATA_PORT, else 8000)."
        ),
    ] = None,
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
        str | None,
        typer.Option(
            help="Proxies trusted for X-Forwarded-For: addresses or CIDRs, comma-separated "
            "(default: SYNTHDATA_TRUSTED_PROXIES, else loopback). '*' is refused."
        ),
    ] = None,
) -> None:
    """Run the REST API (and, with the local queue, the job workers) until interrupted."""
    from synthdata.service.serving import run_server

    if forwarded_allow_ips is not None:  # read by the app factory in every server process
        os.environ["SYNTHDATA_TRUSTED_PROXIES"] = forwarded_allow_ips
    settings = settings_from_env()
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    if job_threads is not None:  # read by each server process
        os.environ["SYNTHDATA_SERVE_WORKERS"] = str(job_threads)
    threads = settings.serve_workers if job_threads is None else job_threads
    job_process = None
    if threads and settings.queue == "local" and settings.offload_cpu_work:
        # Nothing here may import prometheus_client before the metrics directory is
        # prepared below (it would write into the directory about to be emptied).
        from synthdata.jobs.supervisor import JOBS_ELSEWHERE, WorkerProcess

        job_process = WorkerProcess(threads=threads, nice=settings.offload_nice)
        os.environ[JOBS_ELSEWHERE] = "1"  # none inside the server processes
    info(
        f"API {local_api_url(host, port)}; database {database_location(settings.database_url)};"
        f" files {settings.data_dir.absolute()}"
    )
    if workers > 1 or job_process is not None:  # several processes: one /metrics for all
        prepare_multiprocess_metrics(settings.data_dir.parent / "prometheus")
    if job_process is not None and settings.migrate_on_start:
        # Once, before the server and its worker both start: two processes migrating one
        # SQLite file at the same moment would race.
        prepare_database(settings, announce=False)
    run_server(  # binds the port first: a busy port fails before the app starts
        "synthdata.service.asgi:create_service_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The app itself believes X-Forwarded-For, from SYNTHDATA_TRUSTED_PROXIES only
        # (service/core/proxies.py); uvicorn's copy would apply its own list first.
        proxy_headers=False,
        log_config=None,  # the app logs JSON lines itself
        access_log=False,  # one access-log line per request comes from the app
        companion=job_process,
    )


def worker(
    threads: Annotated[int, typer.Option(min=1, help="Jobs run at once by this worker.")] = 1,
    metrics_port: Annotated[
        int,
        typer.Option(help="Serve this worker's /metrics on this port (0: none)."),
    ] = 8001,
    metrics_host: Annotated[str, typer.Option(help="Address for /metrics.")] = "127.0.0.1",
    nice: Annotated[
        int,
        typer.Option(
            min=0,
            max=19,
            help="Lower this worker's CPU priority by this much (nice).",
        ),
    ] = 0,
    parent_pid: Annotated[
        int, typer.Option(hidden=True, help="Exit when this process is gone (0: never).")
    ] = 0,
) -> None:
    """Consume the job queue (run any number of these; stop with Ctrl-C or SIGTERM)."""
    from synthdata.jobs.worker import run_worker
    from synthdata.observability.logging import configure_logging

    if nice:
        from synthdata.engine.threads import lower_priority

        lower_priority(nice)
    if parent_pid:  # the embedded worker of `synthdata serve` (jobs/supervisor.py)
        from synthdata.jobs.supervisor import exit_with_parent

        exit_with_parent(parent_pid)
    settings = settings_from_env()
    where = database_location(settings.database_url)
    info(f"database {where}; files {settings.data_dir.absolute()}")
    configure_logging(settings.log_level, log_file=settings.log_file)
    run_worker(settings, threads=threads, metrics_address=(metrics_host, metrics_port))


# -- admin ------------------------------------------------------------------------------
@admin_app.command("migrate")
def migrate() -> None:
    """Bring the database schema up to date (serve and worker also do this at start)."""
    prepare_database(settings_from_env())
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
        typer.Argument(
            metavar="CUSTOMER_ID",
            help="The customer the key acts for (cus_...). Not with --admin: an admin "
            "key acts for every customer.",
        ),
    ] = None,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin",
            help="A platform admin key: it may do everything, for every customer "
            "(customers, keys, circuit breaker, audit log, incidents). It belongs to no "
            "customer, so it takes no CUSTOMER_ID.",
        ),
    ] = False,
    role: Annotated[
        str, typer.Option(help="customer (the default) or admin; --role admin is --admin.")
    ] = "customer",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
) -> None:
    """Create an API key and print its secret (shown only this once).

    create-key CUSTOMER_ID   a customer key (that customer's data only)

    create-key --admin       a platform admin key (every customer's data)
    """
    from synthdata.service.admin.service import audit
    from synthdata.service.customers.models import Customer, KeyCreate, Role
    from synthdata.service.customers.service import create_key as create

    if role not in ("customer", "admin"):
        error(f"unknown role {role!r} (customer or admin)")
        raise typer.Exit(2)
    chosen = Role.ADMIN if admin or role == "admin" else Role.CUSTOMER
    if customer_id is None and chosen != Role.ADMIN:
        error("give CUSTOMER_ID for a customer key, or --admin for a platform admin key")
        raise typer.Exit(2)
    if customer_id is not None and chosen == Role.ADMIN:
        # There is no admin "of" one customer: an admin key acts for every customer, so
        # naming one would promise a limit that does not exist.
        error(
            "an admin key is platform-wide (it acts for every customer), so it takes no "
            "CUSTOMER_ID: run `synthdata admin create-key --admin`; for a key limited to "
            f"{customer_id}, leave out --admin"
        )
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
