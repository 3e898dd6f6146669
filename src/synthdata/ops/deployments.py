"""`synthdata ops check-recent-deployments --last 4h`: what started, and what changed.

Every API and worker process records its start (version, digest of the non-secret
settings, host, pid) in the deployments table. A start whose version or configuration
differs from the previous start of the same component is a deployment: the first
suspect of an alert. With `kubectl` and a current context, the rollout history of
deployment/synthdata-api is added.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from synthdata.ops.diagnose import age_text, connected_database, reason
from synthdata.ops.report import Report, Status
from synthdata.ops.timeparse import duration_text
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.deployments.models import Deployment

KUBE_NAMESPACE = "synthdata"
KUBE_DEPLOYMENT = "deployment/synthdata-api"
KUBECTL_TIMEOUT_SECONDS = 30
SUSPECT = "deployment in the window: suspect it first"
# More starts than this in the window are summed up, not listed one by one.
MAX_LISTED = 50


def recent_deployments(settings: Settings, *, window: timedelta) -> Report:
    """The check-recent-deployments report for the last `window`."""
    report = Report(f"check-recent-deployments --last {duration_text(window)}")
    with connected_database(report, settings) as engine:
        if engine is not None:
            _starts(report, engine, window)
    rollout_history(report)
    return report


def _starts(report: Report, engine: Engine, window: timedelta) -> None:
    since = utcnow() - window
    try:
        with Session(engine) as session:
            recent = list(
                session.scalars(
                    select(Deployment)
                    .where(Deployment.started_at >= since)
                    .order_by(Deployment.started_at, Deployment.id)
                )
            )
            # What each component ran just before the window: the baseline of a change.
            previous = {
                component: session.scalars(
                    select(Deployment)
                    .where(Deployment.component == component, Deployment.started_at < since)
                    .order_by(Deployment.started_at.desc(), Deployment.id.desc())
                    .limit(1)
                ).first()
                for component in {row.component for row in recent}
            }
    except SQLAlchemyError as exc:
        report.add("deployments", "fail", f"cannot read the deployments table ({reason(exc)})")
        return
    span = duration_text(window)
    if not recent:
        report.add("deployments", "ok", f"no process started in the last {span}")
        return
    changed = listed = 0
    now = utcnow()
    for index, row in enumerate(recent):
        before = previous.get(row.component)
        changes = _changes(before, row)
        previous[row.component] = row
        changed += bool(changes)
        if changes or index >= len(recent) - MAX_LISTED:
            listed += 1
            detail = (
                f"{row.version} on {row.host} pid {row.pid}, {age_text(now - row.started_at)} ago"
            )
            report.add(
                f"{row.component} start {row.started_at:%Y-%m-%d %H:%M:%S}Z",
                "warn" if changes else "info",
                f"{detail}: {'; '.join(changes)}; {SUSPECT}" if changes else f"{detail}: restart",
                component=row.component,
                version=row.version,
                config_digest=row.config_digest,
                host=row.host,
                pid=row.pid,
                started_at=row.started_at,
            )
    if listed < len(recent):
        report.add("older starts", "info", f"{len(recent) - listed} older restart(s) not listed")
    counts = {c: sum(r.component == c for r in recent) for c in sorted(previous)}
    per = ", ".join(f"{c}: {n}" for c, n in counts.items())
    summary = f"{len(recent)} start(s) in the last {span} ({per})"
    if changed:
        report.add("deployments", "warn", f"{summary}, {changed} with a change: {SUSPECT}")
    else:
        report.add("deployments", "ok", f"{summary}, no version or configuration change")


def _changes(before: Deployment | None, row: Deployment) -> list[str]:
    """What differs from the component's previous start (a first start is a change)."""
    if before is None:
        return [f"first recorded start of {row.component} (version {row.version})"]
    changes = []
    if before.version != row.version:
        changes.append(f"version {before.version} -> {row.version}")
    if before.config_digest != row.config_digest:
        changes.append(
            f"configuration changed (digest {before.config_digest[:12]} -> "
            f"{row.config_digest[:12]})"
        )
    return changes


def rollout_history(report: Report) -> None:
    """`kubectl rollout history` of the API deployment, when kubectl has a cluster."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        report.add("kubernetes", "info", "kubectl not available")
        return
    context = _kubectl(kubectl, "config", "current-context")
    if context is None or context.returncode != 0 or not context.stdout.strip():
        report.add("kubernetes", "info", "kubectl not available: no current context")
        return
    name = context.stdout.strip()
    history = _kubectl(
        kubectl,
        "rollout",
        "history",
        KUBE_DEPLOYMENT,
        "-n",
        KUBE_NAMESPACE,
        "--request-timeout=10s",
    )
    where = f"{KUBE_DEPLOYMENT} -n {KUBE_NAMESPACE} (context {name})"
    if history is None:
        report.add("kubernetes", "unreachable", f"kubectl timed out on {where}")
        return
    if history.returncode != 0:
        error = (history.stderr.strip().splitlines() or ["no output"])[-1][:300]
        status: Status = "info" if "NotFound" in error or "not found" in error else "unreachable"
        report.add("kubernetes", status, f"rollout history of {where}: {error}")
        return
    lines = [line.rstrip() for line in history.stdout.strip().splitlines() if line.strip()]
    revisions = [line for line in lines if line[:1].isdigit()]
    latest = revisions[-1].split(None, 1) if revisions else []
    detail = f"{where}: {len(revisions)} revision(s)"
    if latest:
        detail += f", latest {latest[0]}" + (f" ({latest[1]})" if len(latest) > 1 else "")
    report.add("kubernetes", "info", detail, history=lines)


def _kubectl(kubectl: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [kubectl, *args],
            capture_output=True,
            text=True,
            timeout=KUBECTL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError as exc:
        return subprocess.CompletedProcess([kubectl, *args], 1, "", reason(exc))
