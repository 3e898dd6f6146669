#!/usr/bin/env bash
# Run the platform on the embedded default (SQLite, local queue, ./var). Usage: make run
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
ensure_venv
ensure_python_packages "."
mkdir -p var
exec "$VENV/bin/synthdata" generate examples/customers.csv --rows 10000 --output var/synthetic.csv --seed 1
