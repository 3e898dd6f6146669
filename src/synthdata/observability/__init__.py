"""Metrics, logs and traces that the runbook's queries, alerts and dashboards read."""
