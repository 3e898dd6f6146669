"""One shape for what every `synthdata ops` command finds, and one way to print it.

A command builds a `Report` of `Finding`s. `emit` prints it as a rich table (or JSON
with `--json`) and turns it into the exit code: 0 when every finding is `ok` (or
`info`), 1 when something is wrong (`warn`/`fail`), 3 when a part could not be
reached and nothing else failed, so a script can tell "broken" from "not checked".
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rich.table import Table

from synthdata.cli.console import console

Status = Literal["ok", "info", "warn", "fail", "unreachable"]

TOOK_MS = "took_ms"  # a finding's data: how long its check took, in milliseconds

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_UNREACHABLE = 3

_STYLE = {
    "ok": "green",
    "info": "cyan",
    "warn": "yellow",
    "fail": "bold red",
    "unreachable": "magenta",
}


@dataclass
class Finding:
    """One checked thing: what it is, how it stands, and the evidence in one line."""

    name: str
    status: Status
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """What one command found, with its title (the runbook script it stands for)."""

    title: str
    findings: list[Finding] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, status: Status, detail: str = "", **data: Any) -> Finding:
        finding = Finding(name, status, detail, data)
        self.findings.append(finding)
        return finding

    def exit_code(self) -> int:
        statuses = {finding.status for finding in self.findings}
        if statuses & {"warn", "fail"}:
            return EXIT_PROBLEM
        if "unreachable" in statuses:
            return EXIT_UNREACHABLE
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": {EXIT_OK: "ok", EXIT_PROBLEM: "problem", EXIT_UNREACHABLE: "unreachable"}[
                self.exit_code()
            ],
            "findings": [asdict(finding) for finding in self.findings],
            **self.extra,
        }


def emit(report: Report, *, as_json: bool) -> int:
    """Print `report` (table or JSON on stdout) and return the command's exit code."""
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
        return report.exit_code()
    table = Table(title=report.title, title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    # A command that times its checks (health-check) shows each one's time.
    timed = any(TOOK_MS in finding.data for finding in report.findings)
    if timed:
        table.add_column("took", justify="right")
    for finding in report.findings:
        style = _STYLE[finding.status]
        row = [finding.name, f"[{style}]{finding.status}[/]", finding.detail]
        if timed:
            took = finding.data.get(TOOK_MS)
            row.append(f"{took:.0f} ms" if isinstance(took, int | float) else "")
        table.add_row(*row)
    console.print(table)
    return report.exit_code()
