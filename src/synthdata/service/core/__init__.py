"""Shared infrastructure of the service: settings, database, problems, storage."""
