"""The admin domain of the service."""
