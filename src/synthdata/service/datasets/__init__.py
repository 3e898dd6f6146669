"""The datasets domain of the service."""
