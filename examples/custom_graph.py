"""Wiring agentflow's nodes into your own LangGraph `StateGraph`.

The graph below is ReAct with one extra node: after the model answers, `review` appends how many tool calls
the answer rests on — a custom node reading the shared state. Run it like any graph file:

    scripts/agentflow run examples/custom_graph.py --input "What is 17 * 23 + 4?" \
        --model scripted:examples/scripted/arithmetic.json   # (the script answers only this request)
    scripts/agentflow run examples/custom_graph.py --input "What is 6 * 7?"   # on the demo model
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agentflow import AgentState, ModelNode, ToolNode, route_after_model
from agentflow.toolkit import calculator, convert_units


class ReviewedState(AgentState, total=False):
    """Your state extends agentflow's (input, messages, output, partial) with your own keys."""

    tool_calls_made: int


def review(state: ReviewedState) -> dict[str, Any]:
    """A plain LangGraph node: count the tool observations and annotate the answer."""
    made = sum(1 for m in state.get("messages", []) if m["role"] == "tool")
    return {"tool_calls_made": made, "output": f"{state['output']} (checked with {made} tool call(s))"}


def make_graph() -> StateGraph:
    tools = [calculator, convert_units]
    builder = StateGraph(ReviewedState)
    builder.add_node("model", ModelNode(tools, system_prompt="Use the calculator for arithmetic."))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review", review)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route_after_model, {"tools": "tools", END: "review"})
    builder.add_edge("tools", "model")
    builder.add_edge("review", END)
    return builder


if __name__ == "__main__":
    import sys

    import agentflow
    from agentflow.testing import ScriptedModel

    model = ScriptedModel(
        [
            {
                "reasoning": "multiply",
                "tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}],
            },
            {"reasoning": "done", "final_answer": "42"},
        ]
    )
    result = agentflow.run_sync(make_graph(), " ".join(sys.argv[1:]) or "What is 6 * 7?", model=model)
    print(result.output)
