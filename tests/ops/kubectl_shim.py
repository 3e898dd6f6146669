"""A stand-in for kubectl (no cluster here): records each argv, answers the config probes.

`install(directory, log)` writes an executable `kubectl` into `directory`; put that
directory first on PATH. Every call appends its arguments (without argv[0]) as one JSON
line to `log`. Environment: KUBECTL_SHIM_CONTEXT (the current context; empty: none),
KUBECTL_SHIM_CONTEXTS (comma-separated known contexts), KUBECTL_SHIM_FAIL (calls
containing this argument exit 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_SCRIPT = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as handle:
    handle.write(json.dumps(args) + "\\n")
if args[:2] == ["config", "current-context"]:
    current = os.environ.get("KUBECTL_SHIM_CONTEXT", "")
    if not current:
        sys.exit("error: current-context is not set")
    print(current)
elif args[:2] == ["config", "get-contexts"]:
    print("\\n".join(os.environ.get("KUBECTL_SHIM_CONTEXTS", "").split(",")))
elif os.environ.get("KUBECTL_SHIM_FAIL") and os.environ["KUBECTL_SHIM_FAIL"] in args:
    sys.exit("error: the server rejected " + os.environ["KUBECTL_SHIM_FAIL"])
else:
    print("done: " + " ".join(args))
"""


def install(directory: Path, log: Path) -> Path:
    """Write the shim as `directory/kubectl` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "kubectl"
    path.write_text(_SCRIPT.format(python=sys.executable, log=str(log)))
    path.chmod(0o755)
    return path


def calls(log: Path) -> list[list[str]]:
    """Every argv recorded, oldest first."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def actions(log: Path) -> list[list[str]]:
    """The recorded calls that are not the config probes."""
    return [argv for argv in calls(log) if argv[:1] != ["config"]]
