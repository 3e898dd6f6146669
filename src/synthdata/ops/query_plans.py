"""`optimize-queries`: refresh planner statistics and check the hot queries' plans.

Each statement of `hot_queries.HOT_QUERIES` is planned on the configured database:
`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` on PostgreSQL (inside a transaction that is
rolled back, since ANALYZE runs the statement; the claims use ids that match no row)
and `EXPLAIN QUERY PLAN` on SQLite; `--explain` prints the plans. A full scan of a
table holding more than `SEQ_SCAN_ROWS` rows is a `warn` naming the index that would
serve the query and whether it exists: a PostgreSQL `Seq Scan`, a SQLite `SCAN table`
(with or without an index: SQLite's SCAN visits every row), and on PostgreSQL an index
scan that discarded more than `SEQ_SCAN_ROWS` rows by filter (the wrong index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, select, text

from synthdata.ops.hot_queries import HOT_QUERIES, HotQuery, IndexSpec, Probe, index_spec
from synthdata.ops.report import Report
from synthdata.service.core.db import utcnow
from synthdata.service.customers.models import Customer

SEQ_SCAN_ROWS = 1000
_EXPLAIN = "synthdata_explain"
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)\b")


@dataclass
class QueryPlan:
    """How the database would run one statement: its plan lines and scanned tables."""

    lines: list[str] = field(default_factory=list)
    raw: Any = None
    full_scans: list[str] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)  # table -> rows read and dropped


def optimize_queries(engine: Engine, *, analyze: bool, explain: bool) -> Report:
    """ANALYZE (optionally), then plan every hot query and judge its scans."""
    report = Report(f"optimize-queries ({engine.dialect.name})")
    if analyze:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        report.add("statistics", "ok", "ANALYZE refreshed the planner statistics")
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            probe = Probe(_some_customer(connection), utcnow())
            present = _present_schema(connection)
            sizes: dict[str, int] = {}
            for query in HOT_QUERIES:
                plan = _plan(connection, query, probe)
                plan.full_scans = [t for t in plan.full_scans if t in present.tables]
                for table in plan.full_scans:
                    if table not in sizes:
                        sizes[table] = _row_count(connection, table)
                _judge(report, query, plan, sizes, present, explain=explain)
        finally:
            transaction.rollback()  # EXPLAIN ANALYZE ran the claims: undo them
    return report


def _judge(
    report: Report,
    query: HotQuery,
    plan: QueryPlan,
    sizes: dict[str, int],
    present: Schema,
    *,
    explain: bool,
) -> None:
    data: dict[str, Any] = {"plan": plan.raw} if explain else {}
    shown = ("\n" + "\n".join(plan.lines)) if explain else ""
    large = [t for t in plan.full_scans if sizes.get(t, 0) > SEQ_SCAN_ROWS]
    wasteful = {t: n for t, n in plan.filtered.items() if n > SEQ_SCAN_ROWS}
    if large or wasteful:
        spec = index_spec(query.index)
        found = [f"sequential scan on {t} ({sizes[t]} rows)" for t in large]
        found += [f"index scan on {t} discarding {n} rows" for t, n in wasteful.items()]
        detail = f"{'; '.join(found)}; {_advice(spec, present.indexes)}"
        report.add(query.name, "warn", detail + shown, index=spec.name, ddl=spec.ddl(), **data)
        return
    small = [f"{t} ({sizes.get(t, 0)} rows)" for t in plan.full_scans]
    detail = "index scans only" if not small else "small tables scanned: " + ", ".join(small)
    report.add(query.name, "ok", detail + shown, **data)


def _advice(spec: IndexSpec, present: set[str]) -> str:
    columns = ", ".join(spec.columns)
    if spec.name not in present:
        return f"index {spec.name} ({columns}) would help and is missing: {spec.ddl()}"
    return f"index {spec.name} ({columns}) exists but was not chosen: run with --analyze"


def _plan(connection: Connection, query: HotQuery, probe: Probe) -> QueryPlan:
    postgres = connection.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " if postgres else "EXPLAIN QUERY PLAN "

    def rewrite(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
    ) -> tuple[str, Any]:
        # Only the statement marked below: the dialect's own BEGIN etc. pass unchanged.
        if context is not None and context.execution_options.get(_EXPLAIN):
            return prefix + statement, parameters
        return statement, parameters

    event.listen(connection, "before_cursor_execute", rewrite, retval=True)
    try:
        statement = query.build(probe).execution_options(**{_EXPLAIN: True})
        rows = list(connection.execute(statement).fetchall())
    finally:
        event.remove(connection, "before_cursor_execute", rewrite)
    return _read_postgres(rows[0][0]) if postgres else _read_sqlite(rows)


def _read_postgres(document: Any) -> QueryPlan:
    plan = QueryPlan(raw=document)

    def walk(node: dict[str, Any], depth: int) -> None:
        kind = node.get("Node Type", "?")
        relation = node.get("Relation Name")
        index = node.get("Index Name")
        line = "  " * depth + kind
        line += f" using {index}" if index else ""
        line += f" on {relation}" if relation else ""
        if "Actual Rows" in node:
            line += f" (rows={node['Actual Rows']}, {node.get('Actual Total Time', 0)} ms)"
        plan.lines.append(line)
        if kind == "Seq Scan" and relation:
            plan.full_scans.append(relation)
        elif relation and node.get("Rows Removed by Filter", 0):
            loops = int(node.get("Actual Loops", 1))
            dropped = int(node["Rows Removed by Filter"]) * loops
            plan.filtered[relation] = plan.filtered.get(relation, 0) + dropped
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(document[0]["Plan"], 0)
    return plan


def _read_sqlite(rows: list[Any]) -> QueryPlan:
    plan = QueryPlan(raw=[list(row) for row in rows])
    depth = {0: -1}
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        plan.lines.append("  " * depth[node_id] + str(detail))
        match = _SQLITE_SCAN.match(str(detail))
        if match:
            plan.full_scans.append(match.group(1))
    return plan


def _some_customer(connection: Connection) -> str:
    newest = connection.execute(select(Customer.id).order_by(Customer.id.desc()).limit(1)).scalar()
    return newest or "cus_000000000000probe"


@dataclass(frozen=True)
class Schema:
    """The tables and index names the database has now."""

    tables: set[str]
    indexes: set[str]


def _present_schema(connection: Connection) -> Schema:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    names: set[str] = set()
    for table in tables:
        names.update(i["name"] for i in inspector.get_indexes(table) if i["name"])
        names.update(u["name"] for u in inspector.get_unique_constraints(table) if u["name"])
        primary = inspector.get_pk_constraint(table).get("name")
        if primary:
            names.add(primary)
    return Schema(tables, names)


def _row_count(connection: Connection, table: str) -> int:
    if connection.dialect.name == "postgresql":
        estimate = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
        ).scalar()
        if estimate is not None and estimate >= 0:  # -1: never analyzed
            return int(estimate)
    quoted = connection.dialect.identifier_preparer.quote(table)
    return int(connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar() or 0)
