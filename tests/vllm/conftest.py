"""Fixtures for the vLLM backends: a tiny random Llama saved for vLLM, one offline engine and one real vLLM
OpenAI-compatible server on loopback per session.

Nothing here imports vLLM at import time: the vLLM-only fixtures skip when it is missing, so the main
virtualenv (which has no vLLM) still runs the HTTP tests of this folder. Run the whole folder in the vLLM
virtualenv with `scripts/test tests/vllm`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
# the offline engine in this process: starts in seconds instead of ~20 s, no 5 s exit delay
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

SERVED_NAME = "tiny"
SERVER_MAX_MODEL_LEN = 4096
SERVER_START_TIMEOUT = 240.0

# agentflow's plain prompt template (agentflow.models.prompt.PLAIN_TEMPLATE_MARKERS) as a Jinja chat template,
# given to the server with --chat-template: the model directory has none, so the offline engine uses the plain
# template itself, and both paths see the same prompt text.
PLAIN_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@pytest.fixture(scope="session")
def vllm_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/tiny_model.py's random Llama (head_dim 64, byte-level BPE, no chat template), re-saved in bf16:
    the dtype vLLM runs on this CPU (an fp32 checkpoint is cast with a warning per weight)."""
    pytest.importorskip("vllm")
    import torch
    from transformers import LlamaForCausalLM

    from tiny_model import build_tiny_model

    directory = build_tiny_model(tmp_path_factory.mktemp("vllm_tiny"), vocab_size=768)
    model = LlamaForCausalLM.from_pretrained(directory).to(torch.bfloat16)
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def vllm_model(vllm_model_dir: Path) -> Iterator[Any]:
    """One `VLLMModel` (offline engine, in process) per test module, closed after it (before the server
    starts, on this small machine)."""
    from agentflow.models.vllm import VLLMModel

    model = VLLMModel(vllm_model_dir, max_model_len=4096)
    model.load()
    yield model
    model.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the server's process group (api server, EngineCore, Worker), SIGKILL what outlives `grace`."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    deadline = time.monotonic() + grace  # the children exit a moment after the parent
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def vllm_server(vllm_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM OpenAI-compatible server on 127.0.0.1 (llguidance backend, compact JSON), stopped at the
    end of the session. Yields its API root (`http://127.0.0.1:PORT/v1`)."""
    pytest.importorskip("vllm")
    import httpx

    work = tmp_path_factory.mktemp("vllm_server")
    template = work / "plain.jinja"
    template.write_text(PLAIN_CHAT_TEMPLATE)
    log_path = work / "server.log"
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", VLLM_LOGGING_LEVEL="WARNING")
    env.pop("VLLM_ENABLE_V1_MULTIPROCESSING", None)  # the server runs its engine core in a child process
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(vllm_model_dir),
        "--served-model-name",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--gpu-memory-utilization",
        "0.1",
        "--enforce-eager",
        "--max-model-len",
        str(SERVER_MAX_MODEL_LEN),
        "--structured-outputs-config",
        '{"backend": "guidance", "disable_any_whitespace": true}',
        "--chat-template",
        str(template),
        "--disable-uvicorn-access-log",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # own process group: stopped together
    base = f"http://127.0.0.1:{port}/v1"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > SERVER_START_TIMEOUT:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"vLLM server not ready after {SERVER_START_TIMEOUT:.0f} s:\n{tail}")
            time.sleep(0.25)
        print(f"\nvLLM server ready in {time.monotonic() - started:.1f} s on port {port}")
        yield base
    finally:
        _stop(proc)
