"""The runbook's mitigations on Kubernetes: scale, restart, resource limits, traffic.

Each action is a `Plan` of kubectl commands against the manifests of
`monitoring/k8s/` (namespace `synthdata`, Deployments and Service `synthdata-api`,
`synthdata-worker`). `carry_out` runs it, or says why it could not (kubectl missing,
no context); every run is written to the audit log as a privileged operation.

redirect-traffic moves the API's traffic from one site (kubeconfig context) to
another: it scales the API up at the destination, waits for it to be ready, then
turns the source site's `synthdata-api` Service into an ExternalName alias of the
destination's API, so the source's ingress forwards every request there. The
destination is by default the Multi-Cluster Services name of its exported Service
(`synthdata-api.synthdata.svc.clusterset.local`); `--to-endpoint` names another host.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from sqlalchemy.orm import Session

from synthdata.ops import kubectl
from synthdata.ops.kubectl import Plan, Target
from synthdata.ops.report import Report
from synthdata.service.admin.service import audit

ROLLOUT_TIMEOUT = "300s"


def scale_plan(target: Target, deployment: str, replicas: int) -> Plan:
    """`kubectl scale deployment NAME --replicas=N`."""
    plan = Plan("scale", deployment)
    plan.add(target, "scale", "deployment", deployment, f"--replicas={replicas}")
    return plan


def restart_plan(target: Target, deployment: str) -> Plan:
    """`kubectl rollout restart deployment NAME`: new pods, one at a time."""
    plan = Plan("restart", deployment)
    plan.add(target, "rollout", "restart", "deployment", deployment)
    return plan


def resources_plan(target: Target, deployment: str, limits: str, requests: str) -> Plan:
    """`kubectl set resources` on the container named like its Deployment (our manifests)."""
    plan = Plan("update_resources", deployment)
    plan.add(
        target,
        "set",
        "resources",
        f"deployment/{deployment}",
        f"--containers={deployment}",
        f"--limits={limits}",
        f"--requests={requests}",
    )
    return plan


def resource_settings(
    cpu: str, memory: str, cpu_request: str | None, memory_request: str | None
) -> tuple[str, str]:
    """(limits, requests) as kubectl takes them; ValueError names a bad quantity.

    Requests default to half the CPU limit (CPU is compressible: a busy pod is slowed,
    not killed, and the scheduler can pack more pods) and to the whole memory limit
    (memory is not: a pod using more than it requested is the first one evicted).
    """
    cpu_limit = kubectl.cpu_millicores(cpu)
    memory_limit = kubectl.memory_bytes(memory)
    cpu_wanted = kubectl.cpu_millicores(cpu_request) if cpu_request else max(1, cpu_limit // 2)
    memory_wanted = memory_request or memory
    if cpu_wanted > cpu_limit:
        raise ValueError(f"the CPU request ({cpu_request}) is above the limit ({cpu})")
    if kubectl.memory_bytes(memory_wanted) > memory_limit:
        raise ValueError(f"the memory request ({memory_request}) is above the limit ({memory})")
    limits = f"cpu={kubectl.format_cpu(cpu_limit)},memory={memory}"
    return limits, f"cpu={kubectl.format_cpu(cpu_wanted)},memory={memory_wanted}"


def default_endpoint(namespace: str) -> str:
    """The Multi-Cluster Services DNS name of the API Service exported by the other site."""
    return f"{kubectl.API_SERVICE}.{namespace}.svc.clusterset.local"


def redirect_plan(
    namespace: str, source: str, destination: str, endpoint: str, replicas: int
) -> Plan:
    """Scale up and await the destination's API, then alias the source's Service to it."""
    there, here = Target(namespace, destination), Target(namespace, source)
    plan = Plan("redirect_traffic", f"{source}->{destination}")
    api = kubectl.API_DEPLOYMENT
    plan.add(there, "scale", "deployment", api, f"--replicas={replicas}")
    plan.add(there, "rollout", "status", "deployment", api, f"--timeout={ROLLOUT_TIMEOUT}")
    # A ClusterIP Service may become an ExternalName one; the API server drops its
    # cluster IP, and the null selector stops it from gathering local endpoints.
    patch = {"spec": {"type": "ExternalName", "externalName": endpoint, "selector": None}}
    plan.add(
        here,
        "patch",
        "service",
        kubectl.API_SERVICE,
        "--type=merge",
        f"--patch={json.dumps(patch, separators=(',', ':'))}",
    )
    return plan


def follow_up(plan: Plan) -> str:
    """What the operator should know after a successful run (how to undo it, caveats)."""
    if plan.action == "scale" and plan.target == kubectl.WORKER_DEPLOYMENT:
        low, high = kubectl.WORKER_HPA_REPLICAS
        return (
            f"the HorizontalPodAutoscaler {plan.target} ({low}-{high} replicas) overrides "
            "this count; patch its minReplicas to hold it"
        )
    # The last step acts on the site to undo (the source site, for a redirect).
    argv = plan.steps[-1].argv
    namespace_at = next(i for i, arg in enumerate(argv) if arg.startswith("--namespace="))
    where = shlex.join(argv[: namespace_at + 1])
    if plan.action == "redirect_traffic":
        return (
            f"send traffic back: {where} apply -f monitoring/k8s/api.yaml (until then the "
            "source's synthdata-api Service has no endpoints, so its APIDown alert fires)"
        )
    if plan.action == "update_resources":
        return f"undo: {where} rollout undo deployment/{plan.target}"
    return ""


def audit_plan(session: Session, plan: Plan, ok: bool, *, actor: str) -> None:
    """Record the run (what was run, against what, and whether it worked)."""
    audit(
        session,
        actor=actor,
        action=f"k8s.{plan.action}",
        target=plan.target[:100],
        detail={
            "ok": ok,
            "commands": [step.line for step in plan.steps],
            "returncodes": [step.returncode for step in plan.steps],
        },
    )


def carry_out(plan: Plan, record: Callable[[Plan, bool], None]) -> Report:
    """Run `plan` with kubectl (when usable here) and `record` the run; report each step."""
    report = Report(f"{plan.action.replace('_', '-')} ({plan.target})")
    report.extra["commands"] = [step.line for step in plan.steps]
    reason = kubectl.unreachable_reason(plan)
    if reason is not None:
        report.add(
            "kubectl",
            "unreachable",
            f"{reason}; would have run: " + " && ".join(step.line for step in plan.steps),
        )
        return report
    ok = kubectl.run_plan(plan)
    for step in plan.steps:
        if step.returncode is None:
            report.add(step.line, "info", "not run: an earlier command failed")
        elif step.returncode == 0:
            report.add(step.line, "ok", step.output)
        else:
            report.add(step.line, "fail", f"exit {step.returncode}: {step.output}")
    try:
        record(plan, ok)
        report.add("audit log", "ok", f"k8s.{plan.action} recorded")
    except Exception as exc:  # the cluster changed; say loudly that the record did not
        report.add("audit log", "fail", f"not recorded: {type(exc).__name__}: {exc}")
    hint = follow_up(plan)
    if ok and hint:
        report.add("next", "info", hint)
    return report
