"""`synthdata ops`: cleanup-metrics, backup-monitoring-config, monitoring-maintenance."""

from __future__ import annotations

from synthdata.cli.ops.app import ops_app  # noqa: F401
