"""The models domain of the service."""
