"""`synthdata --help` and friends start without importing the engine or the service.

Start-up time is measured by benchmarks/startup_benchmark.py, not asserted here: these
tests check the cause instead, which modules a help path imports, in a fresh process.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import synthdata
from synthdata.cli.main import LAZY_COMMANDS
from synthdata.engine.registry import BUILTIN_SYNTHESIZERS, list_synthesizers, synthesizer_class

ENGINE_MODULES = ("pandas", "numpy", "sklearn", "pyarrow", "scipy")
SERVICE_MODULES = ("sqlalchemy", "alembic", "fastapi")

_PROBE = """
import json, sys
from synthdata.cli.main import app
args = json.loads(sys.argv[1])
if args is not None:
    try:
        app(args, prog_name="synthdata")
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
watched = json.loads(sys.argv[2])
print(json.dumps(sorted(name for name in watched if name in sys.modules)))
"""


def imported_by(args: list[str] | None) -> list[str]:
    """The engine and service modules a fresh process holds after `synthdata ARGS`
    (None: after only importing the command line)."""
    watched = [*ENGINE_MODULES, *SERVICE_MODULES]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(watched)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [None, ["--help"], ["--version"], ["ops", "health-check", "--help"], ["generate", "--help"]],
    ids=["import", "help", "version", "ops-health-check-help", "generate-help"],
)
def test_help_paths_import_neither_engine_nor_service(args: list[str] | None) -> None:
    assert imported_by(args) == []


def test_the_sdk_is_there_when_asked_for() -> None:
    # The public names load on first use.
    for name in synthdata.__all__:
        assert getattr(synthdata, name) is not None, name
    assert synthdata.fit.__module__ == "synthdata._api"
    with pytest.raises(AttributeError):
        _ = synthdata.no_such_name  # type: ignore[attr-defined]


def test_import_synthdata_loads_no_engine() -> None:
    code = (
        "import sys, synthdata\n"
        f"print([m for m in {ENGINE_MODULES!r} if m in sys.modules])\n"
        "synthdata.fit\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["[]", "True"]


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_lazy_command_loads_under_its_name(name: str) -> None:
    command = LAZY_COMMANDS[name].command(name)
    assert command.name == name
    assert command.help, f"{name} has no help of its own"


def test_builtin_synthesizers_are_the_registered_classes() -> None:
    for name, builtin in BUILTIN_SYNTHESIZERS.items():
        cls = synthesizer_class(name)
        assert cls.name == name
        assert cls.__module__ == builtin.module
    modules = {builtin.module for builtin in BUILTIN_SYNTHESIZERS.values()}
    for module in modules:
        importlib.import_module(module)
    # Every class the built-in modules register is in the table (none added unlisted).
    registered = {
        name for name in list_synthesizers() if synthesizer_class(name).__module__ in modules
    }
    assert registered == set(BUILTIN_SYNTHESIZERS)
