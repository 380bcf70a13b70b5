"""The bundled demo model (agentflow/models/demo/, trained by scripts/demo_model/train.py).

- it is a standard Hugging Face directory that loads offline, within the size limit, with a vLLM-friendly head size;
- its files match the recorded checksums (an accidental change to the weights or tokenizer fails here);
- the prompt the ReAct graph sends is exactly the text the model was trained on (no train/inference drift);
- a handful of fixed tasks end with the right answer through the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "agentflow" / "models" / "demo"
SCRIPTS = REPO / "scripts" / "demo_model"

# sha256 of the shipped weights; retraining on purpose means updating this line and CHECKSUMS together.
WEIGHTS_SHA256 = "70b880b783236e87b5ccf623452d49fb3d7a8da9f0c9ed897188573da1ce8df0"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(DEMO, local_files_only=True)


def test_model_files_match_the_recorded_checksums() -> None:
    assert sha256(DEMO / "model.safetensors") == WEIGHTS_SHA256
    recorded = {}
    for line in (DEMO / "CHECKSUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        recorded[name] = digest
    shipped = {
        p.name
        for p in DEMO.iterdir()
        if p.is_file() and p.name not in ("CHECKSUMS", "__init__.py") and not p.name.endswith(".pyc")
    }
    assert set(recorded) == shipped
    for name, digest in recorded.items():
        assert sha256(DEMO / name) == digest, f"{name} changed since training (CHECKSUMS)"


def test_the_model_decodes_grounded_answers_with_its_template_words() -> None:
    """agentflow.json turns grounded answers on with the answer words the training data's templates use; the
    backend reads it."""
    from agentflow.models.transformers import TransformersModel

    profile = json.loads((DEMO / "agentflow.json").read_text())
    assert profile["grounded_answers"] is True
    assert {"Noted", "From", "your", "notes", "Sorry"} <= set(profile["answer_words"])
    assert len(profile["answer_words"]) < 100
    assert TransformersModel(DEMO).grounded_answers


def test_model_loads_offline_in_the_standard_format(demo_tokenizer: Any) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(DEMO, local_files_only=True)
    assert config.model_type == "llama"
    assert config.hidden_size // config.num_attention_heads == 64  # a head size vLLM's CPU attention supports
    model = AutoModelForCausalLM.from_pretrained(DEMO, local_files_only=True)
    assert sum(p.numel() for p in model.parameters()) < 5_000_000
    size = sum(p.stat().st_size for p in DEMO.iterdir() if p.is_file())
    assert size <= 20 * 1024 * 1024
    assert demo_tokenizer.eos_token == demo_tokenizer.pad_token == "<|eos|>"
    assert demo_tokenizer.chat_template
    tokenizer_config = json.loads((DEMO / "tokenizer_config.json").read_text())
    assert tokenizer_config["chat_template"] == demo_tokenizer.chat_template


def test_chat_template_renders_the_compact_format(demo_tokenizer: Any) -> None:
    from agentflow.messages import system_message, user_message
    from agentflow.models.base import ModelRequest
    from agentflow.models.prompt import render_chat, to_text
    from agentflow.toolkit import DEFAULT_TOOLS

    messages = [
        system_message("You are precise."),
        user_message("What is 2 + 2?"),
        {"role": "assistant", "content": '{"reasoning":"r","tool_calls":[]}'},
        {"role": "tool", "content": "4", "tool_call_id": "call_1_0", "name": "calculator"},
    ]
    request = ModelRequest(messages=messages, tools=[t.spec for t in DEFAULT_TOOLS])
    text = to_text(render_chat(request), demo_tokenizer)
    assert text == (
        '<|user|>What is 2 + 2?<|assistant|>{"reasoning":"r","tool_calls":[]}<|eos|>'
        "<|user|>Observation call_1_0 (calculator): 4<|assistant|>"
    )


@pytest.mark.anyio
async def test_graph_prompts_are_the_training_text(demo_tokenizer: Any, tmp_path: Path) -> None:
    """Run the react graph with a model that replays a training episode's decisions and records its prompts:
    they equal the prompts the training data was rendered with (scripts/demo_model/data.py)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        import data
        import tasks
    finally:
        sys.path.remove(str(SCRIPTS))
    import agentflow
    from agentflow.models.prompt import render_chat, to_text
    from agentflow.testing import FunctionModel

    for task in [
        tasks.Task(
            skill="calculator",
            request="What is 17 * 23 + 4?",
            call={"name": "calculator", "arguments": {"expression": "17 * 23 + 4"}},
        ),
        tasks.Task(
            skill="convert_units",
            request="Convert 5 km to miles",
            call={"name": "convert_units", "arguments": {"value": 5, "from_unit": "km", "to_unit": "miles"}},
            meta={"value_text": "5"},
        ),
        tasks.Task(skill="out_of_scope", request="Tell me a joke", call=None),
    ]:
        # play_all runs its own event loop: off this one, in a worker thread
        episode = (await anyio.to_thread.run_sync(lambda task=task: data.play_all([task], seed=0)))[0]
        decisions = [json.loads(m["content"]) for m in episode.messages if m["role"] == "assistant"]
        prompts: list[str] = []

        def replay(request: Any, prompts: list[str] = prompts, decisions: list[Any] = decisions) -> Any:
            prompts.append(to_text(render_chat(request), demo_tokenizer))
            return decisions[len(prompts) - 1]

        result = await agentflow.run(
            "react", task.request, db=tmp_path / "runs.db", model=FunctionModel(replay)
        )
        assert result.status == "succeeded"
        turns = [i for i, m in enumerate(episode.messages) if m["role"] == "assistant"]
        expected = [
            data.prompt_text(episode.messages[:i], demo_tokenizer, step) for step, i in enumerate(turns, 1)
        ]
        assert prompts == expected
        ids, _mask = data.render(episode, demo_tokenizer)
        assert demo_tokenizer.decode(ids).startswith(prompts[-1])


