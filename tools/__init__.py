"""Ready-made tools (`agentflow.toolkit`): arithmetic, unit conversion, the clock and a notebook; long-term
memory (`remember`, `recall`, `forget`, or `memory_tools(namespace=...)`); and the Docker sandbox tools
(`SANDBOX_TOOLS`: python_exec, shell_exec, read_file, write_file).

`DEFAULT_TOOLS` is what the bundled graphs give a model when no tools are named. The memory and sandbox tools
are given explicitly (the sandbox tools need a Docker engine: `agentflow sandbox doctor`); they load on first
use, so importing the toolkit stays light.
"""

from .calculator import calculator
from .clock import current_time
from .notes import search_notes, write_note
from .units import convert_units

DEFAULT_TOOLS = [calculator, convert_units, current_time, write_note, search_notes]

_LAZY = {
    **dict.fromkeys(("forget", "memory_tools", "recall", "remember"), "memory"),
    **dict.fromkeys(
        ("SANDBOX_TOOLS", "python_exec", "read_file", "sandbox_tools", "shell_exec", "write_file"), "sandbox"
    ),
}


def __getattr__(name: str) -> object:
    """The memory and sandbox tools load on first use (their modules pull in more of agentflow)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_TOOLS",
    "SANDBOX_TOOLS",
    "calculator",
    "convert_units",
    "current_time",
    "forget",
    "memory_tools",
    "python_exec",
    "read_file",
    "recall",
    "remember",
    "sandbox_tools",
    "search_notes",
    "shell_exec",
    "write_file",
    "write_note",
]
