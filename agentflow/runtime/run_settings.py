"""What a run records about itself and reads back to continue: its tool sources, models, sampling settings, and
whether its pending calls are decided; checks made before a run starts (per-role models against the graph)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from agentflow.exceptions import ConfigError
from agentflow.graph_walk import graph_roles
from agentflow.models.base import Model, SamplingSettings
from agentflow.models.spec import BACKENDS, DEMO
from agentflow.store.base import RunRecord
from agentflow.tooling.source import ToolSource


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


__all__ = [
    "check_roles",
    "decided",
    "describe_models",
    "new_run_id",
    "recorded_sources",
    "reloadable",
    "settings_of",
    "sources_setting",
]


def sources_setting(sources: Sequence[ToolSource]) -> dict[str, Any]:
    """How a run records the tool sources given to its graph factory: enough to connect them again (never a
    secret: environment and header values are not kept; a resumed run takes environment values again)."""
    return {"tool_sources": [s.describe() for s in sources]} if sources else {}


def recorded_sources(record: RunRecord) -> list[ToolSource]:
    described = record.settings.get("tool_sources") or []
    if not described:
        return []
    from agentflow.mcp.servers import from_description

    return [from_description(d) for d in described]


def decided(record: RunRecord) -> bool:
    """A paused run whose every pending call has a decision (handed to the queue by `decide(queue=True)`)."""
    return bool(record.pending) and all(p.decision is not None for p in record.pending or [])


def reloadable(spec: str) -> bool:
    """Whether a recorded model spec can be loaded again (in-memory fakes cannot)."""
    return spec == DEMO or spec.startswith(DEMO + "?") or (":" in spec and spec.split(":", 1)[0] in BACKENDS)


def settings_of(record: RunRecord) -> SamplingSettings:
    return SamplingSettings(
        **{k: v for k, v in record.settings.items() if k in ("temperature", "top_p", "max_tokens", "seed")}
    )


def check_roles(compiled: Any, graph_ref: str, models: Mapping[str, Any] | None) -> None:
    """Refuse a per-role model for a role the graph does not have (a typo would silently use the default)."""
    if not models:
        return
    roles = graph_roles(compiled)
    unknown = sorted(set(models) - set(roles))
    if unknown:
        have = ", ".join(roles) if roles else "none declared"
        raise ConfigError(
            f"graph {graph_ref} has no model role {', '.join(repr(r) for r in unknown)} (its roles: {have}); "
            "a node of your own declares the roles it asks with agentflow.uses_roles(node, ROLE)"
        )


def describe_models(default: Model | None, roles: dict[str, Model]) -> str | None:
    parts = [default.spec] if default is not None else []
    parts += [f"{role}={m.spec}" for role, m in sorted(roles.items())]
    return " ".join(parts) or None
