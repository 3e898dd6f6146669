"""The customers domain of the service."""
