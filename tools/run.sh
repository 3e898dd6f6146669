#!/usr/bin/env bash
# Run the platform on the embedded default: SQLite and files under SYNTHDATA_HOME
# (default ~/.local/share/synthdata), the local job queue consumed inside the server,
# no other service needed; on SYNTHDATA_HOST:SYNTHDATA_PORT (default 127.0.0.1:8000),
# which `synthdata serve` reads itself. Usage: make run
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
ensure_venv
ensure_python_packages "."
exec "$VENV/bin/synthdata" serve
