"""PostgreSQL query performance through postgres_exporter's custom queries (issue 14, item 8).

`monitoring/postgres-exporter/queries.yaml` turns pg_stat_statements into counters the
PostgreSQLSlowQueries rule and the dashboard read. Checked here:

- every deployment ships that very file (the Kubernetes ConfigMap the exporter mounts,
  the Helm chart's `config.queries`, the Compose exporter's --extend.query-path) and
  Compose's PostgreSQL loads and creates the extension;
- the rule and the panels read only series the file produces;
- the real exporter, run as `synthdata monitoring up` runs it (with the file) against a
  real PostgreSQL that has the extension, exports counters whose rates give the mean
  statement time; against a database without the extension it keeps pg_up at 1 (no
  false database alert).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from synthdata.ops.monitoring_config import StackOptions
from synthdata.ops.monitoring_stack import exporter_command
from tests.fixtures.monitoring import MONITORING, RULES_DIR

QUERIES = MONITORING / "postgres-exporter" / "queries.yaml"
K8S_EXPORTERS = MONITORING / "k8s" / "exporters.yaml"
HELM_VALUES = MONITORING / "k8s" / "helm" / "postgres-exporter-values.yaml"
COMPOSE = MONITORING / "compose.yaml"
EXPORTER_NAMES = ("prometheus-postgres-exporter", "postgres_exporter")


def produced_metrics() -> set[str]:
    """Series names the queries file makes: `<query name>_<column>` for non-label columns."""
    names = set()
    for namespace, spec in yaml.safe_load(QUERIES.read_text()).items():
        for column in spec["metrics"]:
            ((name, settings),) = column.items()
            if settings["usage"] != "LABEL":
                names.add(f"{namespace}_{name}")
    return names


# -- shipped everywhere -----------------------------------------------------------------------
def test_kubernetes_exporter_runs_the_queries_file() -> None:
    docs = [d for d in yaml.safe_load_all(K8S_EXPORTERS.read_text()) if d]
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config["data"]["queries.yaml"] == QUERIES.read_text()
    (deployment,) = [
        d
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "postgres-exporter"
    ]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    path = Path(env["PG_EXPORTER_EXTEND_QUERY_PATH"])
    (mount,) = [m for m in container["volumeMounts"] if path.parent == Path(m["mountPath"])]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    assert path.name in config["data"]


def test_helm_values_carry_the_queries_file() -> None:
    values = yaml.safe_load(HELM_VALUES.read_text())
    assert values["config"]["queries"] == QUERIES.read_text()
    assert values["config"]["datasourceSecret"] == {
        "name": "synthdata-secrets",
        "key": "postgres-exporter-dsn",
    }
    # The rules select job="postgres-exporter", whatever the release is called.
    (relabel,) = values["serviceMonitor"]["relabelings"]
    assert relabel == {"targetLabel": "job", "replacement": "postgres-exporter"}


def test_compose_loads_the_extension_and_the_queries() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    postgres = " ".join(services["postgres"]["command"])
    assert "shared_preload_libraries=pg_stat_statements" in postgres
    (init,) = services["postgres"]["configs"]
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    script = compose["configs"][init["source"]]["content"]
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in script
    exporter = services["postgres-exporter"]
    (flag,) = [a for a in exporter["command"] if a.startswith("--extend.query-path=")]
    target = flag.split("=", 1)[1]
    (volume,) = [v for v in exporter["volumes"] if v.split(":")[1] == target]
    assert (MONITORING / volume.split(":")[0]).resolve() == QUERIES.resolve()


def test_rules_and_panels_read_only_what_the_queries_produce() -> None:
    produced = produced_metrics()
    namespaces = tuple(f"{n}_" for n in yaml.safe_load(QUERIES.read_text()))
    pattern = re.compile(rf"\b(?:{'|'.join(namespaces)})\w+")
    texts = [p.read_text() for p in RULES_DIR.glob("*.yml") if not p.stem.endswith("_tests")]
    texts += [p.read_text() for p in (MONITORING / "grafana" / "dashboards").glob("*.json")]
    used = {name for text in texts for name in pattern.findall(text)}
    assert used, "nothing reads the custom queries"
    assert used <= produced, used - produced


# -- the real exporter on a real database ----------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql", pytrace=False)
    return found[-1].parent


@pytest.fixture(scope="module")
def database_with_statements() -> Iterator[str]:
    """A scratch cluster with pg_stat_statements loaded and created; its DSN."""
    # Not under pytest's tmp dir: as root that is 0700 root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="synthdata-pgss-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    bindir, port = _pg_bindir(), _free_port()
    data = root / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run([*_as_postgres(initdb), "--no-sync"], check=True, capture_output=True)
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c shared_preload_libraries=pg_stat_statements"
    )
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log")]
    subprocess.run(_as_postgres([*ctl, "-w", "-o", options, "start"]), check=True)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION pg_stat_statements")
        yield dsn
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "immediate", "stop"]), check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def exporter(dsn: str) -> Iterator[str]:
    binary = next(filter(None, map(shutil.which, EXPORTER_NAMES)), None)
    if binary is None:
        pytest.fail(
            f"none of {EXPORTER_NAMES} is installed (Debian: apt-get install "
            "prometheus-postgres-exporter)",
            pytrace=False,
        )
    port = _free_port()
    # The command `synthdata monitoring up` runs (Compose and Kubernetes are checked above).
    args, env = exporter_command(
        "postgres-exporter",
        binary,
        f"127.0.0.1:{port}",
        StackOptions(database_url=dsn.replace("postgresql://", "postgresql+psycopg://")),
        MONITORING,
    )
    process = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=2).close()
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, 0.0)
            samples[sample.name] += sample.value
    return samples


@pytest.mark.slow
def test_the_exporter_turns_slow_statements_into_a_mean_time(database_with_statements: str) -> None:
    with exporter(database_with_statements) as url:
        before = _scrape(url)
        assert before["pg_up"] == 1
        with psycopg.connect(database_with_statements) as connection:
            for _ in range(6):
                connection.execute("SELECT pg_sleep(0.5)")
        after = _scrape(url)
    calls = (
        after["pg_database_statements_calls_total"] - before["pg_database_statements_calls_total"]
    )
    seconds = (
        after["pg_database_statements_exec_seconds_total"]
        - before["pg_database_statements_exec_seconds_total"]
    )
    # The scrape's own statements (about a dozen) count too: the mean is below 500 ms
    # but above PostgreSQLSlowQueries' 100 ms threshold.
    assert calls >= 6
    assert seconds >= 6 * 0.5
    assert seconds / calls > 0.1, (seconds, calls)
    assert after["pg_slowest_statements_mean_exec_seconds"] >= 0.5
    assert produced_metrics() <= set(after)


@pytest.mark.slow
def test_without_the_extension_the_database_still_reads_up() -> None:
    """A database that never loaded pg_stat_statements: no statement series, pg_up 1."""
    server = os.environ.get("SYNTHDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    dsn = server.replace("+psycopg", "") + "/test?sslmode=disable"
    with psycopg.connect(dsn) as connection:
        loaded = connection.execute("SHOW shared_preload_libraries").fetchone()
    if loaded and "pg_stat_statements" in loaded[0]:
        pytest.skip("the test server has pg_stat_statements loaded")
    with exporter(dsn) as url:
        samples = _scrape(url)
    assert samples["pg_up"] == 1
    assert not [name for name in samples if name.startswith("pg_database_statements")]
