#!/usr/bin/env bash
# Runbook wrapper: same flags as the runbook's line; the work is done by 'synthdata monitoring import-dashboard'.
# Grafana: SYNTHDATA_GRAFANA_URL and GRAFANA_TOKEN (an API token, sent as a Bearer token).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
synthdata="${SYNTHDATA_BIN:-$here/.venv/bin/synthdata}"
command -v "$synthdata" >/dev/null 2>&1 || synthdata=synthdata
exec "$synthdata" monitoring import-dashboard "$@"
