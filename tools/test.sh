#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (idempotent),
# then lint, type checks and pytest. Usage: make test  (or bash tools/test.sh [pytest args])
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
ensure_venv
ensure_python_packages ".[dev,sdv]"
ensure_debian_packages
"$VENV/bin/ruff" check src tests benchmarks monitoring
"$VENV/bin/ruff" format --check src tests benchmarks monitoring
"$VENV/bin/mypy"
"$VENV/bin/pytest" "$@"
