"""The Infrastructure dashboard: pods, nodes, volumes, network, PostgreSQL and Redis.

A part of monitoring/grafana/dashboards.py, which loads it (by path, as the CLI and the
tests load dashboards.py itself) and writes the JSON with the other dashboards.
"""

from __future__ import annotations

from synthdata.ops.dashboards import Dashboard, Panel, Query, Row

RI = "$__rate_interval"
CONTAINERS = 'container=~"synthdata-api|synthdata-worker"'
FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|devtmpfs"'
NS = 'namespace="synthdata"'
# cAdvisor's network series are per pod (the pod's network namespace), not per container.
PODS = 'namespace="synthdata", pod=~"synthdata-(api|worker)-.*"'


def _q(expr: str, legend: str = "", instant: bool = False) -> tuple[Query, ...]:
    return (Query(" ".join(expr.split()), legend, instant),)


INFRASTRUCTURE = Dashboard(
    uid="synthdata-infrastructure",
    title="Inferloop Synthetic Data - Infrastructure",
    description="Kubernetes pods, nodes, volumes and network, PostgreSQL and Redis behind the "
    "service.",
    rows=(
        Row(
            "Kubernetes",
            (
                Panel(
                    "Pods by Phase",
                    "short",
                    _q(
                        'sum by (phase) (kube_pod_status_phase{namespace=~"synthdata.*"})',
                        "{{phase}}",
                    ),
                ),
                Panel(
                    "Container Restarts",
                    "short",
                    _q(
                        f"sum by (pod, container) (increase("
                        f"kube_pod_container_status_restarts_total{{{CONTAINERS}}}[{RI}]))",
                        "{{pod}}/{{container}}",
                    ),
                ),
                Panel(
                    "Container CPU (share of limit)",
                    "percentunit",
                    _q(
                        f"sum by (pod, container) (rate(container_cpu_usage_seconds_total"
                        f"{{{CONTAINERS}}}[{RI}])) / sum by (pod, container) "
                        f'(kube_pod_container_resource_limits{{resource="cpu", {CONTAINERS}}})',
                        "{{pod}}/{{container}}",
                    ),
                ),
                Panel(
                    "Container Memory (share of limit)",
                    "percentunit",
                    _q(
                        f"sum by (pod, container) (container_memory_working_set_bytes"
                        f"{{{CONTAINERS}}}) / sum by (pod, container) "
                        f'(kube_pod_container_resource_limits{{resource="memory", {CONTAINERS}}})',
                        "{{pod}}/{{container}}",
                    ),
                ),
            ),
        ),
        Row(
            "Nodes",
            (
                Panel(
                    "Node CPU Utilisation",
                    "percentunit",
                    _q(
                        f"1 - avg by (instance) "
                        f'(rate(node_cpu_seconds_total{{mode="idle"}}[{RI}]))',
                        "{{instance}}",
                    ),
                    width=8,
                ),
                Panel(
                    "Node Memory Utilisation",
                    "percentunit",
                    _q(
                        "1 - sum by (instance) (node_memory_MemAvailable_bytes) "
                        "/ sum by (instance) (node_memory_MemTotal_bytes)",
                        "{{instance}}",
                    ),
                    width=8,
                ),
                Panel(
                    "Node Disk Utilisation",
                    "percentunit",
                    _q(
                        f"1 - sum by (instance, mountpoint) (node_filesystem_avail_bytes{{{FS}}}) "
                        f"/ sum by (instance, mountpoint) (node_filesystem_size_bytes{{{FS}}})",
                        "{{instance}} {{mountpoint}}",
                    ),
                    width=8,
                ),
            ),
        ),
        Row(
            "PostgreSQL",
            (
                Panel(
                    "PostgreSQL Up",
                    "bool_yes_no",
                    _q('max(pg_up{job="postgres-exporter"})', "up"),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Connections (share of max)",
                    "percentunit",
                    _q(
                        "sum(pg_stat_database_numbackends) / max(pg_settings_max_connections)",
                        "used",
                    ),
                    width=6,
                ),
                Panel(
                    "Transactions",
                    "ops",
                    _q(
                        f"sum(rate(pg_stat_database_xact_commit[{RI}])) "
                        f"+ sum(rate(pg_stat_database_xact_rollback[{RI}]))",
                        "commits + rollbacks",
                    ),
                    width=6,
                ),
                Panel(
                    "Database Size",
                    "bytes",
                    _q("sum by (datname) (pg_database_size_bytes)", "{{datname}}"),
                    width=6,
                ),
            ),
        ),
        Row(
            "Node Status, Volumes and Network",
            (
                Panel(
                    "Nodes Not Ready",
                    "short",
                    _q(
                        "count(max by (node) "
                        '(kube_node_status_condition{condition="Ready", status="true"}) == 0) '
                        "or vector(0)",
                        "not ready",
                    ),
                    kind="stat",
                    description="Nodes whose Ready condition is false or unknown (NodeNotReady "
                    "after 10 minutes).",
                    width=6,
                ),
                Panel(
                    "Nodes under Pressure",
                    "short",
                    _q(
                        "sum by (condition) (max by (node, condition) (kube_node_status_condition"
                        '{condition=~"MemoryPressure|DiskPressure|PIDPressure", status="true"}))',
                        "{{condition}}",
                    ),
                    description="Nodes reporting each pressure condition: the kubelet evicts "
                    "pods from them (NodeUnderPressure).",
                    width=6,
                ),
                Panel(
                    "Persistent Volume Usage",
                    "percentunit",
                    _q(
                        f"max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{NS}}}) "
                        "/ max by (persistentvolumeclaim) "
                        f"(kubelet_volume_stats_capacity_bytes{{{NS}}})",
                        "{{persistentvolumeclaim}}",
                    ),
                    description="Used share of each claim, e.g. data-synthdata-minio-0 (the "
                    "optional MinIO's artifacts); PersistentVolumeUsageHigh warns at 85 %, "
                    "pages at 95 %.",
                    width=12,
                ),
                Panel(
                    "Pod Network Traffic",
                    "Bps",
                    (
                        Query(
                            f"sum by (pod) (rate(container_network_receive_bytes_total"
                            f"{{{PODS}}}[{RI}]))",
                            "{{pod}} in",
                        ),
                        Query(
                            f"sum by (pod) (rate(container_network_transmit_bytes_total"
                            f"{{{PODS}}}[{RI}]))",
                            "{{pod}} out",
                        ),
                    ),
                    description="Bytes per second received and sent by each API and worker pod.",
                ),
                Panel(
                    "Pod Network Errors and Drops",
                    "percentunit",
                    _q(
                        " + ".join(
                            f"sum by (pod) (rate(container_network_{name}_total{{{PODS}}}[{RI}]))"
                            for name in (
                                "receive_errors",
                                "receive_packets_dropped",
                                "transmit_errors",
                                "transmit_packets_dropped",
                            )
                        )
                        + " / ("
                        + " + ".join(
                            f"sum by (pod) (rate(container_network_{name}_total{{{PODS}}}[{RI}]))"
                            for name in ("receive_packets", "transmit_packets")
                        )
                        + ")",
                        "{{pod}}",
                    ),
                    description="Packets dropped or in error over packets, both directions "
                    "(ContainerNetworkErrors above 1 % for 15 minutes).",
                ),
            ),
        ),
        Row(
            "PostgreSQL Queries",
            (
                Panel(
                    "Mean Statement Time",
                    "s",
                    _q(
                        f"sum(rate(pg_database_statements_exec_seconds_total[{RI}])) "
                        f"/ sum(rate(pg_database_statements_calls_total[{RI}]))",
                        "mean",
                    ),
                    description="From pg_stat_statements through the exporter's custom queries "
                    "(monitoring/postgres-exporter/queries.yaml); PostgreSQLSlowQueries above "
                    "100 ms for 10 minutes.",
                    width=8,
                ),
                Panel(
                    "Statements per Second",
                    "ops",
                    _q(f"sum(rate(pg_database_statements_calls_total[{RI}]))", "statements"),
                    width=8,
                ),
                Panel(
                    "Slowest Statements (mean since reset)",
                    "s",
                    _q(
                        "topk(10, max by (queryid) (pg_slowest_statements_mean_exec_seconds))",
                        "{{queryid}}",
                        instant=True,
                    ),
                    kind="bargauge",
                    description="Look a queryid up with SELECT query FROM pg_stat_statements "
                    "WHERE queryid = ...",
                    width=8,
                ),
            ),
        ),
        Row(
            "Redis",
            (
                Panel(
                    "Redis Up",
                    "bool_yes_no",
                    _q('max(redis_up{job="redis-exporter"})', "up"),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Redis Memory",
                    "bytes",
                    _q("sum by (instance) (redis_memory_used_bytes)", "{{instance}}"),
                    width=6,
                ),
                Panel(
                    "Redis Clients",
                    "short",
                    _q("sum by (instance) (redis_connected_clients)", "{{instance}}"),
                    width=6,
                ),
                Panel(
                    "Redis Commands",
                    "ops",
                    _q(
                        f"sum by (instance) (rate(redis_commands_processed_total[{RI}]))",
                        "{{instance}}",
                    ),
                    width=6,
                ),
            ),
        ),
    ),
)
