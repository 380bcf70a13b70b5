"""Episodes for the demo model: tasks (tasks.py) played through the real tools and rendered by agentflow's prompt code.

An episode is the conversation the ReAct graph would hold for a task with a perfect model:

    system prompt, user request, decision 1 (a tool call), the tool's observation, decision 2 (the answer)

(out-of-scope requests: one decision, a refusal `{"reasoning": ..., "refuse": true}` whose answer is the react
graph's fixed text). Observations come from running the bundled tools through
`agentflow.tooling.execute.execute_call`, the function the graph's tool node uses, so they are exactly what the
model will read; the clock and the notes' timestamps are frozen at random instants so episodes vary and are
reproducible. Decisions are compact JSON in the decision schema's key order (reasoning first).

Rendering goes through `agentflow.models.prompt.render_chat` + `to_text` with the tokenizer's chat template,
the code `TransformersModel` runs at inference, so training text and prompts cannot drift apart: the training
sequence is the prompt before the last decision plus that decision, and every earlier prompt + decision must be
its prefix (checked).
"""

from __future__ import annotations

import contextlib
import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from tasks import Task, ascii_unit

import agentflow.toolkit.clock as clock_module
import agentflow.toolkit.notes as notes_module
from agentflow.graphs.react import REFUSAL, SYSTEM_PROMPT
from agentflow.messages import (
    Decision,
    Message,
    ToolCall,
    assistant_message,
    system_message,
    tool_message,
    user_message,
)
from agentflow.models.base import ModelRequest
from agentflow.models.decision_schema import call_id
from agentflow.models.prompt import render_chat, to_text
from agentflow.tooling.context import RunContext
from agentflow.tooling.execute import execute_call
from agentflow.toolkit import DEFAULT_TOOLS

EOS = "<|eos|>"
USER = "<|user|>"
ASSISTANT = "<|assistant|>"
SPECIAL_TOKENS = [EOS, USER, ASSISTANT]

# The demo model's chat template. The system turn (the graph's prompt plus every tool's JSON schema, ~2,000
# characters) is left out: the model only knows the bundled tools and their schemas are enforced by the grammar
# anyway. User turns (requests and observations) and assistant turns (decisions) are delimited by special tokens,
# so the prompt always ends on a token boundary (`<|assistant|>`) whatever the text before it.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}" + USER + "{{ message['content'] }}"
    "{%- elif message['role'] == 'assistant' -%}"
    + ASSISTANT
    + "{{ message['content'] }}"
    + EOS
    + "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}" + ASSISTANT + "{%- endif -%}"
)

TOOLS = {t.name: t for t in DEFAULT_TOOLS}
SPECS = [t.spec for t in DEFAULT_TOOLS]

REASONING = {
    "calculator": "Use the calculator.",
    "convert_units": "Convert with convert_units.",
    "current_time": "Check the clock.",
    "write_note": "Save it as a note.",
    "search_notes": "Search the notes.",
    "answer": "Answer with the result.",
    "error": "The tool failed.",
    "out_of_scope": "No tool fits this.",
}


