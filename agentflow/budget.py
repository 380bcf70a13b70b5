"""Budgets: limits on steps, tokens, cost, wall time and tool calls, and the tracker that enforces them.

A step is one model decision. One `BudgetTracker` serves a whole run, sub-graphs and parallel branches
included: every model node and tool call draws from it. It is checked *before* each model and tool call;
the wall-time limit additionally cancels whatever is in flight (the runner puts a deadline on the run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from agentflow.exceptions import BudgetExhausted, ConfigError

__all__ = ["DEFAULT_BUDGET", "PRICES", "Budget", "BudgetTracker", "RunUsage", "price_of"]

# USD per million tokens (input, output). Local and unknown models cost 0; extend with `Runner(prices=...)`.
PRICES: dict[str, tuple[float, float]] = {
    "openai:gpt-4o": (2.50, 10.00),
    "openai:gpt-4o-mini": (0.15, 0.60),
    "openai:gpt-4.1": (2.00, 8.00),
    "openai:gpt-4.1-mini": (0.40, 1.60),
    "openai:gpt-4.1-nano": (0.10, 0.40),
}


def price_of(model_spec: str, prices: dict[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """(input, output) USD per million tokens for a model spec; 0 for local backends and unknown models."""
    table = {**PRICES, **(prices or {})}
    if model_spec in table:
        return table[model_spec]
    base = model_spec.split("@", 1)[0]  # openai:MODEL@BASE_URL
    return table.get(base, (0.0, 0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Limits for one run. `None` means unlimited; the defaults stop a runaway loop."""

    max_steps: int | None = 25
    max_tokens: int | None = 200_000
    max_cost_usd: float | None = 1.0
    max_wall_s: float | None = 600.0
    max_tool_calls: int | None = 100

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_tokens", "max_cost_usd", "max_wall_s", "max_tool_calls"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"budget {name} must be >= 0 (got {value})")

    def with_overrides(self, **overrides: Any) -> Budget:
        """A copy with every non-None override applied (CLI flags)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_steps": self.max_steps,
            "max_tokens": self.max_tokens,
            "max_cost_usd": self.max_cost_usd,
            "max_wall_s": self.max_wall_s,
            "max_tool_calls": self.max_tool_calls,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Budget:
        return cls(
            **{
                k: data[k]
                for k in ("max_steps", "max_tokens", "max_cost_usd", "max_wall_s", "max_tool_calls")
                if k in data
            }
        )


DEFAULT_BUDGET = Budget()


@dataclass(slots=True, kw_only=True)
class RunUsage:
    """What a run has consumed so far (persisted with the run, so a resumed run keeps counting)."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tool_calls": self.tool_calls,
            "cost_usd": round(self.cost_usd, 8),
            "wall_s": round(self.wall_s, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunUsage:
        data = data or {}
        return cls(
            **{
                k: data[k]
                for k in ("steps", "input_tokens", "output_tokens", "tool_calls", "cost_usd", "wall_s")
                if k in data
            }
        )


@dataclass(slots=True, kw_only=True)
class BudgetTracker:
    """Enforces a `Budget` over a `RunUsage`. Single event loop, so plain counters are race-free."""

    budget: Budget = DEFAULT_BUDGET
    usage: RunUsage = field(default_factory=RunUsage)
    prices: dict[str, tuple[float, float]] | None = None
    _started: float = field(default_factory=time.monotonic)
    _wall_before: float = 0.0

    def __post_init__(self) -> None:
        self._wall_before = self.usage.wall_s  # time spent before a resume counts too

    def elapsed(self) -> float:
        return self._wall_before + (time.monotonic() - self._started)

    def remaining_wall_s(self) -> float | None:
        if self.budget.max_wall_s is None:
            return None
        return max(0.0, self.budget.max_wall_s - self.elapsed())

    def sync_wall(self) -> None:
        self.usage.wall_s = self.elapsed()

    def _check(self, name: str, limit: float | None, used: float, *, strict: bool) -> None:
        if limit is not None and (used > limit if strict else used >= limit):
            raise BudgetExhausted(name, limit, used)

    def check_time(self) -> None:
        self.sync_wall()
        self._check("time", self.budget.max_wall_s, self.usage.wall_s, strict=False)

    def check_before_model(self) -> None:
        """Raise `BudgetExhausted` if another model call would exceed a limit."""
        self._check("steps", self.budget.max_steps, self.usage.steps, strict=False)
        self._check("tokens", self.budget.max_tokens, self.usage.tokens, strict=False)
        self._check("cost", self.budget.max_cost_usd, self.usage.cost_usd, strict=False)
        self.check_time()

    def check_before_tool(self, count: int = 1) -> None:
        """Raise `BudgetExhausted` unless `count` more tool calls fit every limit; then reserve them (all or
        none: a decision's calls start together or not at all)."""
        self._check("tool_calls", self.budget.max_tool_calls, self.usage.tool_calls + count - 1, strict=False)
        self._check("tokens", self.budget.max_tokens, self.usage.tokens, strict=True)
        self._check("cost", self.budget.max_cost_usd, self.usage.cost_usd, strict=True)
        self.check_time()
        self.usage.tool_calls += count

    def start_step(self) -> int:
        """Count one step (a model decision about to be made) and return its number. Counting before the
        call gives concurrent branches distinct step numbers (and so distinct call ids)."""
        self.usage.steps += 1
        return self.usage.steps

    def cancel_step(self, step: int) -> None:
        """Uncount step `step`, whose decision was cancelled before it was made (a resumed run makes it again),
        unless a concurrent branch has counted a later step since (its number must stay unique)."""
        if self.usage.steps == step:
            self.usage.steps -= 1

    def record_tokens(self, model_spec: str, input_tokens: int, output_tokens: int) -> float:
        """Add one call's tokens and cost; return its cost in USD."""
        price_in, price_out = price_of(model_spec, self.prices)
        cost = (input_tokens * price_in + output_tokens * price_out) / 1_000_000
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.cost_usd += cost
        self.sync_wall()
        return cost

    def record_model_call(self, model_spec: str, input_tokens: int, output_tokens: int) -> float:
        """Count one step and its tokens; return its cost in USD."""
        self.start_step()
        return self.record_tokens(model_spec, input_tokens, output_tokens)
