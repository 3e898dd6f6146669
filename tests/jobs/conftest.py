"""The job tests share the service fixtures (real databases and Redis)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "service" / "conftest.py"
_spec = importlib.util.spec_from_file_location("synthdata_service_test_fixtures", _PATH)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures
_spec.loader.exec_module(_fixtures)

globals().update({k: v for k, v in vars(_fixtures).items() if not k.startswith("_")})
