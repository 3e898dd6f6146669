"""Deployments: every start of an API or worker process, with its version and config digest."""
