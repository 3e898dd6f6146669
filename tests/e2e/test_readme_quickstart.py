"""The README's service quickstart, pasted as written, against a live server.

The server is started as `make run` starts it: `synthdata serve` with no option, from
the checkout, on the embedded default (SQLite, the local queue). Only HOME (so the
default SYNTHDATA_HOME lands in the test's temp dir) and SYNTHDATA_PORT (a free port)
differ from a user's machine. The README's bash blocks run unchanged, with `bash -e
-o pipefail`, from another directory that holds what a checkout has (.venv and
examples/), so the admin commands must find the server's database by themselves.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.service_processes import free_port

from tests.fixtures.processes import Proc
from tests.fixtures.quickstart import REPO, default_server, section_blocks, user_env

pytestmark = pytest.mark.slow

README = REPO / "README.md"
SECTION = "### The service"


def test_section_has_the_quickstart() -> None:
    blocks = section_blocks(README.read_text(), SECTION)
    assert len(blocks) == 1
    assert "synthdata admin create-key" in blocks[0]
    assert "/result" in blocks[0]


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Proc]:
    """The server of `make run`: from the checkout, its data under the temp HOME."""
    (tmp_path / "home").mkdir()
    env = user_env(tmp_path / "home", free_port())
    with default_server(env, REPO, tmp_path / "serve.log") as server:
        yield server


def test_pasted_quickstart_downloads_a_real_synthetic_table(tmp_path: Path, make_run: Proc) -> None:
    server = make_run
    home = tmp_path / "home"
    env = user_env(home, int(server.url.rsplit(":", 1)[1]))

    checkout = tmp_path / "checkout"  # another directory than the server's
    checkout.mkdir()
    (checkout / ".venv").symlink_to(Path(sys.prefix))
    (checkout / "examples").symlink_to(REPO / "examples")
    script = checkout / "quickstart.sh"
    script.write_text("\n".join(section_blocks(README.read_text(), SECTION)))
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", str(script)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    said = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nserver:\n{server.tail()}"
    assert done.returncode == 0, said

    # The admin commands said which database they used: the server's, not a new one.
    database = home / ".local" / "share" / "synthdata" / "synthdata.db"
    assert f"database: {database}" in done.stderr, said
    assert "(new" not in done.stderr, said

    with (REPO / "examples" / "customers.csv").open(newline="") as real:
        columns = next(csv.reader(real))
    result = checkout / "synthetic.csv"
    assert result.exists(), said
    with result.open(newline="") as synthetic:
        rows = list(csv.reader(synthetic))
    assert rows[0] == columns, rows[:2]
    assert len(rows) - 1 == 10_000
    assert all(len(row) == len(columns) for row in rows[1:])
    ages = [float(row[columns.index("age")]) for row in rows[1:] if row[columns.index("age")]]
    assert len(ages) > 9_000  # real values, not a problem document cut into fields
