"""The statements the service runs most, built by the very functions the service calls.

Each entry names the table it reads and the index that should serve it (a name of
the schema's metadata, so a renamed index fails the tests rather than the advice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Executable, Table, select

from synthdata.jobs.leases import claim_chunk_statement, claim_job_statement
from synthdata.jobs.models import Job
from synthdata.jobs.reaper import due_chunks_query, due_jobs_query
from synthdata.service.core.pagination import page_query
from synthdata.service.customers.service import hash_secret, key_by_hash
from synthdata.service.deps import scoped
from synthdata.service.tables import metadata
from synthdata.service.usage.service import usage_query

# Ids that match no row: planning needs values, and a probe must never lock real work.
PROBE_JOB_ID = "job_000000000000probe"
PROBE_TOKEN = "0" * 32
PAGE_SIZE = 50  # the API's default page


@dataclass(frozen=True)
class Probe:
    """Parameter values for the statements (a real customer makes the plan realistic)."""

    customer_id: str
    now: datetime


@dataclass(frozen=True)
class HotQuery:
    """A statement on the request or job path, and the index it relies on."""

    name: str
    table: str
    index: str
    build: Callable[[Probe], Executable]


HOT_QUERIES: tuple[HotQuery, ...] = (
    HotQuery(
        "api key lookup by hash",
        "api_keys",
        "uq_api_keys_secret_hash",
        lambda p: key_by_hash(hash_secret("sdk_probe")),
    ),
    HotQuery(
        "job claim (prepare/finalize lease)",
        "jobs",
        "pk_jobs",
        lambda p: claim_job_statement(PROBE_JOB_ID, 60, phase="prepare", token=PROBE_TOKEN),
    ),
    HotQuery(
        "chunk claim (lease)",
        "job_chunks",
        "uq_job_chunks_job_id_index",
        lambda p: claim_chunk_statement(PROBE_JOB_ID, 0, 60, token=PROBE_TOKEN),
    ),
    HotQuery(
        "lapsed job leases (reaper)",
        "jobs",
        "ix_jobs_state_lease",
        lambda p: due_jobs_query(p.now, None),
    ),
    HotQuery(
        "lapsed chunk leases (reaper)",
        "job_chunks",
        "ix_job_chunks_state_lease",
        lambda p: due_chunks_query(p.now, None),
    ),
    HotQuery(
        "job list of a customer",
        "jobs",
        "ix_jobs_customer_id",
        lambda p: page_query(scoped(select(Job), Job, p.customer_id), Job.id, PAGE_SIZE, None),
    ),
    HotQuery(
        "usage of a customer",
        "charges",
        "ix_charges_customer_id",
        lambda p: usage_query(customer_id=p.customer_id, since=None, until=None),
    ),
)


@dataclass(frozen=True)
class IndexSpec:
    """An index of the schema: its table, columns and whether it is unique."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool

    def ddl(self) -> str:
        kind = "UNIQUE INDEX" if self.unique else "INDEX"
        return f"CREATE {kind} {self.name} ON {self.table} ({', '.join(self.columns)})"


def index_spec(name: str) -> IndexSpec:
    """The index (or unique/primary key constraint) called `name` in the schema."""
    for table in metadata.tables.values():
        for index in table.indexes:
            if index.name == name:
                return _spec(name, table, [c.name for c in index.columns], bool(index.unique))
        for constraint in table.constraints:
            if constraint.name == name and hasattr(constraint, "columns"):
                return _spec(name, table, [c.name for c in constraint.columns], True)
    raise KeyError(f"no index or constraint named {name!r} in the schema")


def _spec(name: str, table: Table, columns: list[str], unique: bool) -> IndexSpec:
    return IndexSpec(name, table.name, tuple(columns), unique)
