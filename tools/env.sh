# Shared set-up steps for tools/*.sh: a project virtualenv with the right packages.
VENV="${SYNTHDATA_VENV:-.venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
}

# torch is only needed by the optional SDV adapters; pin the CPU build so that
# pip never resolves a multi-GB CUDA build for it.
ensure_torch() {
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    "$VENV/bin/pip" install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  fi
}

ensure_python_packages() {
  local spec="$1"
  case "$spec" in *sdv*) ensure_torch ;; esac
  local stamp="$VENV/.installed-$(echo "$spec" | tr -c 'a-z0-9' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q -e "$spec" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import synthdata" && touch "$stamp"
  fi
}

# Debian packages the tests run for real (promtool, amtool, Prometheus, Alertmanager,
# the PostgreSQL and Redis exporters, and Chromium for the status page's browser test).
ensure_debian_packages() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  command -v prometheus-postgres-exporter >/dev/null 2>&1 ||
    missing+=(prometheus-postgres-exporter)
  command -v prometheus-redis-exporter >/dev/null 2>&1 || missing+=(prometheus-redis-exporter)
  command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Nothing may start as a system service: tests start their own on loopback ports.
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
  [ -n "$made_policy" ] && $sudo rm -f /usr/sbin/policy-rc.d
  return 0
}
