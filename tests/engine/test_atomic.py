"""Files written whole or not at all, with the mode any program's file gets (umask)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthdata.engine.atomic import atomic_path
from synthdata.ops import dashboards
from synthdata.ops.perf_store import save_run


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_atomic_path_follows_the_umask(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(".out.csv.") and tmp.name.endswith(".part")
        tmp.write_text("a\n1\n")
    assert _mode(target) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_ops_outputs_follow_the_umask(tmp_path: Path, umask: int) -> None:
    run = save_run({"started_at": "2026-01-02T03:04:05+00:00"}, tmp_path / "runs")
    board = dashboards.Dashboard("t", "T", ())
    [written] = dashboards.write_dashboards([board], tmp_path / "boards")
    for path in (run, written):
        assert _mode(path) == 0o666 & ~umask, path
