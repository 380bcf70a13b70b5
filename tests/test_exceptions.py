"""One error tree: every public error is in `agentflow.exceptions`, and its class says its exit code."""

from __future__ import annotations

import pytest

from agentflow import exceptions
from agentflow.result import RunResult
from agentflow.status import RunStatus


def _all_errors() -> list[type[exceptions.AgentflowError]]:
    return [
        v
        for v in vars(exceptions).values()
        if isinstance(v, type) and issubclass(v, exceptions.AgentflowError)
    ]


def test_exit_code_is_a_property_of_the_class() -> None:
    """User errors exit 2, run errors 1, an exhausted budget 3 — by class, subclasses included."""
    for cls in _all_errors():
        expected = (
            2
            if issubclass(cls, exceptions.UserError)
            else 3
            if issubclass(cls, exceptions.BudgetExhausted)
            else 1
        )
        assert cls.exit_code == expected, cls.__name__


def test_error_class_finds_every_error_and_user_subclasses() -> None:
    """A recorded error type name maps back to its class, a user's subclass too; anything else to None."""
    for cls in _all_errors():
        assert exceptions.error_class(cls.__name__) is cls

    class QuotaExceeded(exceptions.ConfigError):
        pass

    assert exceptions.error_class("QuotaExceeded") is QuotaExceeded
    assert exceptions.error_class("ValueError") is None


@pytest.mark.parametrize(
    ("error_type", "code"),
    [
        ("UnsupportedSchemaError", 2),
        ("InvalidDecisionError", 2),
        ("ModelHTTPError", 1),
        ("GraphError", 1),
        ("KeyError", 1),
    ],
)
def test_failed_run_exit_code_follows_its_error(error_type: str, code: int) -> None:
    """A failed run exits 2 when its error is the caller's fault, else 1."""
    result = RunResult(
        run_id="r", status=RunStatus.FAILED, output=None, usage={}, error={"type": error_type, "message": "x"}
    )
    assert result.exit_code == code


def test_status_exit_codes() -> None:
    """Each final status has its documented exit code."""
    codes = {s.value: s.exit_code for s in RunStatus}
    assert codes == {
        "queued": 1,
        "running": 1,
        "succeeded": 0,
        "failed": 1,
        "budget_exhausted": 3,
        "awaiting_approval": 4,
        "cancelled": 130,
    }
