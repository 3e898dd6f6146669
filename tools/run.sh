#!/usr/bin/env bash
# Run the platform on the embedded default: SQLite under ./var, the local job queue
# consumed inside the server, no other service needed. Usage: make run
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
ensure_venv
ensure_python_packages "."
mkdir -p var
exec "$VENV/bin/synthdata" serve --host "${SYNTHDATA_HOST:-127.0.0.1}" --port "${SYNTHDATA_PORT:-8000}"
