"""Sensitive values: marked by tools, kept out of everything agentflow records.

`REDACTED` is what a recorded sensitive value reads as.
"""

from __future__ import annotations

__all__ = ["REDACTED"]

REDACTED = "[redacted]"
