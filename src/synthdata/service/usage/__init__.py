"""The usage domain of the service."""
