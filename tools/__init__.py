"""Ready-made tools (`agentflow.toolkit`): arithmetic, unit conversion, the clock and a notebook; and the
Docker sandbox tools (`SANDBOX_TOOLS`: python_exec, shell_exec, read_file, write_file).

`DEFAULT_TOOLS` is what the bundled graphs give a model when no tools are named. The sandbox tools are not
among them: they need a Docker engine (`agentflow sandbox doctor`).
"""

from .calculator import calculator
from .clock import current_time
from .notes import search_notes, write_note
from .units import convert_units

DEFAULT_TOOLS = [calculator, convert_units, current_time, write_note, search_notes]

_SANDBOX_NAMES = {"SANDBOX_TOOLS", "python_exec", "read_file", "sandbox_tools", "shell_exec", "write_file"}


def __getattr__(name: str) -> object:
    """The sandbox tools load on first use (their module pulls in the sandbox package)."""
    if name in _SANDBOX_NAMES:
        from . import sandbox

        return getattr(sandbox, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TOOLS",
    "SANDBOX_TOOLS",
    "calculator",
    "convert_units",
    "current_time",
    "python_exec",
    "read_file",
    "sandbox_tools",
    "search_notes",
    "shell_exec",
    "write_file",
    "write_note",
]
