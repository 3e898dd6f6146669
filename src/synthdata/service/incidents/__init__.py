"""Incidents: opened from Alertmanager's webhook, worked through the API and the CLI."""
