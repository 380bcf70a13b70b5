"""MCP tools and results in agentflow terms: hints by trust, content as observation text."""

from __future__ import annotations

import mcp_types as types
import pytest

from agentflow.mcp import hints_of
from agentflow.mcp.convert import result_to_return

RELAXED = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


@pytest.mark.parametrize(
    ("annotations", "trusted", "expected"),
    [
        (None, True, (False, True, False)),  # MCP's defaults: not read-only, destructive, not idempotent
        (RELAXED, False, (False, True, False)),  # relaxing hints from an untrusted server count for nothing
        (RELAXED, True, (True, False, True)),
        (types.ToolAnnotations(destructive_hint=False), True, (False, False, False)),
        (types.ToolAnnotations(idempotent_hint=True), True, (False, True, True)),
        (types.ToolAnnotations(read_only_hint=True, destructive_hint=True), True, (True, False, True)),
        (types.ToolAnnotations(destructive_hint=True, idempotent_hint=False), False, (False, True, False)),
    ],
)
def test_hints_follow_mcp_defaults_and_trust(
    annotations: types.ToolAnnotations | None, trusted: bool, expected: tuple[bool, bool, bool]
) -> None:
    """(read_only, destructive, idempotent) for each annotation set, trusted or not."""
    hints = hints_of(annotations, trusted=trusted)
    assert (hints["read_only"], hints["destructive"], hints["idempotent"]) == expected


def test_images_and_blobs_are_described_not_inlined() -> None:
    """Binary content becomes a line naming its type and size; no base64 reaches the observation."""
    data = "QUJD" * 5000  # 20 000 base64 characters, 15 000 bytes
    result = types.CallToolResult(
        content=[
            types.TextContent(text="chart:"),
            types.ImageContent(data=data, mime_type="image/png"),
            types.AudioContent(data="QUJD", mime_type="audio/wav"),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(
                    uri="file:///a.bin", blob=data, mime_type="application/pdf"
                )
            ),
            types.EmbeddedResource(
                resource=types.TextResourceContents(uri="file:///n.txt", text="note text")
            ),
            types.ResourceLink(uri="https://example.test/r", name="report", mime_type="text/html"),
        ]
    )
    out = result_to_return("chart", result)
    assert out.text.splitlines() == [
        "chart:",
        "[image: image/png, 14.6 KiB]",
        "[audio: audio/wav, 3 bytes]",
        "[resource: file:///a.bin, application/pdf, 14.6 KiB]",
        "[resource file:///n.txt]",
        "note text",
        "[resource link: https://example.test/r (report, text/html)]",
    ]
    assert "QUJD" not in out.text and not out.is_error


def test_errors_keep_structured_content() -> None:
    """An isError result is an error observation whose recorded data is the structured content."""
    out = result_to_return(
        "quota",
        types.CallToolResult(
            content=[types.TextContent(text="over quota")],
            structured_content={"retry_after_s": 30},
            is_error=True,
        ),
    )
    assert (out.text, out.data, out.is_error, out.error_type) == (
        "tool 'quota' failed: over quota",
        {"retry_after_s": 30},
        True,
        "mcp_tool_error",
    )


def test_structured_content_alone_becomes_json_text() -> None:
    """A result with only structured content shows it as JSON; an empty result says so."""
    out = result_to_return("t", types.CallToolResult(content=[], structured_content={"n": 1}))
    assert (out.text, out.data) == ('{"n": 1}', {"n": 1})
    assert result_to_return("t", types.CallToolResult(content=[])).text == "(no content)"
