"""`cleanup-metrics` and `cleanup-storage`: delete what is past keeping.

`cleanup-storage` runs the orphan sweep of `jobs/orphans.py` once: objects under
`customers/` in the artifact store (`<data_dir>/customers` by default, or the S3
bucket) that no row references and that are older than a grace period (every worker
also runs it each `orphan_sweep_interval_seconds`).

`cleanup-metrics` deletes every sample older than a cutoff through Prometheus' admin API.

Steps: read the retention (`/api/v1/status/flags`; when it is no longer than the
cutoff the cleanup is moot, and we say so); count the series and samples older than
the cutoff (`count_over_time` evaluated at the cutoff); then, unless `dry_run`,
`POST /api/v1/admin/tsdb/delete_series` with `match[]={__name__=~".+"}` and
`end=<cutoff>`, `POST /api/v1/admin/tsdb/clean_tombstones`, and count again.

The admin API is off unless Prometheus runs with `--web.enable-admin-api`; it then
answers "admin APIs disabled", reported as a failure with that fix. A dry run asks
the admin API about a series that cannot exist, so it tells whether the real run
would be allowed without deleting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from synthdata.ops.live_api import ApiError, LiveApi, Unreachable
from synthdata.ops.report import Report
from synthdata.ops.timeparse import duration_text, parse_duration
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

EVERYTHING = '{__name__=~".+"}'
PROBE = '{__name__="synthdata_cleanup_probe_matches_nothing"}'
DEFAULT_RETENTION = timedelta(days=15)  # Prometheus' own default
ADMIN_FIX = (
    "start Prometheus with --web.enable-admin-api "
    "(kube-prometheus-stack: prometheus.prometheusSpec.enableAdminAPI: true)"
)


@dataclass(frozen=True)
class OldData:
    """What lies before the cutoff."""

    series: int
    samples: int


def retention(api: LiveApi) -> timedelta:
    """The time-based retention Prometheus runs with."""
    flags = api.get("/api/v1/status/flags")
    for name in ("storage.tsdb.retention.time", "storage.tsdb.retention"):
        value = str(flags.get(name) or "0s")
        if value not in ("0s", "0"):
            return parse_duration(value)
    return DEFAULT_RETENTION


def old_data(api: LiveApi, cutoff: datetime, kept: timedelta, older_than: timedelta) -> OldData:
    """Series and samples with a timestamp before `cutoff` (as far back as retention goes).

    Counted one metric name at a time: `count_over_time` drops the name, so over every
    name at once two series that differ only by name (`up` and
    `scrape_duration_seconds` of one target) collide and Prometheus refuses the whole
    query (HTTP 422, "vector cannot contain metrics with the same labelset")."""
    window = max(kept - older_than, timedelta(0)) + timedelta(days=1)
    span = duration_text(window)
    names = api.get(
        "/api/v1/label/__name__/values",
        start=f"{(cutoff - window).timestamp():.3f}",
        end=f"{cutoff.timestamp():.3f}",
    )
    series = samples = 0
    for name in names or []:
        rows = api.query(f'count_over_time({{__name__="{name}"}}[{span}])', at=cutoff)
        series += len(rows)
        samples += sum(int(float(row["value"][1])) for row in rows)
    return OldData(series, samples)


def _admin_refused(report: Report, exc: ApiError) -> None:
    if "admin APIs disabled" in exc.message or exc.status == 405:
        report.add("admin API", "fail", f"Prometheus admin API is disabled: {ADMIN_FIX}")
    else:
        report.add("admin API", "fail", f"Prometheus refused the deletion: {exc}")


def cleanup_metrics(
    prometheus_url: str,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Report:
    """Delete (or with `dry_run`, only count) every sample older than `older_than`."""
    cutoff = (now or utcnow()) - older_than
    label = duration_text(older_than)
    report = Report(f"cleanup-metrics (older than {label}{', dry run' if dry_run else ''})")
    with LiveApi("Prometheus", prometheus_url) as api:
        try:
            kept = retention(api)
        except (Unreachable, ApiError) as exc:
            report.add("Prometheus", "unreachable", str(exc))
            return report
        moot = kept <= older_than
        report.add(
            "retention",
            "info",
            f"{duration_text(kept)}: "
            + (
                f"Prometheus already drops samples older than {label}; the cleanup is moot"
                if moot
                else f"samples are kept past {label}"
            ),
            retention=duration_text(kept),
            moot=moot,
        )
        try:
            before = old_data(api, cutoff, kept, older_than)
        except ApiError as exc:
            before = None
            report.add("old data", "info", f"could not be counted: {exc}")
        except Unreachable as exc:
            report.add("Prometheus", "unreachable", str(exc))
            return report
        if before is not None:
            report.add(
                "old data",
                "info",
                f"{before.samples} samples in {before.series} series before "
                f"{cutoff:%Y-%m-%d %H:%M} UTC",
                series=before.series,
                samples=before.samples,
                cutoff=cutoff.isoformat(),
            )
        if before is not None and before.samples == 0:
            # Nothing qualifies: done, whether or not the admin API would allow a deletion.
            report.add("deleted", "ok", f"nothing to delete: no sample older than {label}")
            return report
        if dry_run:
            _probe_admin(report, api)
            return report
        _delete(report, api, cutoff, kept, older_than, before)
    return report


def _probe_admin(report: Report, api: LiveApi) -> None:
    try:
        api.request("POST", "/api/v1/admin/tsdb/delete_series", params={"match[]": PROBE})
    except ApiError as exc:
        # A dry run deletes nothing, so a closed admin API is a note, not a failure.
        detail = ADMIN_FIX if "admin APIs disabled" in exc.message else str(exc)
        report.add("admin API", "info", f"the real run would be refused: {detail}")
    except Unreachable as exc:
        report.add("admin API", "unreachable", str(exc))
    else:
        report.add("admin API", "ok", "enabled (dry run: nothing deleted)")


def _delete(
    report: Report,
    api: LiveApi,
    cutoff: datetime,
    kept: timedelta,
    older_than: timedelta,
    before: OldData | None,
) -> None:
    end = f"{cutoff.timestamp():.3f}"
    try:
        api.request(
            "POST", "/api/v1/admin/tsdb/delete_series", params={"match[]": EVERYTHING, "end": end}
        )
        api.request("POST", "/api/v1/admin/tsdb/clean_tombstones")
    except ApiError as exc:
        _admin_refused(report, exc)
        return
    except Unreachable as exc:
        report.add("Prometheus", "unreachable", str(exc))
        return
    try:
        after = old_data(api, cutoff, kept, older_than)
    except (ApiError, Unreachable) as exc:
        report.add("deleted", "warn", f"deletion sent, but the result could not be counted: {exc}")
        return
    gone = f"{before.samples} samples in {before.series} series" if before else "old samples"
    if after.samples:
        report.add("deleted", "warn", f"{after.samples} samples still before the cutoff")
    else:
        report.add(
            "deleted",
            "ok",
            f"{gone} deleted, tombstones cleaned; nothing left before the cutoff",
            deleted_samples=before.samples if before else None,
        )


_LISTED = 20  # orphans named in the report; the rest are counted


def cleanup_storage(settings: Settings, older_than: timedelta, *, dry_run: bool = False) -> Report:
    """Remove (or with `dry_run`, only list) orphaned files older than `older_than`."""
    from sqlalchemy.exc import OperationalError

    from synthdata.artifacts import StoreError
    from synthdata.jobs.orphans import sweep_orphans
    from synthdata.service.core.db import make_engine, make_session_factory
    from synthdata.service.core.storage import CUSTOMERS, Storage

    label = duration_text(older_than)
    report = Report(f"cleanup-storage (older than {label}{', dry run' if dry_run else ''})")
    storage = Storage.open(settings)
    where = f"{storage.store.describe()} {CUSTOMERS}/"
    engine = make_engine(settings.database_url)
    try:
        sweep = sweep_orphans(
            make_session_factory(engine), storage, older_than.total_seconds(), dry_run=dry_run
        )
    except OperationalError as exc:
        # Without the references every file would look orphaned: delete nothing.
        report.add("database", "unreachable", str(exc.orig).strip().splitlines()[0][:200])
        return report
    except StoreError as exc:
        report.add("store", "unreachable", f"{storage.store.describe()}: {exc}"[:300])
        return report
    finally:
        engine.dispose()
    report.add(
        "data directory",
        "info",
        f"{sweep.scanned} files under {where}",
        path=where,
        files=sweep.scanned,
    )
    count, size = len(sweep.removed), sweep.removed_bytes
    if not count:
        detail = f"no unreferenced file older than {label}"
    elif dry_run:
        detail = f"{count} unreferenced files ({size} bytes) would be removed"
    else:
        detail = f"removed {count} unreferenced files ({size} bytes)"
    report.add(
        "orphans",
        "info" if dry_run and count else "ok",
        detail,
        files=count,
        bytes=size,
        paths=sweep.removed[:_LISTED],
    )
    if sweep.young:
        report.add(
            "recent",
            "info",
            f"{sweep.young} unreferenced files younger than {label} kept "
            "(an upload or a job may still be recording them)",
            files=sweep.young,
        )
    if sweep.failed:
        report.add(
            "undeleted",
            "warn",
            f"{sweep.failed} unreferenced files could not be deleted (see the log)",
            files=sweep.failed,
        )
    return report
