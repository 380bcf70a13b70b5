"""Budget limits and the tracker that enforces them."""

from __future__ import annotations

import pytest

from agentflow.budget import DEFAULT_BUDGET, Budget, BudgetTracker, RunUsage, price_of
from agentflow.exceptions import BudgetExhausted, ConfigError


def test_defaults_bound_every_dimension() -> None:
    """The default budget limits steps, tokens, cost, wall time and tool calls so nothing loops forever."""
    assert all(v is not None and v > 0 for v in DEFAULT_BUDGET.as_dict().values())


def test_negative_limit_is_a_config_error() -> None:
    """A negative limit is refused with the budget's name."""
    with pytest.raises(ConfigError, match="max_steps"):
        Budget(max_steps=-1)


def test_steps_checked_before_model_call() -> None:
    """The model may be called max_steps times, not once more."""
    tracker = BudgetTracker(budget=Budget(max_steps=2))
    for _ in range(2):
        tracker.check_before_model()
        tracker.record_model_call("scripted", 10, 5)
    with pytest.raises(BudgetExhausted) as info:
        tracker.check_before_model()
    assert info.value.budget == "steps"


def test_tool_calls_reserved_and_capped() -> None:
    """Each tool call is counted when checked; the call past the limit is refused."""
    tracker = BudgetTracker(budget=Budget(max_tool_calls=1))
    tracker.check_before_tool()
    with pytest.raises(BudgetExhausted, match="tool_calls"):
        tracker.check_before_tool()
    assert tracker.usage.tool_calls == 1


def test_cost_uses_price_table_and_local_models_are_free() -> None:
    """Hosted models cost by the price table; local and unknown ones cost nothing."""
    assert price_of("transformers:/m") == (0.0, 0.0)
    assert price_of("openai:gpt-4o-mini@http://127.0.0.1:8000/v1") == (0.15, 0.60)
    tracker = BudgetTracker(budget=Budget(max_cost_usd=0.0001), prices={"x:y": (100.0, 100.0)})
    cost = tracker.record_model_call("x:y", 1, 1)
    assert cost == pytest.approx(0.0002)
    with pytest.raises(BudgetExhausted, match="cost"):
        tracker.check_before_model()


def test_resumed_usage_keeps_counting() -> None:
    """Wall time and tokens spent before a resume count against the budget."""
    tracker = BudgetTracker(budget=Budget(max_wall_s=5, max_tokens=100), usage=RunUsage(wall_s=6.0))
    with pytest.raises(BudgetExhausted, match="time"):
        tracker.check_before_model()
    tracker = BudgetTracker(budget=Budget(max_tokens=100), usage=RunUsage(input_tokens=90, output_tokens=10))
    with pytest.raises(BudgetExhausted, match="tokens"):
        tracker.check_before_model()


def test_overrides_keep_unset_limits() -> None:
    """CLI overrides replace only the limits given."""
    budget = DEFAULT_BUDGET.with_overrides(max_steps=3, max_tokens=None)
    assert budget.max_steps == 3 and budget.max_tokens == DEFAULT_BUDGET.max_tokens
    assert Budget.from_dict(budget.as_dict()) == budget


def test_a_batch_of_tool_calls_is_reserved_all_or_nothing() -> None:
    """Three calls against a limit of two: refused, and none of them is counted."""
    tracker = BudgetTracker(budget=Budget(max_tool_calls=2))
    with pytest.raises(BudgetExhausted, match="tool_calls"):
        tracker.check_before_tool(3)
    assert tracker.usage.tool_calls == 0
    tracker.check_before_tool(2)
    assert tracker.usage.tool_calls == 2
