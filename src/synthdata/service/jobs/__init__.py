"""The jobs domain of the service."""
