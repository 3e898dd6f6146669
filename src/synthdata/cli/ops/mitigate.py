"""`synthdata ops`: scale, restart, update-resources, redirect-traffic (kubectl), and
configure-cache, optimize-queries (the platform itself)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from synthdata.cli.ops.app import ops_app, run_in_session, settings_from_env
from synthdata.ops import kubectl
from synthdata.ops.kubectl import Plan, Target
from synthdata.ops.report import Report, emit

Namespace = Annotated[
    str, typer.Option(help="Kubernetes namespace (as in monitoring/k8s/).", show_default=True)
]
Context = Annotated[
    str | None, typer.Option(help="kubeconfig context (default: the current context).")
]
Deployment = Annotated[str, typer.Option(help="The Deployment to act on.")]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the kubectl commands, one per line; run nothing.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _name(value: str) -> str:
    try:
        return kubectl.check_name(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _target(namespace: str, context: str | None) -> Target:
    return Target(_name(namespace), context)


def _record(plan: Plan, ok: bool) -> None:
    from synthdata.ops.mitigate import audit_plan

    run_in_session(lambda session: audit_plan(session, plan, ok, actor="cli"))


def _kube(plan: Plan, *, dry_run: bool, as_json: bool) -> None:
    from synthdata.ops.mitigate import carry_out

    if dry_run:
        if as_json:
            commands = [step.argv for step in plan.steps]
            sys.stdout.write(json.dumps({"dry_run": True, "commands": commands}, indent=2) + "\n")
        else:
            for step in plan.steps:
                typer.echo(step.line)
        raise typer.Exit(0)
    raise typer.Exit(emit(carry_out(plan, _record), as_json=as_json))


@ops_app.command("scale")
def scale(
    replicas: Annotated[int, typer.Option(min=0, help="Pods wanted.")],
    deployment: Deployment = kubectl.API_DEPLOYMENT,
    namespace: Namespace = kubectl.NAMESPACE,
    context: Context = None,
    dry_run: DryRun = False,
    json_flag: JsonFlag = False,
) -> None:
    """kubectl scale deployment synthdata-api --replicas=N (the worker's HPA overrides it)."""
    from synthdata.ops.mitigate import scale_plan

    plan = scale_plan(_target(namespace, context), _name(deployment), replicas)
    _kube(plan, dry_run=dry_run, as_json=json_flag)


@ops_app.command("restart")
def restart(
    deployment: Deployment = kubectl.API_DEPLOYMENT,
    namespace: Namespace = kubectl.NAMESPACE,
    context: Context = None,
    dry_run: DryRun = False,
    json_flag: JsonFlag = False,
) -> None:
    """kubectl rollout restart deployment synthdata-api (a rolling restart)."""
    from synthdata.ops.mitigate import restart_plan

    plan = restart_plan(_target(namespace, context), _name(deployment))
    _kube(plan, dry_run=dry_run, as_json=json_flag)


@ops_app.command("update-resources")
def update_resources(
    cpu: Annotated[str, typer.Option(help="CPU limit: cores (4, 1.5) or millicores (500m).")],
    memory: Annotated[str, typer.Option(help="Memory limit: 8Gi, 512Mi, 8G.")],
    cpu_request: Annotated[
        str | None, typer.Option(help="CPU request (default: half the limit).")
    ] = None,
    memory_request: Annotated[
        str | None, typer.Option(help="Memory request (default: the limit).")
    ] = None,
    deployment: Deployment = kubectl.API_DEPLOYMENT,
    namespace: Namespace = kubectl.NAMESPACE,
    context: Context = None,
    dry_run: DryRun = False,
    json_flag: JsonFlag = False,
) -> None:
    """kubectl set resources deployment/NAME --limits=cpu=..,memory=.. --requests=..."""
    from synthdata.ops.mitigate import resource_settings, resources_plan

    try:
        limits, requests = resource_settings(cpu, memory, cpu_request, memory_request)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    plan = resources_plan(_target(namespace, context), _name(deployment), limits, requests)
    _kube(plan, dry_run=dry_run, as_json=json_flag)


@ops_app.command("redirect-traffic")
def redirect_traffic(
    source: Annotated[str, typer.Option("--from", help="kubeconfig context of the site to leave.")],
    destination: Annotated[
        str, typer.Option("--to", help="kubeconfig context of the site to send traffic to.")
    ],
    to_endpoint: Annotated[
        str | None,
        typer.Option(
            help="Host name of the destination's API (default: its Multi-Cluster Services "
            "name, synthdata-api.NAMESPACE.svc.clusterset.local)."
        ),
    ] = None,
    replicas: Annotated[
        int, typer.Option(min=1, help="API pods to run at the destination first.")
    ] = kubectl.API_REPLICAS,
    namespace: Namespace = kubectl.NAMESPACE,
    dry_run: DryRun = False,
    json_flag: JsonFlag = False,
) -> None:
    """Scale up the destination's API, wait for it, then alias the source's Service to it."""
    from synthdata.ops.mitigate import default_endpoint, redirect_plan

    if source == destination:
        raise typer.BadParameter("--from and --to name the same site")
    endpoint = to_endpoint or default_endpoint(_name(namespace))
    plan = redirect_plan(_name(namespace), source, destination, endpoint, replicas)
    _kube(plan, dry_run=dry_run, as_json=json_flag)


@ops_app.command("configure-cache")
def configure_cache(
    redis: Annotated[bool, typer.Option("--redis", help="Keep models in Redis.")] = False,
    ttl: Annotated[
        int | None, typer.Option(min=1, help="Seconds an entry is kept (default: unchanged).")
    ] = None,
    disable: Annotated[bool, typer.Option("--disable", help="Stop caching models.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Only print the current state.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Cache fitted models, so jobs on an unchanged dataset skip the fit (all replicas)."""
    from synthdata.jobs.model_cache import read_config
    from synthdata.ops.model_cache import cache_report, configure

    settings = settings_from_env()
    if show:
        config = run_in_session(read_config)
    else:
        config = run_in_session(
            lambda s: configure(s, settings, redis=redis, ttl=ttl, disable=disable)
        )
    raise typer.Exit(emit(cache_report(config, settings), as_json=json_flag))


@ops_app.command("optimize-queries")
def optimize_queries(
    analyze: Annotated[
        bool, typer.Option("--analyze", help="Run ANALYZE first (fresh planner statistics).")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Print each plan (PostgreSQL: EXPLAIN ANALYZE, BUFFERS)."),
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Check that the hot queries use their indexes; warn on a scan of a large table."""
    from sqlalchemy.exc import SQLAlchemyError

    from synthdata.ops import query_plans
    from synthdata.service.core.db import make_engine

    engine = make_engine(settings_from_env().database_url)
    try:
        report = query_plans.optimize_queries(engine, analyze=analyze, explain=explain)
    except SQLAlchemyError as exc:
        report = Report("optimize-queries")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        report.add("database", "unreachable", f"{type(exc).__name__}: {first}"[:300])
    finally:
        engine.dispose()
    raise typer.Exit(emit(report, as_json=json_flag))
