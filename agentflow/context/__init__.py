"""Context management for long runs: `ContextPolicy` (keep_last, summarize, custom) keeps a model node's prompt
inside the model's context window without breaking tool call / result pairs (`units.py`)."""

from agentflow.context.policy import ContextPolicy, CustomTrim
from agentflow.context.tokens import counter_for, estimate_tokens, window_of
from agentflow.context.units import check_pairing, fit, missing_results, split, trimmed

__all__ = [
    "ContextPolicy",
    "CustomTrim",
    "check_pairing",
    "counter_for",
    "estimate_tokens",
    "fit",
    "missing_results",
    "split",
    "trimmed",
    "window_of",
]
