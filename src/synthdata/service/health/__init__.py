"""The health domain of the service."""
