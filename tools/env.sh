# Shared set-up steps for tools/*.sh: a project virtualenv with the right packages,
# the Debian packages the tests run, and a line per stage with the time it took.
VENV="${SYNTHDATA_VENV:-.venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Run a stage: one "==> what" line before it, its duration after it.
stage() {
  local what="$1"
  shift
  local started=$SECONDS
  echo "==> $what"
  local status=0
  "$@" || status=$?
  echo "    $what: $((SECONDS - started)) s$([ $status -ne 0 ] && echo ", FAILED (exit $status)")"
  return $status
}

# pip, quiet, without the "Location" warnings of editable installs; its errors stay visible.
_pip() {
  local log status
  log=$(mktemp)
  "$VENV/bin/pip" "$@" >"$log" 2>&1
  status=$?
  grep -v "^WARNING: Location" "$log" >&2 || true
  rm -f "$log"
  return $status
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    stage "creating $VENV" python3 -m venv "$VENV" || return 1
    # A venv that ignores itself: no .gitignore entry needed for .venv-sdv and friends.
    printf '*\n' >"$VENV/.gitignore"
  fi
}

# torch is only needed by the optional SDV adapters; pin the CPU build so that
# pip never resolves a multi-GB CUDA build for it.
ensure_torch() {
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    stage "installing torch==2.13.0 (CPU build) in $VENV" _pip install -q "torch==2.13.0"
  fi
}

ensure_python_packages() {
  local spec="$1"
  local stamp
  stamp="$VENV/.installed-$(echo "$spec" | tr -c 'a-z0-9' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    case "$spec" in *sdv*) ensure_torch || return 1 ;; esac
    stage "installing Python packages $spec in $VENV" _pip install -q -e "$spec" || return 1
    # anonymeter (evaluate --privacy) declares numpy<1.27 and pyarrow<22 but runs on the
    # versions above; --no-deps keeps it from downgrading them (its needs: the privacy extra).
    case "$spec" in *dev*) _pip install -q --no-deps "anonymeter==1.1.0" || return 1 ;; esac
    "$VENV/bin/python" -c "import synthdata" && touch "$stamp"
  fi
}

# apt-get that waits for the dpkg lock (unattended-upgrades holds it on a fresh machine)
# and prints its errors; the package lists are refreshed once if a package is not found.
_apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  local apt=($sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -y
    -o DPkg::Lock::Timeout=600 -o APT::Get::Show-Versions=false)
  # Nothing may start as a system service: tests start their own on loopback ports.
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local log status=0
  log=$(mktemp)
  if ! "${apt[@]}" install --no-install-recommends "$@" >"$log" 2>&1; then
    "${apt[@]}" update >"$log" 2>&1 &&
      "${apt[@]}" install --no-install-recommends "$@" >"$log" 2>&1 || status=$?
  fi
  [ $status -ne 0 ] && { echo "apt-get failed (exit $status):" >&2; cat "$log" >&2; }
  rm -f "$log"
  [ -n "$made_policy" ] && $sudo rm -f /usr/sbin/policy-rc.d
  return $status
}

# Debian packages the tests run for real (promtool, amtool, Prometheus, Alertmanager,
# the PostgreSQL and Redis exporters, and Chromium for the status page's browser test),
# plus any given as arguments (the servers, when the machine has none running).
ensure_debian_packages() {
  local missing=("$@")
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  command -v prometheus-postgres-exporter >/dev/null 2>&1 ||
    missing+=(prometheus-postgres-exporter)
  command -v prometheus-redis-exporter >/dev/null 2>&1 || missing+=(prometheus-redis-exporter)
  command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  stage "installing Debian packages: ${missing[*]}" _apt_install "${missing[@]}"
}
