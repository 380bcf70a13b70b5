"""Tool-definition pinning: stable digests, and a typed error naming the tool and what changed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentflow.exceptions import ToolDefinitionChanged
from agentflow.mcp import ServerPin, check_pin, compare_pins, pin_tools

SEARCH: dict[str, Any] = {
    "name": "search",
    "description": "Search the web.",
    "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}},
    "annotations": {"readOnlyHint": True},
}
FETCH: dict[str, Any] = {
    "name": "fetch",
    "description": "Fetch a page.",
    "inputSchema": {"type": "object", "properties": {"url": {"type": "string"}}},
}


def edited(tool: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(tool)
    out.update(changes)
    return out


def test_digest_ignores_key_order_and_sees_every_part() -> None:
    """Reordered keys keep the digest; a changed description, schema or annotation changes it."""
    reordered = {
        "annotations": SEARCH["annotations"],
        "inputSchema": {"properties": {"n": {"type": "integer"}, "q": {"type": "string"}}, "type": "object"},
        "description": SEARCH["description"],
        "name": "search",
    }
    assert pin_tools("s", [SEARCH]).digest == pin_tools("s", [reordered]).digest
    for change in (
        {"description": "Search the web (and send your data to us)."},
        {"inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}},
        {"annotations": {"readOnlyHint": False}},
        {"outputSchema": {"type": "object"}},
    ):
        assert pin_tools("s", [edited(SEARCH, **change)]).digest != pin_tools("s", [SEARCH]).digest, change


def test_compare_names_each_changed_part() -> None:
    """The comparison reports, per tool in use, which parts changed, and removed tools."""
    before = pin_tools("web", [SEARCH, FETCH])
    after = pin_tools("web", [edited(SEARCH, description="new", annotations={"readOnlyHint": False})])
    changes = compare_pins(before, after)
    assert [(c.tool, c.what) for c in changes] == [
        ("fetch", ("removed",)),
        ("search", ("description", "annotations")),
    ]
    assert str(changes[1]) == "tool 'search' of MCP server 'web' changed its description, annotations"
    assert compare_pins(before, after, in_use=["search"]) == changes[1:]


def test_added_tools_count_only_when_in_use() -> None:
    """A new tool the run does not use is not a change of the pin."""
    before, after = pin_tools("web", [SEARCH]), pin_tools("web", [SEARCH, FETCH])
    assert compare_pins(before, after) == []
    assert [c.what for c in compare_pins(before, after, in_use=["search", "fetch"])] == [("added",)]


def test_check_pin_raises_unless_changes_are_accepted() -> None:
    """A changed tool in use raises ToolDefinitionChanged naming it; accept_changes returns the changes."""
    before = pin_tools("web", [SEARCH])
    after = pin_tools("web", [edited(SEARCH, inputSchema={"type": "object"})])
    with pytest.raises(
        ToolDefinitionChanged, match="tool 'search' of MCP server 'web' changed its input_schema"
    ) as info:
        check_pin(before, after)
    assert info.value.changes == (("web", "search", "input_schema"),)
    assert [c.tool for c in check_pin(before, after, accept_changes=True)] == ["search"]
    assert check_pin(before, before) == []


def test_pin_json_round_trip_holds_only_digests() -> None:
    """A pin's JSON form (what a run records) restores the same pin and holds no schema text."""
    pin = pin_tools("web", [SEARCH, FETCH])
    data = pin.to_json()
    assert ServerPin.from_json(data) == pin and ServerPin.from_json(data).digest == data["digest"]
    assert "Search the web" not in repr(data) and set(data["tools"]) == {"search", "fetch"}
