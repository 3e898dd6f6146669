"""One data directory and one port setting, for the server and every command that
talks to it.

A real `synthdata serve` (no option) listens on SYNTHDATA_PORT and keeps its database
under the default SYNTHDATA_HOME (in the temp HOME); the admin commands run as other
processes, from another directory; the ops commands, `monitoring up` and the Python
client find the API from the same setting.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from benchmarks.service_processes import free_port
from typer.testing import CliRunner

import synthdata
from synthdata.cli import stack as stack_cli
from synthdata.ops import monitoring_stack
from tests.fixtures.processes import Proc
from tests.fixtures.quickstart import REPO, default_server, section_blocks, user_env

pytestmark = pytest.mark.slow


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`synthdata ARGS` from `cwd`, as a user types it."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("synthdata")), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def admin(env: dict[str, str], cwd: Path, *args: str) -> tuple[str, str]:
    """`synthdata admin ARGS`: (stdout, stderr); it must succeed."""
    done = run(env, cwd, "admin", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def me(server: Proc, key: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/me", headers={"X-API-Key": key}, timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    return user_env(tmp_path / "home", free_port())


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[Proc]:
    server_dir = tmp_path / "server-cwd"
    server_dir.mkdir()
    with default_server(env, server_dir, tmp_path / "serve.log") as proc:
        yield proc


def test_admin_from_another_directory_uses_the_servers_database(
    tmp_path: Path, env: dict[str, str], server: Proc
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = Path(env["HOME"]) / ".local" / "share" / "synthdata" / "synthdata.db"

    customer, said = admin(env, elsewhere, "create-customer", "Acme")
    key, said_too = admin(env, elsewhere, "create-key", customer.strip())
    # stdout holds only the secret (KEY=$(...) captures it); stderr names the database.
    assert key.count("\n") == 1 and key.startswith("sdk_")
    for stderr in (said, said_too):
        assert f"database: {database}\n" in stderr
        assert "(new" not in stderr
    assert me(server, key.strip()).status_code == 200
    assert not (elsewhere / "var").exists()

    # Another SYNTHDATA_HOME (relative, shown absolute) is another database, and says so.
    other = {**env, "SYNTHDATA_HOME": "other-home"}
    customer, said = admin(other, elsewhere, "create-customer", "Acme")
    assert f"database: {elsewhere / 'other-home' / 'synthdata.db'} (new: it was empty" in said
    stray, _ = admin(other, elsewhere, "create-key", customer.strip())
    assert me(server, stray.strip()).status_code == 401


def test_create_key_as_docs_api_md_shows_it(
    tmp_path: Path, env: dict[str, str], server: Proc
) -> None:
    [block] = section_blocks((REPO / "docs" / "api.md").read_text(), "## Authentication and roles")
    assert block.count("synthdata admin create-") == 4, block
    script = tmp_path / "first-keys.sh"
    script.write_text(block)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", str(script)],
        cwd=tmp_path,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    platform_admin, acme_customer, ops_admin = done.stdout.split()
    who = {
        name: me(server, key).json()
        for name, key in [
            ("platform admin", platform_admin),
            ("customer", acme_customer),
            ("ops admin", ops_admin),
        ]
    }
    assert who["platform admin"]["role"] == "admin"
    assert who["platform admin"]["customer"] is None
    assert who["customer"]["role"] == "customer"
    assert who["customer"]["customer"]["name"] == "Acme"
    assert who["ops admin"]["role"] == "admin"
    assert who["ops admin"]["customer"] is None  # admin keys are platform-wide


def test_create_key_help_matches_what_it_accepts(tmp_path: Path, env: dict[str, str]) -> None:
    shown = run({**env, "COLUMNS": "200"}, tmp_path, "admin", "create-key", "--help").stdout
    assert "--admin" in shown
    assert "--customer-id" not in shown
    documented = (REPO / "docs" / "api.md").read_text()
    assert "--customer-id" not in documented
    refused = run(env, tmp_path, "admin", "create-key")
    assert refused.returncode == 2
    assert "--admin" in refused.stderr


def test_one_port_setting_for_server_ops_monitoring_and_client(
    env: dict[str, str], server: Proc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = env["SYNTHDATA_PORT"]
    assert server.url == f"http://127.0.0.1:{port}"  # it answered /readyz there

    checked = run(env, tmp_path, "ops", "health-check", "--json")
    service = _finding(json.loads(checked.stdout), "service")
    assert service["status"] == "ok", service
    assert f"http://127.0.0.1:{port}:" in service["detail"]

    # SYNTHDATA_API_URL wins over the port.
    elsewhere = f"http://127.0.0.1:{free_port()}"
    missed = run({**env, "SYNTHDATA_API_URL": elsewhere}, tmp_path, "ops", "health-check", "--json")
    service = _finding(json.loads(missed.stdout), "service")
    assert service["status"] == "unreachable" and elsewhere in service["detail"], service

    # `monitoring up` without --api-url scrapes, and sends incidents to, that API.
    seen: list[monitoring_stack.StackOptions] = []
    monkeypatch.setattr(monitoring_stack, "up", lambda options, log: seen.append(options) or [])
    app = typer.Typer()
    app.add_typer(stack_cli.app, name="monitoring")
    result = CliRunner().invoke(app, ["monitoring", "up"], env={"SYNTHDATA_PORT": port})
    assert result.exit_code == 0, result.output
    assert seen[0].api_url == f"http://127.0.0.1:{port}"

    # The Python client, with neither URL nor key given.
    customer, _ = admin(env, tmp_path, "create-customer", "Acme")
    key, _ = admin(env, tmp_path, "create-key", customer.strip())
    for name in ("SYNTHDATA_API_URL", "SYNTHDATA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNTHDATA_PORT", port)
    monkeypatch.setenv("SYNTHDATA_API_KEY", key.strip())
    with synthdata.Client() as client:
        assert client.me()["customer"]["id"] == customer.strip()


def _finding(report: dict[str, Any], name: str) -> dict[str, Any]:
    [finding] = [f for f in report["findings"] if f["name"] == name]
    return finding
