"""`synthdata ops`: redirect-traffic, scale, restart, update-resources,
configure-cache, optimize-queries."""

from __future__ import annotations

from synthdata.cli.ops.app import ops_app  # noqa: F401
