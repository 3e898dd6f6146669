"""`synthdata ops`: performance-benchmark, performance-report, compare-performance."""

from __future__ import annotations

from synthdata.cli.ops.app import ops_app  # noqa: F401
