"""Which sandbox policies a graph uses: so a run can check the engine before any model call.

Sandbox tools are marked with their policy (`mark_sandbox_tool`); `sandbox_policies(graph)` walks a graph —
a `StateGraph`, a compiled graph, its nodes (`ToolNode`, `ModelNode`, closures of node functions, agentflow
objects holding tools, nested graphs) — and returns the distinct policies of the marked tools it finds.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentflow.sandbox.policy import Policy

__all__ = ["mark_sandbox_tool", "policy_of_tool", "sandbox_policies"]

_MARK = "__agentflow_sandbox_policy__"
_MAX_DEPTH = 40
_MAX_OBJECTS = 20_000


def mark_sandbox_tool(tool: Any, policy: Policy) -> None:
    """Mark `tool` (an agentflow `Tool`) as running code in a sandbox under `policy`."""
    setattr(tool.function, _MARK, policy)


def policy_of_tool(tool: Any) -> Policy | None:
    function = getattr(tool, "function", None)
    policy = getattr(function, _MARK, None) if function is not None else None
    if policy is None:
        return None
    from agentflow.sandbox.policy import Policy  # (only once a marked tool is found: keeps the walk light)

    return policy if isinstance(policy, Policy) else None


def _children(obj: Any) -> list[Any]:
    builder = getattr(obj, "builder", None)
    if builder is not None and type(obj).__module__.startswith(
        "langgraph"
    ):  # a compiled graph: its definition
        return [builder]
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, types.MethodType):
        return [obj.__self__, obj.__func__]
    if isinstance(obj, types.FunctionType):
        cells = [c.cell_contents for c in obj.__closure__ or () if _filled(c)]
        return cells + list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
    module = type(obj).__module__ or ""
    if not module.startswith(("agentflow", "langgraph", "graphs", "tools")):
        return []
    values: list[Any] = []
    if hasattr(obj, "__dict__"):
        values += list(vars(obj).values())
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if isinstance(slot, str) and hasattr(obj, slot):
                values.append(getattr(obj, slot))
    return values


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def sandbox_policies(graph: Any) -> list[Policy]:
    """The distinct policies of the sandbox tools reachable from `graph` (in the order first found)."""
    found: dict[str, Policy] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(graph, 0)]
    while stack and len(seen) < _MAX_OBJECTS:
        obj, depth = stack.pop()
        if (
            id(obj) in seen
            or depth > _MAX_DEPTH
            or isinstance(obj, str | bytes | int | float | bool | type(None))
        ):
            continue
        seen.add(id(obj))
        policy = policy_of_tool(obj)
        if policy is not None:
            found.setdefault(policy.digest, policy)
            continue
        stack.extend((child, depth + 1) for child in reversed(_children(obj)))
    return list(found.values())