def test_the_clock_resolves_every_place_the_model_is_trained_on() -> None:
    """The model copies the place into `timezone` (tasks.gen_time); the clock tool must resolve each place the
    training data names to the zone the eval expects, or the model is taught calls that fail."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        import tasks
    finally:
        sys.path.remove(str(SCRIPTS))
    from agentflow.toolkit.clock import resolve_zone

    wrong = {place: zone for place, zone in tasks._PLACES.items() if resolve_zone(place).key != zone}
    assert not wrong
    for name in tasks._UTC_NAMES:
        assert resolve_zone(name).key == "UTC"


# ----------------------------------------------------------------------------------------- through the CLI


def agentflow_cli(*args: str, db: Path, timeout: float = 180) -> dict[str, Any]:
    env = {**os.environ, "AGENTFLOW_DB": str(db), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "agentflow", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout)


def run_demo(request: str, db: Path) -> dict[str, Any]:
    return agentflow_cli("run", "react", "--input", request, "--model", f"transformers:{DEMO}", db=db)


CASES = [
    ("What is 17 * 23 + 4?", "395"),
    ("multiply 250 by 4 and add 17", "1017"),
    ("What is the sum of 3 and 4?", "7"),
    ("Convert 5 km to miles", "3.10686"),
    ("How many ounces are in 2 pounds?", "32"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("request_text", "expected"), CASES)
def test_fixed_tasks_end_with_the_right_answer(request_text: str, expected: str, tmp_path: Path) -> None:
    result = run_demo(request_text, tmp_path / "runs.db")
    assert result["status"] == "succeeded", result
    numbers = re.findall(r"-?\d+(?:\.\d+)?", result["output"].rsplit("=", 1)[-1])
    assert numbers and numbers[0] == expected, result["output"]
    assert result["usage"]["tool_calls"] == 1


@pytest.mark.slow
def test_time_answer_carries_the_clock_reading(tmp_path: Path) -> None:
    result = run_demo("What time is it in Tokyo?", tmp_path / "runs.db")
    assert result["status"] == "succeeded", result
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", result["output"]), result["output"]


@pytest.mark.slow
def test_a_note_written_in_one_run_is_found_in_a_later_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    first = run_demo("Remember that my locker code is 4512", db)
    assert first["status"] == "succeeded", first
    second = run_demo("What is my locker code?", db)
    assert second["status"] == "succeeded", second
    assert "4512" in second["output"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "request_text", ["Wie spät ist es in Berlin?", "Book me a flight to Rome", "请帮我写一首诗"]
)
def test_requests_outside_its_skills_end_cleanly(request_text: str, tmp_path: Path) -> None:
    result = run_demo(request_text, tmp_path / "runs.db")
    assert result["status"] in ("succeeded", "budget_exhausted"), result


# ------------------------------------------------------------------------- the first impression (issue 14)


@pytest.fixture(scope="module")
def demo_model() -> Any:
    from agentflow.models.transformers import TransformersModel

    model = TransformersModel(DEMO)
    model.load()
    return model


async def _run(model: Any, request: str, db: Path) -> tuple[Any, list[dict[str, Any]]]:
    import agentflow
    from agentflow.store.runs import RunStore

    result = await agentflow.run("react", request, db=db, model=model)
    store = RunStore(db)
    try:
        calls = [
            call
            for event in store.events(result.run_id)
            if event.kind == "model_called"
            for call in (event.data.get("decision") or {}).get("tool_calls") or []
        ]
    finally:
        store.close()
    return result, calls


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize(
    "request_text", ["hello", "Who won the 1998 World Cup?", "Wie spät ist es in Berlin?", "Tell me a joke"]
)
async def test_out_of_scope_requests_get_the_fixed_refusal(
    demo_model: Any, request_text: str, tmp_path: Path
) -> None:
    """Chit-chat, facts and other languages: no tool call, and the answer is the react graph's fixed refusal
    (decided, never generated, so never garbled)."""
    from agentflow.graphs.react import REFUSAL

    result, calls = await _run(demo_model, request_text, tmp_path / "runs.db")
    assert result.status == "succeeded" and calls == []
    assert result.output == REFUSAL


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("request_text", "note"),
    [
        ("Note that the boiler was serviced on Monday", "the boiler was serviced on Monday"),
        ("Write a note: buy milk", "buy milk"),
        ("Save a note saying call the plumber", "call the plumber"),
        ("jot down: the car needs new tyres", "the car needs new tyres"),
    ],
)
async def test_notes_are_copied_exactly(
    demo_model: Any, request_text: str, note: str, tmp_path: Path
) -> None:
    """The requests of issue 14: write_note is called with exactly the note (its text is quoted from the
    request, so the grammar allows nothing misspelled)."""
    result, calls = await _run(demo_model, request_text, tmp_path / "runs.db")
    assert result.status == "succeeded"
    assert [c["name"] for c in calls] == ["write_note"]
    assert calls[0]["arguments"]["text"] == note


def test_the_hand_written_eval_sets_are_never_trained_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The eval sets (scripts/demo_model/eval/, paraphrases.jsonl) were written before training and stay out of
    it: none of their requests is a training request of the shipped model (case and punctuation ignored), and
    every expected note is a span of its request (what a quoted argument can hold)."""
    monkeypatch.syspath_prepend(str(SCRIPTS))  # (the task generator imports its siblings lazily)
    import tasks

    from agentflow.decoding.quotes import is_quote

    args = json.loads((DEMO / "training.json").read_text())["args"]
    tasks.check_held_out(tasks.training_requests(args["seed"], args["tasks"]))
    held_out = tasks.held_out_requests()
    assert len(held_out) >= 40 + 40 + 60
    notes = [json.loads(line) for line in (SCRIPTS / "eval" / "notes.jsonl").read_text().splitlines()]
    oos = (SCRIPTS / "eval" / "out_of_scope.jsonl").read_text().splitlines()
    assert len(notes) >= 40 and len(oos) >= 60
    for row in notes:
        assert is_quote(row["text"], row["write"]), row