def decision_json(data: dict[str, Any]) -> str:
    """A decision as the model emits it: compact JSON, keys in schema order, non-ASCII kept."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _error_text(content: str) -> str:
    """The reason in a tool error observation ("tool 'x' failed: ToolError: division by zero" -> "division by zero")."""
    reason = content.split("ToolError: ", 1)[-1]
    return reason.split(";")[0]


#: The words of the answer templates below (answers copy everything else from the conversation).
TEMPLATE_WORDS = (
    "Noted It is in From your notes I found no note about Sorry the calculator could not do that convert get "
    "time tool failed UTC"
).split()


def final_answer(task: Task, call: dict[str, Any], content: str, is_error: bool) -> tuple[str, str]:
    """(reasoning, answer) after the observation `content` of `call`."""
    name, args = call["name"], call["arguments"]
    if is_error:
        what = {
            "calculator": "the calculator could not do that",
            "convert_units": "I could not convert that",
            "current_time": "I could not get the time",
        }.get(name, "the tool failed")
        return REASONING["error"], f"Sorry, {what}: {_error_text(content)}"
    if name == "calculator":
        return REASONING["answer"], f"{args['expression']} = {content}"
    if name == "convert_units":
        result = json.loads(content)
        unit = ascii_unit(result["unit"])  # answers are decoded as ASCII too ("°F" -> "F")
        return REASONING[
            "answer"
        ], f"{task.meta.get('value_text', args['value'])} {args['from_unit']} = {result['value']} {unit}"
    if name == "current_time":
        return REASONING["answer"], f"It is {content} in {args.get('timezone', 'UTC')}."
    if name == "write_note":
        return REASONING["answer"], f"Noted: {args['text']}"
    if name == "search_notes":
        found = json.loads(content)
        if not found:
            return REASONING["answer"], f"I found no note about {args['query']}."
        return REASONING["answer"], f"From your notes: {found[0]['text']}"
    raise ValueError(name)


# --------------------------------------------------------------------------------------------- frozen clocks


@contextlib.contextmanager
def frozen_clock(instant: datetime) -> Iterator[None]:
    """Make the clock and notes tools read `instant` as "now" (their modules' `datetime.now`)."""

    class _Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return instant.astimezone(tz) if tz is not None else instant.replace(tzinfo=None)

    saved = clock_module.datetime, notes_module.datetime
    clock_module.datetime = notes_module.datetime = _Frozen  # type: ignore[misc]
    try:
        yield
    finally:
        clock_module.datetime, notes_module.datetime = saved


def random_instant(rng: random.Random) -> datetime:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=rng.randint(0, 12 * 365 * 86400))


# ------------------------------------------------------------------------------------------------- episodes


@dataclass
class Episode:
    task: Task
    messages: list[Message]  # system, user, assistant, [tool, assistant]


async def _run_tool(call: dict[str, Any], step: int, run_id: str, store: Any) -> tuple[ToolCall, str, bool]:
    tool_call = ToolCall(name=call["name"], arguments=call["arguments"], id=call_id(step, 0))
    outcome = await execute_call(
        tool_call, TOOLS, RunContext(run_id=run_id, step=step, call_id=tool_call.id, store=store)
    )
    return tool_call, outcome.content, outcome.is_error


async def _store_notes(texts: list[str], rng: random.Random, store: Any) -> None:
    """A fresh notebook holding `texts` (each written by an earlier run, at a random instant)."""
    for item in await store.asearch(notes_module.NAMESPACE, limit=10_000):
        await store.adelete(notes_module.NAMESPACE, item.key)
    for text in texts:
        with frozen_clock(random_instant(rng)):
            run_id = f"{rng.getrandbits(64):016x}"
            await _run_tool({"name": "write_note", "arguments": {"text": text}}, 1, run_id, store)


async def play(task: Task, rng: random.Random, store: Any) -> Episode:
    """The conversation a perfect model has for `task`, with real observations."""
    messages: list[Message] = [system_message(SYSTEM_PROMPT), user_message(task.request)]
    if task.call is None:  # a refusal: decided, its text is the graph's (REFUSAL), never generated
        raw = decision_json({"reasoning": REASONING["out_of_scope"], "refuse": True})
        messages.append(
            assistant_message(Decision(reasoning=REASONING["out_of_scope"], final_answer=REFUSAL), raw)
        )
        return Episode(task, messages)
    rng.getrandbits(48)  # (kept: the draws after it stay those of the shipped model's data)
    await _store_notes(task.setup, rng, store)
    reasoning = REASONING[task.call["name"]]
    raw1 = decision_json({"reasoning": reasoning, "tool_calls": [task.call]})
    with frozen_clock(random_instant(rng)):
        tool_call, content, is_error = await _run_tool(task.call, 1, f"{rng.getrandbits(64):016x}", store)
    decision1 = Decision(reasoning=reasoning, tool_calls=[tool_call])
    messages.append(assistant_message(decision1, raw1))
    messages.append(tool_message(tool_call, content, is_error=is_error))
    reasoning2, answer = final_answer(task, task.call, content, is_error)
    raw2 = decision_json({"reasoning": reasoning2, "final_answer": answer[:400]})
    messages.append(assistant_message(Decision(reasoning=reasoning2, final_answer=answer[:400]), raw2))
    return Episode(task, messages)


