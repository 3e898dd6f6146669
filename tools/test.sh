#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (idempotent),
# starts scratch PostgreSQL and Redis servers when the machine has none answering, then
# lint, type checks and pytest. Usage: make test  (or bash tools/test.sh [pytest args])
#
# Two environments: .venv (.[dev], no torch) runs every test but those marked `sdv`;
# .venv-sdv (.[dev,sdv], built once and kept) runs the `sdv` ones, which need SDV and torch.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
source tools/services.sh
SDV_VENV="${SYNTHDATA_SDV_VENV:-.venv-sdv}"
began=$SECONDS
user_args=$#

ensure_venv
ensure_python_packages ".[dev]"
(VENV="$SDV_VENV" && ensure_venv && ensure_python_packages ".[dev,sdv]")
probe_test_services
ensure_debian_packages "${SERVICE_PACKAGES[@]}"
trap stop_test_services EXIT
trap 'exit 130' INT TERM
start_test_services

stage "ruff" bash -c "'$VENV/bin/ruff' check src tests benchmarks monitoring &&
  '$VENV/bin/ruff' format --check src tests benchmarks monitoring"
stage "mypy" "$VENV/bin/mypy"

# pytest exits 5 when it selects no test: an error for the whole suite (a marker or an
# environment gone wrong), but fine when the arguments name tests of one environment only.
run_pytest() {
  local venv="$1"
  shift
  local status=0
  "$venv/bin/pytest" "$@" || status=$?
  if [ $status -eq 5 ] && [ "$user_args" -gt 0 ]; then
    echo "    (no test of these arguments runs in $venv)"
    return 0
  fi
  [ $status -eq 5 ] && echo "no test selected in $venv: the sdv marker selection is broken" >&2
  return $status
}
# Three pytest workers by default (SYNTHDATA_TEST_WORKERS=0: one process): most tests wait
# on servers, Prometheus scrapes and alert timers, not on the CPU, so three share two cores
# well. Each worker has its own PostgreSQL database, every test its own Redis prefix or
# database and free ports. A test file stays on one worker, so that its module-scoped
# fixtures (a Prometheus stack, a fitted model) are built once.
workers="${SYNTHDATA_TEST_WORKERS:-3}"
parallel=()
[ "$workers" != 0 ] && parallel=(-n "$workers" --dist loadfile)
failed=0
stage "pytest" run_pytest "$VENV" -m "not sdv" "${parallel[@]}" "$@" || failed=1
stage "pytest (SDV adapters, in $SDV_VENV)" run_pytest "$SDV_VENV" -m sdv "$@" || failed=1
echo "==> make test: $((SECONDS - began)) s$([ $failed -ne 0 ] && echo ", FAILED")"
exit $failed
