#!/usr/bin/env bash
# A throwaway PostgreSQL server on private paths, for the PostgreSQL tests and CI.
#
#   eval "$(scripts/postgres.sh start)"  # initdb + start (or reuse the one already running there), prints
#                                        # `export AGENTFLOW_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres`
#   scripts/postgres.sh stop             # fast shutdown, waits until it has exited, removes the cluster
#   scripts/postgres.sh status           # exit 0 when it accepts connections
#   scripts/postgres.sh restart          # fast shutdown and start again, same port (the fault tests use it)
#   scripts/postgres.sh halt             # fast shutdown, keeping the cluster (`start` starts it again)
#
# Everything lives under $AGENTFLOW_PG_DIR (default /tmp/agentflow-pg-<uid>-<hash of this checkout>): the
# cluster, its socket and log. It listens on 127.0.0.1 only, on $AGENTFLOW_PG_PORT or the first free port from
# 55432, trusts local connections (a test server: never put data you keep in it) and runs with fsync off. As
# root the server runs as the `postgres` user (PostgreSQL refuses to run as root). The binaries come from
# $AGENTFLOW_PG_BIN, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
# Exit codes: 0 ok, 3 PostgreSQL not installed, 1 it did not become ready (its log's tail goes to stderr).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${AGENTFLOW_PG_DIR:-/tmp/agentflow-pg-$(id -u)-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)}
DATA="$DIR/data"
LOG="$DIR/server.log"
PORTFILE="$DIR/port"

_bin() {
  if [ -n "${AGENTFLOW_PG_BIN:-}" ]; then echo "$AGENTFLOW_PG_BIN"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$newest" ] && [ -x "$newest/initdb" ] && echo "$newest"
}

PGBIN=$(_bin || true)

_as_server_user() {  # run a command as the user that owns the cluster
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

_ready() {
  [ -f "$PORTFILE" ] && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PORTFILE")" -t 2 >/dev/null 2>&1
}

_free_port() {
  local port=${AGENTFLOW_PG_PORT:-55432}
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

_url() { echo "export AGENTFLOW_TEST_PG_URL=postgresql://postgres@127.0.0.1:$(cat "$PORTFILE")/postgres"; }

start() {
  if [ -z "$PGBIN" ]; then
    echo "postgres.sh: no PostgreSQL server installed; install it with: sudo apt-get install -y postgresql" >&2
    exit 3
  fi
  if [ -f "$DATA/postmaster.pid" ] && _ready; then
    _url
    return 0
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    _as_server_user "$PGBIN/initdb" -N -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$DIR/initdb.log" 2>&1 || { tail -n 20 "$DIR/initdb.log" >&2; exit 1; }
  fi
  local port
  port=$(_free_port)
  echo "$port" >"$PORTFILE"
  if ! _as_server_user "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
      -o "-p $port -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null; then
    echo "postgres.sh: the server did not start; its log ($LOG):" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  _url
}

stop() {
  if [ -n "$PGBIN" ] && [ -f "$DATA/postmaster.pid" ]; then
    _as_server_user "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || _as_server_user "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}

restart() {
  _as_server_user "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 restart >/dev/null
}

halt() {
  _as_server_user "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
}

case "${1:-}" in
  start) start ;;
  restart) restart ;;
  halt) halt ;;
  stop) stop ;;
  status) [ -n "$PGBIN" ] && _ready ;;
  *) echo "usage: $0 start|stop|status|restart|halt" >&2; exit 2 ;;
esac
