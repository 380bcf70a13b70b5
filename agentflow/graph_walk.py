"""Finding what a compiled graph's nodes use, without running it: tool sources, local tools, model roles.

Nodes say what they use with attributes on the node callable: `tool_sources` and `local_tools` (agentflow's
`ModelNode` / `ToolNode` and patterns set them), `model_roles` (the roles whose models a node asks: `ModelNode`
has its `role`; a node function of your own declares them with `uses_roles(node, "planner")`), and
`subgraphs` (graphs a node runs inside it: `with_subgraphs`). Compiled graphs added as nodes are walked too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["graph_roles", "listed", "node_targets", "uses_roles", "with_subgraphs"]

F = TypeVar("F")


def node_targets(graph: Any) -> Iterator[Any]:
    """The callable behind every node of a compiled graph and of the graphs inside it (each graph once)."""
    seen: set[int] = set()
    stack = [graph]
    while stack:
        compiled = stack.pop()
        if id(compiled) in seen:
            continue
        seen.add(id(compiled))
        for node in getattr(compiled, "nodes", {}).values():
            bound = getattr(node, "bound", None)
            if bound is None:
                continue
            if hasattr(bound, "nodes") and hasattr(bound, "ainvoke"):  # a compiled subgraph as a node
                stack.append(bound)
                continue
            target = getattr(bound, "afunc", None) or getattr(bound, "func", None)
            if target is None:
                continue
            yield target
            stack.extend(reversed(listed(target, "subgraphs")))


def listed(target: Any, attribute: str) -> Sequence[Any]:
    """A node's declared list `attribute` (a list, or a callable returning one); empty when not declared."""
    value = getattr(target, attribute, None)
    if value is None:
        return ()
    return value() if callable(value) else value


def graph_roles(graph: Any) -> list[str]:
    """The model roles a compiled graph's nodes ask for (in the order first found): what `--model ROLE=SPEC`
    may name."""
    roles: dict[str, None] = {}
    for target in node_targets(graph):
        for role in listed(target, "model_roles"):
            roles.setdefault(str(role), None)
    return list(roles)


def with_subgraphs(node: F, *graphs: Any) -> F:
    """Mark a node function that runs compiled `graphs` inside it (a sub-agent), so their tool sources and
    roles are found too; returns the node."""
    setattr(node, "subgraphs", list(graphs))  # noqa: B010  (a function attribute the walk reads)
    return node


def uses_roles(node: F, *roles: str) -> F:
    """Mark a node function that asks the models of `roles` (`model_step(..., role=...)`); returns the node."""
    setattr(node, "model_roles", [*listed(node, "model_roles"), *roles])  # noqa: B010
    return node
