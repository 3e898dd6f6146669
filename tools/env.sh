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
