# The PostgreSQL and Redis servers the tests use (sourced by tools/test.sh, after env.sh).
#
# The tests read SYNTHDATA_TEST_PG (a server URL; its database `test` must exist, trust
# login), SYNTHDATA_TEST_REDIS (a database URL) and SYNTHDATA_TEST_REDIS_SERVER (the
# server). When the server a variable names (default: the machine's, 127.0.0.1:5432 and
# 127.0.0.1:6379) answers, it is used. Otherwise a scratch PostgreSQL cluster and a scratch
# Redis are started on free loopback ports in a temporary directory, the variables point
# at them, and stop_test_services stops them and removes the directory.
TEST_PG="${SYNTHDATA_TEST_PG:-postgresql+psycopg://postgres@127.0.0.1:5432}"
TEST_REDIS_SERVER="${SYNTHDATA_TEST_REDIS_SERVER:-${SYNTHDATA_TEST_REDIS:-redis://127.0.0.1:6379/0}}"
[[ "$TEST_REDIS_SERVER" =~ ^(redis://[^/]+)/[0-9]+$ ]] && TEST_REDIS_SERVER="${BASH_REMATCH[1]}"
SCRATCH_PREFIX="${TMPDIR:-/tmp}/synthdata-test-services."
SCRATCH=""
NEED_PG=""
NEED_REDIS=""

_pg_answers() {
  "$VENV/bin/python" - "$1" >/dev/null 2>&1 <<'EOF'
import sys, psycopg
psycopg.connect(sys.argv[1].replace("+psycopg", "") + "/test", connect_timeout=3).close()
EOF
}

_redis_answers() {
  "$VENV/bin/python" - "$1" >/dev/null 2>&1 <<'EOF'
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
EOF
}

_free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_pg_bindir() {
  find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -1
}

# The PostgreSQL server refuses to run as root: run its commands as `postgres` then.
_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Which servers answer; the Debian packages the missing ones need go to SERVICE_PACKAGES.
SERVICE_PACKAGES=()
probe_test_services() {
  local packages=()
  if _pg_answers "$TEST_PG"; then
    echo "==> using the PostgreSQL server at ${TEST_PG#*@}"
  else
    NEED_PG=1
    [ -n "$(_pg_bindir)" ] || packages+=(postgresql)
  fi
  if _redis_answers "$TEST_REDIS_SERVER"; then
    echo "==> using the Redis server at ${TEST_REDIS_SERVER#redis://}"
  else
    NEED_REDIS=1
    command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
  fi
  SERVICE_PACKAGES=("${packages[@]}")
}

# Scratch directories left by a run that was killed: stop what they hold, remove them.
_remove_stale_scratch() {
  local dir
  for dir in "$SCRATCH_PREFIX"*; do
    [ -d "$dir" ] || continue
    if [ -f "$dir/owner" ] && kill -0 "$(cat "$dir/owner")" 2>/dev/null; then
      continue  # another test run, still going
    fi
    SCRATCH="$dir" _stop_scratch
  done
  SCRATCH=""
}

_start_scratch_pg() {
  local bindir port
  bindir="$(_pg_bindir)"
  port="$(_free_port)"
  mkdir -p "$SCRATCH/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$SCRATCH/pg"
  echo "==> starting scratch PostgreSQL on port $port"
  _as_pg "$bindir/initdb" -D "$SCRATCH/pg/data" -U postgres -A trust -E UTF8 --no-locale \
    --no-sync >"$SCRATCH/pg-initdb.log" 2>&1 || { cat "$SCRATCH/pg-initdb.log" >&2; return 1; }
  # Throw-away data: no fsync, so that creating and dropping databases is quick.
  _as_pg "$bindir/pg_ctl" -D "$SCRATCH/pg/data" -l "$SCRATCH/pg/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $SCRATCH/pg -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$SCRATCH/pg/server.log" >&2; return 1; }
  echo "$bindir" >"$SCRATCH/pg-bindir"
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test || return 1
  export SYNTHDATA_TEST_PG="postgresql+psycopg://postgres@127.0.0.1:$port"
}

_start_scratch_redis() {
  local port
  port="$(_free_port)"
  echo "==> starting scratch Redis on port $port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$SCRATCH" \
    --pidfile "$SCRATCH/redis.pid" --logfile "$SCRATCH/redis.log" --save "" \
    --appendonly no >/dev/null || return 1
  local tries
  for tries in $(seq 100); do
    _redis_answers "redis://127.0.0.1:$port" && break
    [ "$tries" -eq 100 ] && { cat "$SCRATCH/redis.log" >&2; return 1; }
    sleep 0.1
  done
  export SYNTHDATA_TEST_REDIS="redis://127.0.0.1:$port/0"
  export SYNTHDATA_TEST_REDIS_SERVER="redis://127.0.0.1:$port"
}

# Start the scratch servers that probe_test_services found missing; export the URLs.
start_test_services() {
  _remove_stale_scratch
  if [ -z "$NEED_PG" ] && [ -z "$NEED_REDIS" ]; then
    export SYNTHDATA_TEST_PG="$TEST_PG"
    export SYNTHDATA_TEST_REDIS_SERVER="$TEST_REDIS_SERVER"
    export SYNTHDATA_TEST_REDIS="${SYNTHDATA_TEST_REDIS:-$TEST_REDIS_SERVER/0}"
    return 0
  fi
  SCRATCH="$(mktemp -d "${SCRATCH_PREFIX}XXXXXX")"
  chmod 755 "$SCRATCH"
  echo $$ >"$SCRATCH/owner"
  local started=$SECONDS
  if [ -n "$NEED_PG" ]; then
    _start_scratch_pg || return 1
  else
    export SYNTHDATA_TEST_PG="$TEST_PG"
  fi
  if [ -n "$NEED_REDIS" ]; then
    _start_scratch_redis || return 1
  else
    export SYNTHDATA_TEST_REDIS_SERVER="$TEST_REDIS_SERVER"
    export SYNTHDATA_TEST_REDIS="${SYNTHDATA_TEST_REDIS:-$TEST_REDIS_SERVER/0}"
  fi
  echo "    scratch servers in $SCRATCH: $((SECONDS - started)) s"
}

_stop_scratch() {
  [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ] || return 0
  if [ -f "$SCRATCH/pg/data/postmaster.pid" ] && [ -f "$SCRATCH/pg-bindir" ]; then
    _as_pg "$(cat "$SCRATCH/pg-bindir")/pg_ctl" -D "$SCRATCH/pg/data" -m immediate -w stop \
      >/dev/null 2>&1 || true
  fi
  if [ -f "$SCRATCH/redis.pid" ]; then
    kill "$(cat "$SCRATCH/redis.pid")" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}

# Stop the scratch servers (nothing to do when the machine's own were used).
stop_test_services() {
  [ -n "$SCRATCH" ] || return 0
  echo "==> stopping the scratch servers"
  _stop_scratch
  SCRATCH=""
}
