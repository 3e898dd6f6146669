"""Driving kubectl: the names in our manifests, quantity checks, and running a plan.

The names below are those of `monitoring/k8s/` (tests read the manifests, so the
commands and the manifests cannot drift apart). Commands are built as argument
lists and run without a shell; `--dry-run` prints the very lists a real run executes.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal

NAMESPACE = "synthdata"
API_DEPLOYMENT = "synthdata-api"
WORKER_DEPLOYMENT = "synthdata-worker"
API_SERVICE = "synthdata-api"
API_PORT = 8000
API_REPLICAS = 2
"""`spec.replicas` of the API Deployment in monitoring/k8s/api.yaml."""
WORKER_HPA_REPLICAS = (2, 20)
"""min/maxReplicas of the worker's HorizontalPodAutoscaler in monitoring/k8s/worker.yaml."""

KUBECTL = "kubectl"
TIMEOUT_SECONDS = 600  # `rollout status` waits up to 300 s itself

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CPU = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<milli>m?)$")
_MEMORY = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_MEMORY_FACTORS = {
    **{s: 1024**i for i, s in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: 1000**i for i, s in enumerate(("k", "M", "G", "T", "P", "E"), start=1)},
}


def check_name(value: str, what: str = "name") -> str:
    """Refuse names Kubernetes would refuse (RFC 1123 labels), with the reason."""
    if not _NAME.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use lower-case letters, digits and '-' (at most 63)"
        )
    return value


def cpu_millicores(value: str) -> int:
    """A CPU quantity ("4", "1.5", "500m") in millicores; ValueError for anything else."""
    match = _CPU.match(value.strip())
    if not match:
        raise ValueError(f"invalid CPU quantity {value!r}: use cores (4, 1.5) or millicores (500m)")
    number = Decimal(match["number"])
    millicores = number if match["milli"] else number * 1000
    if millicores != millicores.to_integral_value() or millicores <= 0:
        raise ValueError(f"invalid CPU quantity {value!r}: must be at least 1m, in whole m")
    return int(millicores)


def format_cpu(millicores: int) -> str:
    """Millicores as Kubernetes writes them ("2", "500m")."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_bytes(value: str) -> int:
    """A memory quantity ("8Gi", "512Mi", "8G") in bytes; ValueError for anything else."""
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(
            f"invalid memory quantity {value!r}: use a Kubernetes quantity such as 8Gi or "
            "512Mi (powers of 1024) or 8G (powers of 1000); '8GB' is not one"
        )
    size = Decimal(match["number"]) * _MEMORY_FACTORS[match["suffix"] or ""]
    if size < 1:
        raise ValueError(f"invalid memory quantity {value!r}: must be more than 0")
    return int(size)


@dataclass(frozen=True)
class Target:
    """Where kubectl points: a kubeconfig context (None: the current one) and a namespace."""

    namespace: str = NAMESPACE
    context: str | None = None

    def argv(self, *args: str) -> list[str]:
        """A kubectl command line for this target."""
        head = [KUBECTL]
        if self.context:
            head.append(f"--context={self.context}")
        return [*head, f"--namespace={self.namespace}", *args]


@dataclass
class Step:
    """One kubectl command and, once run, how it went."""

    argv: list[str]
    returncode: int | None = None
    output: str = ""

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Plan:
    """The commands of one action, run in order; the first failure stops the rest."""

    action: str
    target: str
    steps: list[Step] = field(default_factory=list)
    contexts: list[str | None] = field(default_factory=list)

    def add(self, target: Target, *args: str) -> None:
        self.steps.append(Step(target.argv(*args)))
        if target.context not in self.contexts:
            self.contexts.append(target.context)


def unreachable_reason(plan: Plan) -> str | None:
    """Why kubectl cannot run this plan here (missing, or no usable context), or None."""
    binary = shutil.which(KUBECTL)
    if binary is None:
        return "kubectl not found on PATH"
    for context in plan.contexts:
        if context is None:
            probe = _run([binary, "config", "current-context"])
            if probe.returncode != 0 or not probe.stdout.strip():
                return "kubectl has no current context (kubectl config current-context failed)"
        else:
            probe = _run([binary, "config", "get-contexts", "--output=name"])
            if context not in probe.stdout.split():
                return f"kubectl has no context named {context!r}"
    return None


def run_plan(plan: Plan) -> bool:
    """Run every step (stopping at the first failure); True when all succeeded."""
    binary = shutil.which(KUBECTL) or KUBECTL
    for step in plan.steps:
        done = _run([binary, *step.argv[1:]])
        step.returncode = done.returncode
        step.output = (done.stdout + done.stderr).strip()[-2000:]
        if done.returncode != 0:
            return False
    return True


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {exc.timeout} s")
