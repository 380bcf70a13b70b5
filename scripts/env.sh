#!/usr/bin/env bash
# Source me: makes sure the project's virtualenv exists and is current, then sets $AGENTFLOW_VENV.
# First use (or a changed pyproject.toml) installs everything: torch pinned to the CPU build, agentflow with
# its local-model, memory (the offline embedding model) and dev extras. Later uses cost nothing.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTFLOW_VENV=${AGENTFLOW_VENV:-$ROOT/.venv}
_stamp="$AGENTFLOW_VENV/.agentflow-ready"
_want=$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/env.sh" | sha256sum | cut -c1-16)
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_want" ]; then
  echo "agentflow: preparing $AGENTFLOW_VENV (first run only; a few minutes)..." >&2
  set -e
  python3 -m venv "$AGENTFLOW_VENV"
  "$AGENTFLOW_VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned: 2.13.0 is the local CPU build; anything else pulls GBs of CUDA wheels.
  "$AGENTFLOW_VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$AGENTFLOW_VENV/bin/python" -m pip install -q -e "$ROOT[local,memory,dev]"
  # no CPU builds of these exist here; if a dependency pulled them they break torch
  "$AGENTFLOW_VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  echo "$_want" > "$_stamp"
  set +e
  echo "agentflow: environment ready" >&2
fi
export AGENTFLOW_VENV
