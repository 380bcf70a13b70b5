"""A custom graph from agentflow's parts: model node, tool node, budget guard and an approval gate.

An agent drafts an answer with its tools; before the answer leaves, a human reviews it at an `ApprovalGate`:
approve it, edit it (the edit must match the gate's schema), or reject it with a note the agent reads before
drafting again. A `BudgetGuard` at the top of the loop stops a review ping-pong when the budget is spent.

    scripts/agentflow run examples/review_gate.py --input "What is 6 * 7?" \\
        --model scripted:examples/scripted/review_gate.json
    scripts/agentflow pending                      # the draft waiting for review
    scripts/agentflow approve RUN_ID --edit '{"answer": "6 * 7 = 42."}'
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agentflow import AgentState, ApprovalGate, BudgetGuard, ModelNode, ToolNode, route_after_model
from agentflow.toolkit import calculator

DRAFT_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "minLength": 1, "maxLength": 400}},
    "required": ["answer"],
    "additionalProperties": False,
}


class ReviewState(AgentState, total=False):
    draft: str
    reviewed: bool


def keep_draft(state: ReviewState) -> dict[str, Any]:
    """The model's final answer becomes a draft; the output is set only once the review approves it."""
    return {"draft": state.get("output"), "output": None, "reviewed": False}


def publish(state: ReviewState, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"output": arguments["answer"], "reviewed": True}


def send_back(state: ReviewState, message: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"A reviewer rejected your answer: {message}. Answer again."}
        ],
        "reviewed": False,
    }


def after_review(state: ReviewState) -> str:
    return END if state.get("reviewed") else "guard"


def make_graph() -> StateGraph:
    tools = [calculator]
    builder = StateGraph(ReviewState)
    builder.add_node("guard", BudgetGuard())
    builder.add_node("model", ModelNode(tools, system_prompt="Use the calculator; answer in one sentence."))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("draft", keep_draft)
    builder.add_node(
        "review",
        ApprovalGate(
            "publish_answer",
            lambda s: {"answer": s["draft"]},
            apply=publish,
            on_reject=send_back,
            schema=DRAFT_SCHEMA,
            reason="review the answer before it is sent",
        ),
    )
    builder.add_edge(START, "guard")
    builder.add_edge("guard", "model")
    builder.add_conditional_edges("model", route_after_model, {"tools": "tools", END: "draft"})
    builder.add_edge("tools", "model")
    builder.add_edge("draft", "review")
    builder.add_conditional_edges("review", after_review, {"guard": "guard", END: END})
    return builder
