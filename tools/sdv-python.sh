#!/usr/bin/env bash
# Python of the SDV environment (.venv-sdv: .[dev,sdv], with the CPU build of torch), built
# on first use and shared with `make test`. The benchmarks that compare against SDV run
# here, so that .venv does not carry torch. Usage: bash tools/sdv-python.sh -m MODULE [args]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
VENV="${SYNTHDATA_SDV_VENV:-.venv-sdv}"
ensure_venv
ensure_python_packages ".[dev,sdv]"
exec "$VENV/bin/python" "$@"
