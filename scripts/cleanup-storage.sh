#!/usr/bin/env bash
# Runbook wrapper: same flags as the runbook's line; the work is done by 'synthdata ops cleanup-storage'.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
synthdata="${SYNTHDATA_BIN:-$here/.venv/bin/synthdata}"
command -v "$synthdata" >/dev/null 2>&1 || synthdata=synthdata
exec "$synthdata" ops cleanup-storage "$@"
