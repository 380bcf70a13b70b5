"""Finding the sandbox policies a graph's tools use, through every bundled graph shape."""

from __future__ import annotations

import agentflow
from agentflow.sandbox import Policy, default_policy, policy_of_tool, sandbox_policies
from agentflow.toolkit import DEFAULT_TOOLS, SANDBOX_TOOLS, sandbox_tools


def test_sandbox_tools_carry_their_policy() -> None:
    """The default tools carry the default policy; a custom set carries its own; other tools none."""
    assert {policy_of_tool(t) for t in SANDBOX_TOOLS} == {default_policy()}
    custom = Policy(memory_mb=256)
    assert {policy_of_tool(t) for t in sandbox_tools(custom)} == {custom}
    assert policy_of_tool(DEFAULT_TOOLS[0]) is None


def test_policies_are_found_in_react_and_compiled_graphs() -> None:
    """A ReAct graph (built or compiled) with sandbox tools yields their policy; without, nothing."""
    graph = agentflow.react_graph([*DEFAULT_TOOLS, *SANDBOX_TOOLS])
    assert sandbox_policies(graph) == [default_policy()]
    assert sandbox_policies(graph.compile()) == [default_policy()]
    assert sandbox_policies(agentflow.react_graph(DEFAULT_TOOLS)) == []


def test_policies_are_found_in_multi_agent_graphs() -> None:
    """Plan-execute, supervisor and handoff graphs hold tools deeper; their policies are found, each once."""
    net = Policy(network="allow", reason="fetches data")
    plan = agentflow.plan_execute_graph([*SANDBOX_TOOLS, *sandbox_tools(net)[:1]])
    assert {p.digest for p in sandbox_policies(plan)} == {default_policy().digest, net.digest}
    agents = [
        agentflow.Agent(name="coder", tools=sandbox_tools(net)),
        agentflow.Agent(name="clock", tools=DEFAULT_TOOLS),
    ]
    assert sandbox_policies(agentflow.supervisor_graph(agents)) == [net]
    assert sandbox_policies(agentflow.handoff_graph(agents)) == [net]


def test_the_bundled_coder_graph_uses_the_default_policy() -> None:
    """`agentflow run coder` needs the engine: its graph's policy is the default one."""
    from agentflow.graphs.coder import make_graph

    assert sandbox_policies(make_graph()) == [default_policy()]
