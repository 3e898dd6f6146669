"""`synthdata ops`: health-check, check-recent-deployments, check-resources,
check-error-logs, check-log-pipeline."""

from __future__ import annotations

from synthdata.cli.ops.app import ops_app  # noqa: F401
