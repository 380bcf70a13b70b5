#!/usr/bin/env bash
# Source me: makes sure the project's virtualenv exists and is current, then sets $AGENTFLOW_VENV.
# First use (or a changed pyproject.toml) installs everything: torch pinned to the CPU build, agentflow with
# its local-model, memory (the offline embedding model) and dev extras. Later uses cost nothing.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTFLOW_VENV=${AGENTFLOW_VENV:-$ROOT/.venv}
_stamp="$AGENTFLOW_VENV/.agentflow-ready"
_want=$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/env.sh" | sha256sum | cut -c1-16)
_setup_step() {  # _setup_step N TOTAL WHAT COMMAND...: one progress line; the command's output goes to the log
  local n=$1 total=$2 what=$3
  shift 3
  echo "agentflow: [$n/$total] $what" >&2
  if ! "$@" >>"$_setup_log" 2>&1; then
    echo "agentflow: setting up $AGENTFLOW_VENV failed while: $what" >&2
    echo "agentflow: the full log is $_setup_log; its end:" >&2
    tail -n 15 "$_setup_log" | sed 's/^/    /' >&2
    return 1
  fi
}
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_want" ]; then
  echo "agentflow: preparing $AGENTFLOW_VENV (first run only; a few minutes)" >&2
  _setup_log="${AGENTFLOW_SETUP_LOG:-$ROOT/.agentflow-setup.log}"
  : >"$_setup_log"
  _pip="$AGENTFLOW_VENV/bin/python -m pip --disable-pip-version-check"
  _setup_step 1 5 "creating the virtualenv" python3 -m venv "$AGENTFLOW_VENV" \
    && _setup_step 2 5 "upgrading pip" $_pip install --upgrade pip \
    && _setup_step 3 5 "installing torch 2.13.0 (CPU build)" $_pip install "torch==2.13.0" \
    && _setup_step 4 5 "installing agentflow with its local-model, memory and dev extras" \
         $_pip install -e "$ROOT[local,memory,dev]" \
    && _setup_step 5 5 "removing torchvision / torchaudio (no CPU builds here; they break torch)" \
         $_pip uninstall -y torchvision torchaudio torchcodec \
    || return 1 2>/dev/null || exit 1
  echo "$_want" > "$_stamp"
  echo "agentflow: environment ready (set-up log: $_setup_log)" >&2
fi
export AGENTFLOW_VENV
