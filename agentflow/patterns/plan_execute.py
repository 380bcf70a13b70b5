"""Plan-and-execute: a planner writes a plan, ReAct sub-agents execute its steps (independent ones in
parallel), a re-planner revises what is left, a writer answers from the step results.

    plan ──(invalid: reason back to the planner)──► plan
      │ Send per ready step
      ▼
    execute xN (parallel, each a ReAct sub-agent "executor:<step id>")
      │
    replan ──(invalid revision)──► replan
      │ ready steps left: Send again     nothing left / finish
      ▼                                   ▼
    execute ...                          write ──► END

Roles (each can have its own model, `--model planner=SPEC`): `planner` (plans and revisions, decoded under
`PLAN_SCHEMA` / `REVISION_SCHEMA`), `executor` (the steps' agents), `writer` (the answer). Every model call of
every step draws from the run's one budget; when it runs out the run stops `budget_exhausted` with the results
of the steps that finished as its partial result, and `agentflow resume` continues the stopped steps where
they were.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agentflow.approval import ApprovalPolicy
from agentflow.exceptions import PlanError
from agentflow.graph_walk import uses_roles, with_subgraphs
from agentflow.messages import Message, assistant_message, system_message, user_message
from agentflow.models.base import Model
from agentflow.nodes.model_node import input_text, model_step
from agentflow.nodes.subagent import run_subagent
from agentflow.patterns.plan import PLAN_SCHEMA, REVISION_SCHEMA, parse_plan, parse_revision, ready_steps
from agentflow.patterns.react import react_graph
from agentflow.runtime.services import services
from agentflow.tooling.source import ToolSource, split_tools
from agentflow.tooling.tool import Tool

__all__ = ["STEP_RESULT_SCHEMA", "PlanState", "plan_execute_graph"]

PLANNER_PROMPT = (
    "You are a planner. Break the user's task into a few concrete steps another agent can do with its tools. "
    "Give each step a short id (s1, s2, ...) and list in depends_on the steps whose results it needs; steps "
    "that do not depend on each other run in parallel. Tools available to the steps: {tools}."
)
EXECUTOR_PROMPT = (
    'You carry out one step of a larger plan. Use the tools, then report: status "done" with the result, '
    'or "failed" with what went wrong.'
)
WRITER_PROMPT = "Answer the user's task from the results of the plan's steps. Be brief."

#: What an executor's final answer looks like: done or failed, and the result (or why it failed).
STEP_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"status": {"enum": ["done", "failed"]}, "result": {"type": "string", "maxLength": 300}},
    "required": ["status", "result"],
    "additionalProperties": False,
}


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class PlanState(TypedDict, total=False):
    """`plan`: the current steps (dicts); `results`: step id -> {status, result, description}; `partial`:
    step id -> result of every step done so far (what a stopped run returns)."""

    input: Any
    output: Any
    partial: Annotated[dict[str, Any], _merge]
    plan: list[dict[str, Any]]
    results: Annotated[dict[str, dict[str, Any]], _merge]
    planner_messages: Annotated[list[Message], lambda a, b: [*(a or []), *(b or [])]]
    attempts: int  # consecutive unusable plans / revisions
    phase: Literal["plan", "replan", "run", "write"]


class _StepInput(TypedDict):
    input: Any
    step: dict[str, Any]
    context: dict[str, Any]


def _results_text(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"- {sid} ({r.get('status')}): {r.get('result')}" for sid, r in results.items()]
    return "\n".join(lines) or "(none yet)"


def _step_task(task: Any, step: dict[str, Any], context: dict[str, Any]) -> str:
    text = f"Step {step['id']}: {step['description']}\nOverall task: {input_text(task)}"
    if context:
        text += "\nResults you can use:\n" + "\n".join(f"- {sid}: {res}" for sid, res in context.items())
    return text


def plan_execute_graph(
    tools: Sequence[Tool | ToolSource],
    *,
    planner_prompt: str = PLANNER_PROMPT,
    executor_prompt: str = EXECUTOR_PROMPT,
    writer_prompt: str = WRITER_PROMPT,
    final_schema: dict[str, Any] | None = None,
    replan: Literal["always", "on_failure", "never"] = "always",
    max_attempts: int = 3,
    approval: ApprovalPolicy | Mapping[str, ApprovalPolicy] | None = None,
    models: Mapping[str, Model] | None = None,
) -> StateGraph:
    """A plan-and-execute `StateGraph` (uncompiled; the runner compiles it with its checkpointer).

    `tools` are the executors' tools (with `approval` overriding their policies, as in `react_graph`).
    `replan` says when the re-planner is asked: after every round of steps, only after a failed step, or never.
    An unusable plan or revision (no steps, unknown dependency, cycle, duplicate id) goes back to the planner
    with the reason; after `max_attempts` in a row the run fails with `PlanError`. `models` pins a model per
    role (`planner`, `executor`, `writer`); otherwise the run's models apply.
    """
    pinned = dict(models or {})
    tool_list = list(tools)
    executor = react_graph(
        tool_list,
        system_prompt=executor_prompt,
        final_schema=STEP_RESULT_SCHEMA,
        role="executor",
        approval=approval,
        model=pinned.get("executor"),
    ).compile()
    local_tools, sources = split_tools(tool_list)

    def planner_conversation(state: PlanState) -> list[Message]:
        tools = [*local_tools, *services().source_tools(sources)]  # a source's tools exist only in a run
        tool_names = ", ".join(t.name for t in tools) or "none"
        return [
            system_message(planner_prompt.format(tools=tool_names)),
            *(state.get("planner_messages") or []),
        ]

    async def plan(state: PlanState) -> dict[str, Any]:
        new: list[Message] = []
        if not state.get("planner_messages"):
            new.append(user_message(input_text(state.get("input", ""))))
        decision, raw, _ = await model_step(
            [*planner_conversation(state), *new],
            role="planner",
            final_schema=PLAN_SCHEMA,
            model=pinned.get("planner"),
        )
        new.append(assistant_message(decision, raw))
        try:
            steps = parse_plan(decision.final_answer if decision.is_final else None)
        except PlanError as exc:
            return _refused(state, new, str(exc), "plan")
        return {
            "planner_messages": new,
            "plan": [s.model_dump() for s in steps],
            "attempts": 0,
            "phase": "run",
        }

    def _refused(state: PlanState, new: list[Message], reason: str, phase: str) -> dict[str, Any]:
        attempts = (state.get("attempts") or 0) + 1
        if attempts >= max_attempts:
            raise PlanError(f"no usable plan after {attempts} attempts; last problem: {reason}")
        new.append(
            user_message(
                f"That {'plan' if phase == 'plan' else 'revision'} cannot run: {reason}. "
                "Send a corrected one."
            )
        )
        return {"planner_messages": new, "attempts": attempts, "phase": phase}

    async def execute(state: _StepInput) -> dict[str, Any]:  # one step's `Send` payload
        step = state["step"]
        outcome = await run_subagent(
            executor, _step_task(state["input"], step, state["context"]), agent=f"executor:{step['id']}"
        )
        if not outcome.ok:
            status, result = "failed", outcome.error
        elif isinstance(outcome.output, dict) and outcome.output.get("status") in ("done", "failed"):
            status, result = outcome.output["status"], outcome.output.get("result", "")
        else:
            status, result = (
                "done",
                outcome.output if isinstance(outcome.output, str) else json.dumps(outcome.output),
            )
        record = {"status": status, "result": result, "description": step["description"]}
        update: dict[str, Any] = {"results": {step["id"]: record}}
        if status == "done":
            update["partial"] = {step["id"]: result}
        return update

    async def revise(state: PlanState) -> dict[str, Any]:
        results = state.get("results") or {}
        failed = any(r.get("status") == "failed" for r in results.values())
        remaining = [s for s in state.get("plan") or [] if s["id"] not in results]
        if replan == "never" or (replan == "on_failure" and not failed) or (not remaining and not failed):
            return {"phase": "run"}
        new: list[Message] = []
        if state.get("phase") != "replan":  # a fresh round (not a retry after an unusable revision)
            new.append(
                user_message(
                    f"Results so far:\n{_results_text(results)}\nSteps not run yet: "
                    f"{json.dumps(remaining, ensure_ascii=False) if remaining else 'none'}\n"
                    "Reply with action 'continue' (keep the remaining steps), 'revise' (give the new remaining "
                    "steps; they may depend on finished steps) or 'finish' (answer now)."
                )
            )
        decision, raw, _ = await model_step(
            [*planner_conversation(state), *new],
            role="planner",
            final_schema=REVISION_SCHEMA,
            model=pinned.get("planner"),
        )
        new.append(assistant_message(decision, raw))
        done = [sid for sid, r in results.items() if r.get("status") == "done"]
        try:
            verdict = parse_revision(decision.final_answer if decision.is_final else None, done)
        except PlanError as exc:
            return _refused(state, new, str(exc), "replan")
        update: dict[str, Any] = {"planner_messages": new, "attempts": 0, "phase": "run"}
        if verdict.action == "finish":
            update["phase"] = "write"
        elif verdict.action == "revise":
            kept = [s for s in state.get("plan") or [] if s["id"] in results]
            update["plan"] = kept + [s.model_dump() for s in verdict.steps]
        return update

    def dispatch(state: PlanState) -> Any:
        phase = state.get("phase")
        if phase in ("plan", "replan"):
            return phase
        if phase == "write":
            return "write"
        results = state.get("results") or {}
        ready = ready_steps(state.get("plan") or [], results)
        if not ready:
            return "write"
        done = {sid: r["result"] for sid, r in results.items() if r.get("status") == "done"}
        return [
            Send(
                "execute",
                {
                    "input": state.get("input"),
                    "step": step,
                    "context": {d: done[d] for d in step.get("depends_on", [])},
                },
            )
            for step in ready
        ]

    async def write(state: PlanState) -> dict[str, Any]:
        results = state.get("results") or {}
        messages = [
            system_message(writer_prompt),
            user_message(
                f"Task: {input_text(state.get('input', ''))}\nResults of the steps:\n{_results_text(results)}"
            ),
        ]
        decision, _, _ = await model_step(
            messages, role="writer", final_schema=final_schema, model=pinned.get("writer")
        )
        if not decision.is_final:
            raise PlanError("the writer called tools instead of answering")
        return {"output": decision.final_answer}

    builder = StateGraph(PlanState)
    builder.add_node("plan", uses_roles(plan, "planner"))
    with_subgraphs(execute, executor)  # where `graph_sources` finds its tools
    builder.add_node("execute", execute, input_schema=_StepInput)
    builder.add_node("replan", uses_roles(revise, "planner"))
    builder.add_node("write", uses_roles(write, "writer"))
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", dispatch, ["plan", "execute", "write"])
    builder.add_edge("execute", "replan")
    builder.add_conditional_edges("replan", dispatch, ["replan", "execute", "write"])
    builder.add_edge("write", END)
    return builder
