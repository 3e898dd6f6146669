"""`synthdata ops ...`: importing this package registers every topic's commands."""

from synthdata.cli.ops import (  # noqa: F401  (imported for their command registrations)
    breaker,
    diagnose,
    maintenance,
    mitigate,
    performance,
    security,
)
from synthdata.cli.ops.app import ops_app

__all__ = ["ops_app"]
