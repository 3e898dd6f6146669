"""No module under tests/ or benchmarks/ imports a test module (`test_*.py`) or a
conftest.py: what several tests share lives in tests/fixtures/ (or another helper
module), so that importing one test module never collects, runs or registers another's
tests and fixtures by accident."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("tests", "benchmarks")


def _is_test_module(name: str) -> bool:
    return name.startswith("test_") or name == "conftest"


def _imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module `path` imports, relative imports resolved;
    `from package import name` yields `package.name` too (it may be a module)."""
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module:
                yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def imports_of_test_modules(root: Path, roots: tuple[str, ...] = ROOTS) -> list[str]:
    """`file:line imports module` for each import of a test module found under `roots`."""
    found = []
    for top in roots:
        for path in sorted((root / top).rglob("*.py")):
            for line, module in sorted(_imported_modules(path, root)):
                parts = module.split(".")
                if parts[0] not in roots or not _is_test_module(parts[-1]):
                    continue
                if root.joinpath(*parts).with_suffix(".py").is_file():
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_no_module_imports_a_test_module() -> None:
    found = imports_of_test_modules(REPO)
    assert not found, "move what is shared into tests/fixtures/:\n" + "\n".join(found)


def test_the_check_finds_each_form_of_import(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "area"
    package.mkdir(parents=True)
    for name in ("__init__.py", "test_a.py", "conftest.py", "helpers.py"):
        (package / name).write_text("")
    (tmp_path / "tests" / "__init__.py").write_text("")
    (package / "test_b.py").write_text(
        "from tests.area.test_a import x\n"
        "from .conftest import y\n"
        "from tests.area import test_a\n"
        "import tests.area.test_a\n"
        "def late():\n"
        "    from . import conftest\n"
        "from tests.area.helpers import z\n"  # a helper module: allowed
        "from tests.area import helpers\n"
    )
    assert imports_of_test_modules(tmp_path, ("tests",)) == [
        "tests/area/test_b.py:1 imports tests.area.test_a",
        "tests/area/test_b.py:2 imports tests.area.conftest",
        "tests/area/test_b.py:3 imports tests.area.test_a",
        "tests/area/test_b.py:4 imports tests.area.test_a",
        "tests/area/test_b.py:6 imports tests.area.conftest",
    ]
