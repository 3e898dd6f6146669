"""The REST service: customers and keys, datasets, models, durable generation jobs.

from synthdata.service import create_app
app = create_app()          # settings from SYNTHDATA_* environment variables
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so that workers and migrations importing submodules do not load FastAPI.
    if name == "create_app":
        from synthdata.service.app import create_app

        return create_app
    raise AttributeError(name)
