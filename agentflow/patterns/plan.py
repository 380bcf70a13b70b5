"""Plans: the structured output of a planner, its JSON schemas (what the planner is decoded under), and the
checks a plan must pass before anything runs.

    {"steps": [{"id": "s1", "description": "Convert 5 km to miles", "depends_on": []},
               {"id": "s2", "description": "Add 3 to the result of s1", "depends_on": ["s1"]}]}

A revision (after steps ran) is `{"action": "continue" | "revise" | "finish", "steps": [...]}`: `revise`
replaces every step that has not run yet with `steps`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentflow.exceptions import PlanError

__all__ = [
    "MAX_PLAN_STEPS",
    "PLAN_SCHEMA",
    "REVISION_SCHEMA",
    "Plan",
    "PlanError",
    "PlanStep",
    "Revision",
    "parse_plan",
    "parse_revision",
    "ready_steps",
]

MAX_PLAN_STEPS = 8

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,11}$", description="short id, e.g. s1")]


class PlanStep(BaseModel):
    """One step: what to do, and which steps' results it needs first."""

    model_config = ConfigDict(extra="forbid")

    id: StepId
    description: Annotated[str, Field(min_length=1, max_length=200)]
    depends_on: Annotated[list[StepId], Field(max_length=4)] = Field(default_factory=list)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: Annotated[list[PlanStep], Field(min_length=1, max_length=MAX_PLAN_STEPS)]


class Revision(BaseModel):
    """The re-planner's verdict after a round of steps: keep going, replace the remaining steps, or stop and
    write the answer from what is done."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["continue", "revise", "finish"]
    steps: Annotated[list[PlanStep], Field(max_length=MAX_PLAN_STEPS)] = Field(default_factory=list)


PLAN_SCHEMA: dict[str, Any] = Plan.model_json_schema()
REVISION_SCHEMA: dict[str, Any] = Revision.model_json_schema()


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "(plan)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _check_graph(steps: list[PlanStep], done: Iterable[str] = ()) -> None:
    """Raise `PlanError` for duplicate ids, unknown dependencies or a dependency cycle."""
    done = set(done)
    ids: set[str] = set()
    for step in steps:
        if step.id in ids or step.id in done:
            raise PlanError(f"step id '{step.id}' is used twice")
        ids.add(step.id)
    for step in steps:
        for dep in step.depends_on:
            if dep not in ids and dep not in done:
                raise PlanError(f"step '{step.id}' depends on unknown step '{dep}'")
    by_id = {s.id: s for s in steps}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2 or node not in by_id:
            return
        if state.get(node) == 1:
            cycle = [*path[path.index(node):], node]
            raise PlanError(f"the plan has a dependency cycle: {' -> '.join(cycle)}")
        state[node] = 1
        for dep in by_id[node].depends_on:
            visit(dep, [*path, node])
        state[node] = 2

    for step in steps:
        visit(step.id, [])


def parse_plan(data: Any) -> list[PlanStep]:
    """The steps of a planner's output; `PlanError` says what is wrong (no steps, unknown dependency, cycle,
    duplicate id, or a shape the schema does not allow)."""
    if isinstance(data, dict) and isinstance(data.get("steps"), list) and not data["steps"]:
        raise PlanError("the plan has no steps")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"the plan does not match its schema: {_reason(exc)}") from None
    _check_graph(plan.steps)
    return plan.steps


def parse_revision(data: Any, done: Iterable[str]) -> Revision:
    """A re-planner's output, checked against the steps already `done` (new steps may depend on them)."""
    try:
        revision = Revision.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"the revision does not match its schema: {_reason(exc)}") from None
    if revision.action == "revise":
        if not revision.steps:
            raise PlanError("a 'revise' revision needs the new remaining steps (use 'finish' to stop)")
        _check_graph(revision.steps, done)
    return revision


def ready_steps(plan: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps not run yet whose dependencies all finished successfully."""
    done = {sid for sid, r in results.items() if r.get("status") == "done"}
    return [s for s in plan if s["id"] not in results and all(d in done for d in s.get("depends_on", []))]
