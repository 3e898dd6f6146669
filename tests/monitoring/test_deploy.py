"""The deployment files: Kubernetes manifests, Helm values, the Compose file, and the
local stack of `synthdata monitoring up | status | down`.

Nothing here needs a cluster or Docker. Core Kubernetes kinds are validated against
the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields fail);
the operator's kinds (PrometheusRule, ServiceMonitor) by structural checks, and the
PrometheusRule by promtool. Cross-file checks make sure the pieces point at each
other: Services select Deployments, ServiceMonitors select Services whose names are
the jobs the rules select on, the HPA scales the worker, the Compose ports are the
ports prometheus.yml scrapes.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import kubernetes_validate
import psutil
import pytest
import yaml
from typer.testing import CliRunner

from synthdata.cli.stack import app as stack_app
from synthdata.ops import monitoring_stack as stack
from tests.fixtures.manifests import (
    K8S,
    compose,
    documents,
    listen_port,
    manifest_files,
    of_kind,
)
from tests.fixtures.monitoring import ALERTMANAGER_DIR, MONITORING, PROMETHEUS_DIR, Tools

KUBE_VERSION = kubernetes_validate.latest_version()
CORE_KINDS = {
    "Namespace",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "Job",
    "Service",
    "HorizontalPodAutoscaler",
    "Ingress",
}
OPERATOR_KINDS = {"PrometheusRule", "ServiceMonitor"}
NAMESPACED = (CORE_KINDS | OPERATOR_KINDS) - {"Namespace"}
SECRETS_DIR = "/etc/alertmanager/secrets/"


def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())


def job_targets() -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for s in job["static_configs"] for t in s["targets"]]
        for job in prometheus_config()["scrape_configs"]
    }


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# -- every manifest ------------------------------------------------------------------------
def test_every_manifest_parses_and_names_itself() -> None:
    seen: set[tuple[str, str, str]] = set()
    for path, doc in documents():
        where = f"{path.relative_to(MONITORING)} {doc.get('kind')}"
        assert {"apiVersion", "kind", "metadata"} <= set(doc), where
        assert doc["metadata"].get("name"), where
        assert doc["kind"] in CORE_KINDS | OPERATOR_KINDS, f"unexpected kind: {where}"
        if doc["kind"] in NAMESPACED:
            assert doc["metadata"].get("namespace") in {"synthdata", "monitoring"}, where
        key = (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
        assert key not in seen, f"defined twice: {key}"
        seen.add(key)
    namespaces = set(of_kind("Namespace"))
    assert namespaces == {"synthdata", "monitoring"}
    for _, doc in documents():
        assert doc["metadata"].get("namespace", "monitoring") in namespaces


@pytest.mark.parametrize(
    "path", [p for p in manifest_files()], ids=lambda p: str(p.relative_to(MONITORING))
)
def test_core_kinds_validate_against_the_kubernetes_schema(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] in CORE_KINDS:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_the_schema_check_rejects_a_broken_deployment() -> None:
    """The validator above can fail: a misspelt field and a wrong type are caught."""
    deployment = copy.deepcopy(of_kind("Deployment")["synthdata-api"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)
    deployment = copy.deepcopy(of_kind("Deployment")["synthdata-api"])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def test_kubectl_applies_the_namespace_first() -> None:
    first = sorted(K8S.glob("*.yaml"))[0]
    assert [d["kind"] for d in yaml.safe_load_all(first.read_text())] == ["Namespace"]


# -- the application -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "port", "live", "ready"),
    [
        ("synthdata-api", 8000, "/healthz", "/readyz"),
        ("synthdata-worker", 8001, "/metrics", "/metrics"),
    ],
)
def test_deployments(name: str, port: int, live: str, ready: str) -> None:
    deployment = of_kind("Deployment")[name]
    pod = deployment["spec"]["template"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
    (container,) = pod["spec"]["containers"]
    # The resource alerts select container=~"synthdata-api|synthdata-worker".
    assert container["name"] == name
    resources_rules = (PROMETHEUS_DIR / "rules" / "resources.yml").read_text()
    assert 'container=~"synthdata-api|synthdata-worker"' in resources_rules
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in ports.values()
    assert f"{port}" in container["args"], "the process listens where the Service points"
    probe_port = {p for p in ports if ports[p] == port}
    assert container["livenessProbe"]["httpGet"]["path"] == live
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in probe_port
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind
    env = {e["name"]: e for e in container["env"]}
    for variable, key in (
        ("SYNTHDATA_DATABASE_URL", "database-url"),
        ("SYNTHDATA_REDIS_URL", "redis-url"),
    ):
        ref = env[variable]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == ("synthdata-secrets", key)
    config = of_kind("ConfigMap")["synthdata-config"]["data"]
    assert config["SYNTHDATA_QUEUE"] == "redis"
    assert container["envFrom"] == [{"configMapRef": {"name": "synthdata-config"}}]
    # Every path the process writes is on one of its own emptyDirs (no shared volume).
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    private = [
        m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]
    ]
    for variable in ("SYNTHDATA_DATA_DIR", "SYNTHDATA_WORK_DIR"):
        assert any(Path(config[variable]).is_relative_to(path) for path in private), variable


def test_the_api_probes_answer_on_the_real_service() -> None:
    """/healthz and /readyz exist in the app the API Deployment runs."""
    from synthdata.service.health.views import router

    assert {"/healthz", "/readyz"} <= {route.path for route in router.routes}


def test_services_select_their_pods() -> None:
    workloads = {**of_kind("Deployment"), **of_kind("StatefulSet")}
    for name, service in of_kind("Service").items():
        pods = [
            d
            for d in workloads.values()
            if matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [d["metadata"]["name"] for d in pods] == [name], name
        (pod,) = pods
        container_ports = {
            p["name"] for c in pod["spec"]["template"]["spec"]["containers"] for p in c["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (name, port)


def test_the_hpa_scales_the_worker_on_cpu_and_on_the_queue() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "synthdata-worker",
    )
    worker = of_kind("Deployment")["synthdata-worker"]
    assert worker["metadata"]["namespace"] == hpa["metadata"]["namespace"]
    metrics = hpa["spec"]["metrics"]
    assert {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}},
    } in metrics
    queue = [m for m in metrics if m["type"] in ("External", "Pods")]
    assert len(queue) == 1
    spec = queue[0][queue[0]["type"].lower()]
    assert spec["metric"]["name"] == "synthdata_generation_queue_length"
    # The metric the adapter serves is the one the HPA asks for.
    adapter = yaml.safe_load((K8S / "helm" / "prometheus-adapter-values.yaml").read_text())
    (rule,) = adapter["rules"]["external"]
    assert rule["name"]["as"] == "synthdata_generation_queue_length"
    assert "synthdata_generation_queue_length" in rule["metricsQuery"]


def test_servicemonitors_scrape_the_jobs_the_rules_select_on() -> None:
    services = of_kind("Service")
    monitors = of_kind("ServiceMonitor")
    scraped: set[str] = set()
    for name, monitor in monitors.items():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        selected = [
            s
            for s in services.values()
            if matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
            and s["metadata"]["namespace"] in monitor["spec"]["namespaceSelector"]["matchNames"]
        ]
        assert len(selected) == 1, name
        service = selected[0]
        port_names = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names, (name, endpoint)
            assert endpoint["path"] == "/metrics"
        # A ServiceMonitor's job label is the Service's name.
        scraped.add(service["metadata"]["name"])
    jobs_in_rules: set[str] = set()
    for path in stack.rule_files(MONITORING):
        jobs_in_rules |= set(re.findall(r'job="([a-z-]+)"', path.read_text()))
    assert jobs_in_rules <= scraped, jobs_in_rules - scraped
    # ... and they are the jobs of the local configuration.
    assert scraped <= set(job_targets())


# -- generated from the shipped configuration ------------------------------------------------
def test_generated_manifests_are_up_to_date() -> None:
    """Regenerating changes nothing (run `synthdata monitoring build` after editing rules)."""
    stale = stack.build_manifests(MONITORING, check=True)
    assert stale == [], f"out of date: {stale}; run `synthdata monitoring build`"


def test_the_drift_check_notices_an_edited_rule(tmp_path: Path) -> None:
    copy_dir = tmp_path / "monitoring"
    shutil.copytree(MONITORING, copy_dir, ignore=shutil.ignore_patterns("*.pyc"))
    assert stack.build_manifests(copy_dir, check=True) == []
    rules = copy_dir / "prometheus" / "rules" / "database.yml"
    rules.write_text(rules.read_text().replace("for: 1m", "for: 2m", 1))
    assert stack.build_manifests(copy_dir, check=True) == [copy_dir / "k8s" / "prometheusrule.yaml"]
    result = CliRunner().invoke(stack_app, ["build", "--check", "--monitoring-dir", str(copy_dir)])
    assert result.exit_code == 1, result.output
    assert (
        CliRunner().invoke(stack_app, ["build", "--monitoring-dir", str(copy_dir)]).exit_code == 0
    )
    assert stack.build_manifests(copy_dir, check=True) == []


def test_the_prometheusrule_equals_the_rule_files(tools: Tools, tmp_path: Path) -> None:
    (rule,) = of_kind("PrometheusRule").values()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "monitoring"
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    shipped: list[dict[str, Any]] = []
    listed = prometheus_config()["rule_files"]
    for name in listed:
        shipped += yaml.safe_load((PROMETHEUS_DIR / name).read_text())["groups"]
    assert rule["spec"]["groups"] == shipped
    assert len(listed) == len(list((PROMETHEUS_DIR / "rules").glob("*.yml"))) / 2
    # And Prometheus accepts it as a rule file.
    extracted = tmp_path / "prometheusrule.yml"
    extracted.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = tools.run([tools.promtool, "check", "rules", str(extracted)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alertmanager_secret_carries_the_shipped_routing(tools: Tools, tmp_path: Path) -> None:
    secret = of_kind("Secret")["alertmanager-synthdata-config"]
    assert secret["metadata"]["namespace"] == "monitoring"
    data = secret["stringData"]
    templates = sorted(p.name for p in (ALERTMANAGER_DIR / "templates").glob("*.tmpl"))
    assert sorted(set(data) - {"alertmanager.yaml"}) == templates
    for name in templates:
        assert data[name] == (ALERTMANAGER_DIR / "templates" / name).read_text()
    shipped = yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())
    cluster = yaml.safe_load(data["alertmanager.yaml"])
    assert cluster["templates"] == ["/etc/alertmanager/config/*.tmpl"]
    assert cluster["route"] == shipped["route"]
    assert cluster["inhibit_rules"] == shipped["inhibit_rules"]
    # Incidents go to the incident spool's Service, which forwards them to the API.
    spool_url = "http://synthdata-incident-spool.synthdata.svc:9095/api/v1/alerts/webhook"
    for receiver in cluster["receivers"]:
        for hook in receiver["webhook_configs"]:
            assert hook["url"] == spool_url
    spool = of_kind("Service")["synthdata-incident-spool"]
    assert (spool["metadata"]["namespace"], spool["spec"]["ports"][0]["port"]) == (
        "synthdata",
        9095,
    )
    # amtool accepts it, templates included, once the mounted paths exist.
    mounted = tmp_path / "config"
    mounted.mkdir()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, text in data.items():
        (mounted / name).write_text(text)
    for name in stack.SECRET_NAMES:
        (secrets / name).write_text("x\n")
    config = mounted / "alertmanager.yaml"
    config.write_text(
        data["alertmanager.yaml"]
        .replace("/etc/alertmanager/config/", f"{mounted}/")
        .replace(SECRETS_DIR, f"{secrets}/")
    )
    result = tools.run([tools.amtool, "check-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 templates" in result.stdout


def test_prometheus_values_wire_in_the_secret_and_the_secrets() -> None:
    values = yaml.safe_load((MONITORING / "prometheus-values.yaml").read_text())
    spec = values["alertmanager"]["alertmanagerSpec"]
    assert spec["useExistingSecret"] is True
    assert spec["configSecret"] in of_kind("Secret")
    (mount,) = spec["volumeMounts"]
    assert mount["mountPath"].rstrip("/") + "/" == SECRETS_DIR
    (volume,) = spec["volumes"]
    assert volume["name"] == mount["name"]
    prometheus = values["prometheus"]["prometheusSpec"]
    assert prometheus["evaluationInterval"] == prometheus_config()["global"]["evaluation_interval"]
    assert prometheus["scrapeInterval"] == prometheus_config()["global"]["scrape_interval"]
    assert "cluster" in prometheus["externalLabels"]
    assert prometheus["serviceMonitorNamespaceSelector"] == {}
    assert prometheus["ruleNamespaceSelector"] == {}
    assert values["grafana"]["enabled"] is False


# -- the Compose file ----------------------------------------------------------------------------
def test_compose_references_existing_files() -> None:
    config = compose()
    for name, service in config["services"].items():
        assert service.get("network_mode") == "host", f"{name}: the shipped configs use loopback"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (MONITORING / source).exists(), f"{name}: {source} does not exist"
        build = service.get("build")
        if build:
            context = MONITORING / build["context"]
            assert (context / "pyproject.toml").is_file() and (context / "src").is_dir()
            for copied in re.findall(r"^COPY (.+) \S+$", build["dockerfile_inline"], re.M):
                for item in copied.split():
                    assert (context / item).exists(), item
    for name in config["secrets"]:
        assert "environment" in config["secrets"][name], "secrets come from the environment"


def test_compose_ports_agree_with_the_shipped_prometheus_config() -> None:
    services = compose()["services"]
    targets = job_targets()
    by_job = {
        "synthdata-api": "api",
        "synthdata-worker": "worker",
        "prometheus": "prometheus",
        "node-exporter": "node-exporter",
        "postgres-exporter": "postgres-exporter",
        "redis-exporter": "redis-exporter",
    }
    assert set(by_job) == set(targets), "a scrape job without a Compose service"
    for job, service in by_job.items():
        (target,) = targets[job]
        host, port = target.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert listen_port(services[service]) == int(port), job
    (alertmanagers,) = prometheus_config()["alerting"]["alertmanagers"]
    (am_target,) = alertmanagers["static_configs"][0]["targets"]
    assert listen_port(services["alertmanager"]) == int(am_target.rsplit(":", 1)[1])
    # Alertmanager posts incidents to the incident spool, which forwards them to the API.
    shipped = (ALERTMANAGER_DIR / "alertmanager.yml").read_text()
    spool = services["incident-spool"]
    assert f"http://127.0.0.1:{listen_port(spool)}/api/v1/alerts/webhook" in shipped
    api_url = spool["command"][spool["command"].index("--api-url") + 1]
    assert api_url == f"http://127.0.0.1:{listen_port(services['api'])}"
    # The app's own connection URLs point at the Compose data stores.
    env = services["api"]["environment"]
    assert "127.0.0.1:5432" in env["SYNTHDATA_DATABASE_URL"]
    assert "127.0.0.1:6379" in env["SYNTHDATA_REDIS_URL"]
    ports = [p for p in (listen_port(s) for s in services.values()) if p]
    assert len(ports) == len(set(ports)), "two services on one host port"


def test_compose_runs_the_shipped_prometheus_and_alertmanager_configs() -> None:
    services = compose()["services"]
    volumes = services["prometheus"]["volumes"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in volumes
    for name in prometheus_config()["rule_files"]:
        assert name.startswith("rules/") and (PROMETHEUS_DIR / name).is_file()
    am = services["alertmanager"]
    assert "./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in am["volumes"]
    assert "./alertmanager/templates:/etc/alertmanager/templates:ro" in am["volumes"]
    secret_files = set(
        re.findall(
            r"(/etc/alertmanager/secrets/[\w-]+)",
            (ALERTMANAGER_DIR / "alertmanager.yml").read_text(),
        )
    )
    assert {s["target"] for s in am["secrets"]} == secret_files
    # Same image as the Kubernetes Deployments.
    images = {
        c["image"]
        for d in of_kind("Deployment").values()
        for c in d["spec"]["template"]["spec"]["containers"]
        if c["name"].startswith("synthdata-")
    }
    assert images == {services["api"]["image"]} == {services["worker"]["image"]}


# -- the local stack -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/healthy", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_local_configs_keep_the_shipped_rules_and_routing(tmp_path: Path) -> None:
    options = stack.StackOptions(
        api_url="http://127.0.0.1:18000",
        worker_url="http://127.0.0.1:18001",
        prometheus_port=19090,
        alertmanager_port=19093,
    )
    config = stack.local_prometheus_config(options, MONITORING)
    assert config["rule_files"] == [str(p) for p in stack.rule_files(MONITORING)]
    assert all(Path(p).is_file() for p in config["rule_files"])
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert targets["synthdata-api"] == ["127.0.0.1:18000"]
    assert targets["synthdata-worker"] == ["127.0.0.1:18001"]
    assert targets["prometheus"] == ["127.0.0.1:19090"]
    assert config["global"] == prometheus_config()["global"]
    text = stack.local_alertmanager_config(options, MONITORING, tmp_path)
    assert SECRETS_DIR not in text and f"{tmp_path}/pagerduty-routing-key" in text
    # The incident webhook is the stack's incident spool (which forwards to the API).
    hooks = {h["url"] for r in yaml.safe_load(text)["receivers"] for h in r["webhook_configs"]}
    assert hooks == {"http://127.0.0.1:9095/api/v1/alerts/webhook"}
    assert (
        yaml.safe_load(text)["route"]
        == yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())["route"]
    )


@pytest.mark.slow
def test_monitoring_up_status_down(tools: Tools, tmp_path: Path) -> None:
    """`synthdata monitoring up` -> Prometheus, Alertmanager and the incident spool
    answer -> `down` -> processes gone."""
    state = tmp_path / "state"
    prom_port, am_port, spool_port = _free_port(), _free_port(), _free_port()
    runner = CliRunner()
    # `up` shares the incident-webhook token through the service's home: this test's own.
    service_home = {"SYNTHDATA_HOME": str(tmp_path / "home")}
    args = [
        "up",
        "--state-dir",
        str(state),
        "--api-url",
        f"http://127.0.0.1:{_free_port()}",
        "--worker-url",
        f"http://127.0.0.1:{_free_port()}",
        "--prometheus-port",
        str(prom_port),
        "--alertmanager-port",
        str(am_port),
        "--incident-spool-port",
        str(spool_port),
        "--no-exporters",
    ]
    try:
        result = runner.invoke(stack_app, args, env=service_home)
        assert result.exit_code == 0, result.output
        components = {c.name: c for c in stack.read_components(state)}
        assert set(components) == {"prometheus", "alertmanager", "incident-spool"}
        assert _healthy(f"http://127.0.0.1:{prom_port}")
        assert _healthy(f"http://127.0.0.1:{am_port}")
        # Alertmanager posts incidents to the spool, whose file is under the state dir.
        am_config = (state / "alertmanager" / "alertmanager.yml").read_text()
        assert f"http://127.0.0.1:{spool_port}/api/v1/alerts/webhook" in am_config
        with urllib.request.urlopen(f"http://127.0.0.1:{spool_port}/healthz", timeout=5) as r:
            assert json.loads(r.read())["pending"] == 0
        assert (state / "incident-spool" / "spool.sqlite3").is_file()
        assert (state / "logs" / "prometheus.log").is_file()
        for name in stack.SECRET_NAMES:
            assert (state / "secrets" / name).stat().st_mode & 0o077 == 0
        # Prometheus loaded every shipped rule group.
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=5) as r:
            groups = {g["name"] for g in yaml.safe_load(r.read())["data"]["groups"]}
        (rule,) = of_kind("PrometheusRule").values()
        assert groups == {g["name"] for g in rule["spec"]["groups"]}

        # A second `up` starts nothing new.
        again = runner.invoke(stack_app, args, env=service_home)
        assert again.exit_code == 0, again.output
        assert {c.name: c.pid for c in stack.read_components(state)} == {
            name: c.pid for name, c in components.items()
        }
        shown = runner.invoke(stack_app, ["status", "--state-dir", str(state)])
        assert shown.exit_code == 0, shown.output
        assert shown.output.count("healthy") == 3
        assert re.search(r"^incident-spool\s+healthy\s", shown.output, re.M), shown.output
    finally:
        done = runner.invoke(stack_app, ["down", "--state-dir", str(state)])
    assert done.exit_code == 0, done.output
    for component in components.values():
        deadline = time.monotonic() + 10
        while psutil.pid_exists(component.pid) and time.monotonic() < deadline:
            try:
                if psutil.Process(component.pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        assert not component.running(), f"{component.name} still running"
    assert not _healthy(f"http://127.0.0.1:{prom_port}")
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{spool_port}/healthz", timeout=2)
    assert stack.read_components(state) == []
    shown = runner.invoke(stack_app, ["status", "--state-dir", str(state)])
    assert shown.exit_code == 3


def test_down_never_signals_a_process_it_did_not_start(tmp_path: Path) -> None:
    """A pid file whose pid now belongs to another process (start time differs) is stale."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        run = tmp_path / "run"
        run.mkdir()
        record = {
            "name": "prometheus",
            "pid": sleeper.pid,
            "create_time": 1.0,
            "url": "http://127.0.0.1:1",
            "health": "/-/healthy",
            "log": "x",
        }
        (run / "prometheus.pid").write_text(json.dumps(record))
        assert [s.state for s in stack.status(tmp_path)] == ["stale"]
        assert stack.down(tmp_path) == []
        assert sleeper.poll() is None, "an unrelated process was signalled"
        assert stack.read_components(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
