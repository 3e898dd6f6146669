"""Contract fuzz: Schemathesis, every check, against a live `synthdata serve`.

    python -m benchmarks.contract_fuzz [--seconds 300]

Starts the real server (SQLite, local queue, scratch home), makes a customer key and a
platform admin key with `synthdata admin`, and runs `schemathesis run --checks all`
once with each key, splitting the time budget between them. Writes
`benchmarks/results/contract_fuzz.md`: cases, failures per key, the failures themselves.
The target is 0 failures. `tests/security/test_contract.py` runs the same thing with a
bounded number of examples.

The server's per-key and per-source limits and the bad-key lockout are raised: the
fuzzer's thousands of requests and its unauthenticated probes would otherwise lock it
out, and every later answer would be a 429.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from benchmarks.engine_report import package_version
from benchmarks.service_processes import SYNTHDATA, base_env, cli, serve

RESULTS = Path(__file__).parent / "results" / "contract_fuzz.md"
HOOKS_MODULE = "benchmarks.contract_fuzz_hooks"
REPO = Path(__file__).resolve().parent.parent
WEBHOOK_TOKEN = "contract-fuzz-webhook-token"  # set, so the webhook answers 401, not 503
PAGERDUTY_SECRET = "contract-fuzz-pagerduty-secret"  # likewise for PagerDuty's webhook
UNLIMITED = "1000000000"


@dataclass
class FuzzRun:
    """One `schemathesis run` with one key."""

    role: str
    returncode: int
    cases: int
    failures: int
    seconds: float
    summary: str
    output: str


@dataclass
class LiveService:
    url: str
    keys: dict[str, str]  # role -> secret


@contextmanager
def live_service(home: Path) -> Iterator[LiveService]:
    """A real `synthdata serve` on a free port, with a customer key and an admin key."""
    env = base_env(
        home,
        SYNTHDATA_RATE_LIMIT_PER_KEY=UNLIMITED,
        SYNTHDATA_RATE_LIMIT_PER_SOURCE=UNLIMITED,
        SYNTHDATA_RATE_LIMIT_PER_SOURCE_PER_SECOND=UNLIMITED,
        SYNTHDATA_AUTH_LOCKOUT_FAILURES=UNLIMITED,
        SYNTHDATA_ALERT_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        SYNTHDATA_PAGERDUTY_WEBHOOK_SECRET=PAGERDUTY_SECRET,
        SYNTHDATA_SERVE_WORKERS="1",
    )
    subprocess.run([*SYNTHDATA, "admin", "migrate"], env=env, check=True, capture_output=True)
    customer = cli(env, "admin", "create-customer", "Contract Fuzz", "--price-per-1k-rows", "1")
    keys = {
        "customer": cli(env, "admin", "create-key", customer),
        "admin": cli(env, "admin", "create-key", "--admin"),
    }
    with serve("contract-fuzz-api", env, home / "logs") as api:
        yield LiveService(api.url, keys)


def run_schemathesis(
    url: str,
    role: str,
    key: str,
    reports: Path,
    *,
    max_examples: int | None = None,
    max_time: int | None = None,
    seed: int = 13,
) -> FuzzRun:
    """`schemathesis run --checks all` with `key`, bounded by examples or by time."""
    junit = reports / f"{role}.xml"
    # The key through the document's own security scheme, not `--header`: a header
    # added on top of a generated case makes Schemathesis re-judge the case, and it
    # cannot judge a body holding a file (it would call a valid upload invalid).
    config = reports / f"{role}.toml"
    config.write_text('[auth.openapi.ApiKey]\napi_key = "${SYNTHDATA_FUZZ_KEY}"\n')
    args = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    if max_examples is not None:
        args += ["--max-examples", str(max_examples)]
    if max_time is not None:
        args += ["--max-time", str(max_time)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS_MODULE,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
        "SYNTHDATA_FUZZ_KEY": key,
        "COLUMNS": "120",
    }
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=reports, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    cases, failures = _junit_counts(junit)
    output = done.stdout + done.stderr
    summary = _summary(output)
    return FuzzRun(role, done.returncode, cases, failures, seconds, summary, output)


def _junit_counts(path: Path) -> tuple[int, int]:
    """(operations tested, operations failed) from Schemathesis's JUnit report."""
    if not path.exists():
        return 0, -1
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests, failed


def _summary(output: str) -> str:
    """The line 'N generated, M found ...' of the run's summary."""
    found = re.findall(r"^\s*(\d+ generated.*)$", output, flags=re.MULTILINE)
    return found[-1].strip() if found else "(no summary)"


def failures_section(output: str) -> str:
    """The FAILURES part of the output (empty when there is none)."""
    start = output.find("FAILURES")
    end = output.find("SUMMARY")
    return output[start:end].strip() if start >= 0 else ""


def render(runs: list[FuzzRun], budget: int) -> str:
    lines = [
        "# Contract fuzz (Schemathesis, all checks)",
        "",
        "`python -m benchmarks.contract_fuzz` against a live `synthdata serve` (SQLite, local",
        f"queue), {budget} s in all, split between a customer key and a platform admin key.",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, schemathesis {package_version('schemathesis')}.",
        "",
        "| key | exit | operations | operations failing | seconds | test cases |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run.role} | {run.returncode} | {run.cases} | {run.failures} | "
            f"{run.seconds:.0f} | {run.summary} |"
        )
    lines += ["", f"Target: 0 failures. Result: {sum(max(r.failures, 0) for r in runs)}."]
    for run in runs:
        section = failures_section(run.output)
        if section:
            lines += ["", f"## Failures with the {run.role} key", "", "```", section, "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="total time budget")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contract-fuzz-") as scratch:
        home = Path(scratch)
        with live_service(home) as service:
            runs = [
                run_schemathesis(
                    service.url, role, key, home, max_time=args.seconds // len(service.keys)
                )
                for role, key in service.keys.items()
            ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(runs, args.seconds))
    print(args.output.read_text())


if __name__ == "__main__":
    main()
