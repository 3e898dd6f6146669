"""`synthdata ops`: security-check, analyze-access-patterns, security-report."""

from __future__ import annotations

from synthdata.cli.ops.app import ops_app  # noqa: F401
