#!/usr/bin/env bash
# A private Docker engine on private paths, for the sandbox tests and CI.
#
#   eval "$(scripts/dockerd.sh start)"   # starts dockerd (or reuses the one already running there),
#                                        # prints `export DOCKER_HOST=unix://.../docker.sock`
#   scripts/dockerd.sh stop              # SIGTERM to the engine, waits until it has exited
#   scripts/dockerd.sh status            # exit 0 when it answers `docker info`
#
# Everything lives under $AGENTFLOW_DOCKERD_DIR (default /tmp/agentflow-dockerd): socket, data root, exec
# root, pidfile, log. $AGENTFLOW_DOCKERD_ARGS adds dockerd flags. AGENTFLOW_DOCKERD_NETNS=1 runs the engine in
# a network namespace of its own (`unshare --net`): a second engine beside another one then cannot touch the
# host's bridge or iptables rules (its containers have no way out at all). Nothing touches /var/run/docker.sock or /var/lib/docker. gVisor (`runsc`) is registered
# as a runtime when installed (with --network=none, which it needs when it runs in a root network namespace).
# Exit codes: 0 ok, 3 dockerd not installed, 1 it did not become ready (its log's tail goes to stderr).
set -euo pipefail

DIR=${AGENTFLOW_DOCKERD_DIR:-/tmp/agentflow-dockerd}
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
READY_S=${AGENTFLOW_DOCKERD_READY_S:-60}
export DOCKER_HOST="unix://$SOCK"

_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
_ready() { docker info >/dev/null 2>&1; }

start() {
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd.sh: no Docker engine installed; install it with: sudo apt-get install -y docker.io" >&2
    exit 3
  fi
  if ! command -v docker >/dev/null 2>&1; then
    echo "dockerd.sh: no docker client; install it with: sudo apt-get install -y docker.io" >&2
    exit 3
  fi
  mkdir -p "$DIR"
  if _alive && _ready; then
    echo "export DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  local config="$DIR/daemon.json"
  if command -v runsc >/dev/null 2>&1; then
    printf '{"runtimes": {"runsc": {"path": "%s", "runtimeArgs": ["--network=none"]}}}\n' \
      "$(command -v runsc)" >"$config"
  else
    echo '{}' >"$config"
  fi
  local wrap=()
  if [ "${AGENTFLOW_DOCKERD_NETNS:-0}" = 1 ]; then wrap=(unshare --net); fi
  # setsid: the engine outlives this script and does not get the caller's terminal signals
  setsid ${wrap[@]+"${wrap[@]}"} dockerd -H "unix://$SOCK" --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$PIDFILE" \
    --config-file "$config" ${AGENTFLOW_DOCKERD_ARGS:-} >"$LOG" 2>&1 </dev/null &
  local deadline=$((SECONDS + READY_S))
  until _ready; do
    if (( SECONDS >= deadline )); then
      echo "dockerd.sh: dockerd did not answer 'docker info' within ${READY_S}s; its log ($LOG):" >&2
      tail -n 20 "$LOG" >&2 || true
      stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.2
  done
  echo "export DOCKER_HOST=$DOCKER_HOST"
}

stop() {
  if ! [ -f "$PIDFILE" ]; then
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS >= deadline )); then
        echo "dockerd.sh: dockerd (pid $pid) still running 30s after SIGTERM; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) _alive && _ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