def play_all(tasks: list[Task], seed: int) -> list[Episode]:
    rng = random.Random(f"play-{seed}")

    async def main() -> list[Episode]:
        from agentflow.store import open_storage

        with tempfile.TemporaryDirectory() as tmp:
            async with open_storage(Path(tmp) / "notes.db") as storage:
                return [await play(t, rng, storage.store) for t in tasks]

    return anyio.run(main)


# ------------------------------------------------------------------------------------------------ rendering


def prompt_text(messages: list[Message], tokenizer: Any, step: int) -> str:
    """The prompt the model gets before its decision at `step` (what TransformersModel renders)."""
    return to_text(render_chat(ModelRequest(messages=messages, tools=SPECS, step=step)), tokenizer)


def render(episode: Episode, tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids of the episode and a 0/1 mask of the tokens the model must produce (decisions and their eos)."""
    messages = episode.messages
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    segments: list[tuple[str, int]] = []  # (text, is_target)
    done = ""
    for step, index in enumerate(turns, start=1):
        prompt = prompt_text(messages[:index], tokenizer, step)
        if not prompt.startswith(done):
            raise AssertionError(
                f"prompt for step {step} does not extend the previous turns:\n{prompt!r}\n{done!r}"
            )
        segments.append((prompt[len(done) :], 0))
        target = messages[index]["content"] + EOS
        segments.append((target, 1))
        done = prompt + target
    ids: list[int] = []
    mask: list[int] = []
    for text, is_target in segments:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += piece
        mask += [is_target] * len(piece)
    if tokenizer(done, add_special_tokens=False)["input_ids"] != ids:
        raise AssertionError(f"segment tokenization differs from whole-text tokenization: {done!r}")
    return ids, mask


def episode_text(episode: Episode, tokenizer: Any) -> str:
    ids, _ = render(episode, tokenizer)
    return tokenizer.decode(ids)


def answer_vocabulary(episodes: list[Episode]) -> list[str]:
    """The words the model's answers use that the conversation does not supply (its answer templates: "Noted",
    "From your notes", unit symbols, ...): with grounded answers (agentflow.decoding.grounded, the model
    directory's agentflow.json) every other word of an answer must be copied from the conversation."""
    from agentflow.decoding.quotes import chunks
    from agentflow.models.decision_grammar import conversation_sources

    words = set(TEMPLATE_WORDS)
    for episode in episodes:
        messages = episode.messages
        answer = messages[-1].get("content", "")
        if messages[-1]["role"] != "assistant" or '"final_answer"' not in answer:
            continue
        supplied = {c for text in conversation_sources(messages[:-1]) for c in chunks(text)}
        text = json.loads(answer)["final_answer"]
        words.update(
            c for c in chunks(text) if c not in supplied and c.isascii() and c.isalnum() and c[0].isalpha()
        )
    return sorted(words)


def ungrounded_answers(episodes: list[Episode], words: list[str]) -> list[str]:
    """Training answers the grounded-answer grammar would not allow (should be none)."""
    from agentflow.decoding.grounded import is_grounded_words
    from agentflow.models.decision_grammar import conversation_sources

    vocab = sorted({v for w in words for v in (w, w[:1].upper() + w[1:])})
    out = []
    for episode in episodes:
        last = episode.messages[-1]
        if last["role"] != "assistant" or '"final_answer"' not in last["content"]:
            continue
        text = json.loads(last["content"])["final_answer"]
        if not is_grounded_words(text, conversation_sources(episode.messages[:-1]), vocab, 400):
            out.append(text)
    return out


def tokenizer_corpus(episodes: list[Episode]) -> Iterator[str]:
    """Texts the BPE merges are learnt from: every request, decision and observation of the training episodes."""
    for episode in episodes:
        for message in episode.messages[1:]:
            yield message["content"]
