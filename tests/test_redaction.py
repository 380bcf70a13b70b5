"""Sensitive tool arguments and results: in no record of the run — the database and its -wal file (trace,
checkpoints, journal, run record), the HTML view, OpenTelemetry — and a replay still works without them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

import agentflow
from agentflow import HumanDecision, Runner, Sensitive, react_graph, tool
from agentflow.redaction import REDACTED, Redactor
from agentflow.store import RunStore
from agentflow.testing import ScriptedModel

from helpers import call, calls, final
from otlp_receiver import running_receiver

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-correct-horse"
TOKEN = "tok-5f1c9a77e2"
USED: list[str] = []


@tool(destructive=True, idempotent=False)
def login(user: str, password: Annotated[str, Sensitive]) -> Annotated[str, Sensitive]:
    """Log in; returns a session token."""
    USED.append(password)
    return TOKEN


@tool(approval="always", sensitive=("pin",))
def unlock(door: str, pin: str) -> str:
    """Unlock a door (a human approves)."""
    USED.append(pin)
    return f"{door} unlocked"


def login_model() -> ScriptedModel:
    return ScriptedModel(
        [
            calls(call("login", user="ann", password=PASSWORD), reasoning=f"log in with {PASSWORD}"),
            final(f"Logged in; the token is {TOKEN}.", reasoning=f"the token {TOKEN} came back"),
        ]
    )


def _raw(path: Path) -> bytes:
    return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())


async def test_secrets_reach_no_record_but_the_run_works(db_path: Path) -> None:
    """The tool gets the real password and the model the real token; the database, its -wal file, the HTML
    view and the OTLP payloads hold neither (each place reads `[redacted]`)."""
    USED.clear()
    async with Runner(db_path) as runner:
        result = await runner.run(react_graph([login]), "log in as ann", model=login_model())
        assert USED == [PASSWORD] and result.status == "succeeded"
        wal_while_open = _raw(db_path)
    assert result.output == f"Logged in; the token is {REDACTED}."
    for raw in (wal_while_open, _raw(db_path)):
        assert PASSWORD.encode() not in raw and TOKEN.encode() not in raw
        assert REDACTED.encode() in raw
    with RunStore(db_path) as store:
        (called,) = [e.data for e in store.events(result.run_id) if e.kind == "tool_called"]
        assert called["arguments"] == {"user": "ann", "password": REDACTED} and called["content"] == REDACTED

        from agentflow.viewer import render_run

        html = render_run(store, result.run_id, draw_graph=False)
        assert PASSWORD not in html and TOKEN not in html
        from agentflow.otel import export_run

        with running_receiver() as receiver:
            assert export_run(store, result.run_id, otlp=receiver.url, include_content=True) > 0
        payload = b"".join(receiver.bodies)
        assert payload and PASSWORD.encode() not in payload and TOKEN.encode() not in payload


async def test_a_redacted_run_replays(db_path: Path) -> None:
    """The recording holds redacted values consistently, so a strict replay matches without them."""
    run = await agentflow.run(react_graph([login]), "log in as ann", model=login_model(), db=db_path)
    USED.clear()
    outcome = await agentflow.replay(run.run_id, db=db_path, graph=react_graph([login]))
    assert outcome.diverged is None and USED == []


async def test_a_sensitive_argument_is_gone_after_a_pause_and_the_observation_says_so(db_path: Path) -> None:
    """A call paused for approval is recorded without its PIN; approved later, the tool is not run with
    `[redacted]`: the model reads that the value is no longer available."""
    USED.clear()
    model = ScriptedModel([calls(call("unlock", door="front", pin="4711-9")), final("Could not unlock.")])
    async with Runner(db_path) as runner:
        paused = await runner.run(react_graph([unlock]), "unlock the front door", model=model)
        assert paused.status == "awaiting_approval" and paused.pending[0].arguments["pin"] == REDACTED
        assert b"4711-9" not in _raw(db_path)
        done = await runner.decide(
            paused.run_id, [HumanDecision(action="approve")], graph=react_graph([unlock]), model=model
        )
        events = await runner.storage.events(done.run_id)
    (called,) = [e.data for e in events if e.kind == "tool_called"]
    assert USED == [] and called["error_type"] == "redacted_argument" and "pin" in called["content"]


def test_the_redactor_replaces_values_inside_texts_and_where_they_stand() -> None:
    """Long values are replaced inside other texts (JSON-escaped forms too), short ones only when alone; long
    numbers inside texts; the structure of records (roles, times, steps, ids) is never touched."""
    from langgraph.types import Send

    from agentflow.redaction import redact_fields

    redactor = Redactor()
    redactor.add('pa"ss-word')
    redactor.add("user")
    redactor.add(4111111111)
    redactor.add(2026)
    record = {
        "a": 'x pa"ss-word y',
        "b": '{"p": "pa\\"ss-word"}',
        "card": "card 4111111111 on file",
        "role": "user",
        "ts": "2026-12-02T05:00:00+00:00",
        "step": 2026,
        "who": "user",
        "n": 2026,
    }
    assert redactor.scrub(record) == {
        "a": f"x {REDACTED} y",
        "b": f'{{"p": "{REDACTED}"}}',
        "card": f"card {REDACTED} on file",
        "role": "user",
        "ts": "2026-12-02T05:00:00+00:00",
        "step": 2026,
        "who": REDACTED,
        "n": 2026,
    }
    branch = redactor.scrub(Send("execute", {"context": 'it was pa"ss-word'}))
    assert isinstance(branch, Send) and branch.arg == {"context": f"it was {REDACTED}"}
    assert redact_fields({"pin": 2026, "door": "front"}, ["pin"]) == {"pin": REDACTED, "door": "front"}
    untouched = {"k": "nothing here"}
    assert redactor.scrub(untouched) is untouched


def test_sensitive_must_name_an_argument() -> None:
    """`sensitive=` naming no argument is a definition error."""
    with pytest.raises(agentflow.ToolDefinitionError, match="sensitive names no argument 'pwd'"):

        @tool(sensitive=("pwd",))
        def f(password: str) -> str:
            """x"""
            return password
