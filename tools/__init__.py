"""Ready-made tools (`agentflow.toolkit`): arithmetic, unit conversion, the clock, a notebook and long-term
memory.

`DEFAULT_TOOLS` is what the bundled graphs give a model when no tools are named; the memory tools
(`remember`, `recall`, `forget`, or `memory_tools(namespace=...)`) are given explicitly.
"""

from .calculator import calculator
from .clock import current_time
from .memory import forget, memory_tools, recall, remember
from .notes import search_notes, write_note
from .units import convert_units

DEFAULT_TOOLS = [calculator, convert_units, current_time, write_note, search_notes]

__all__ = [
    "DEFAULT_TOOLS",
    "calculator",
    "convert_units",
    "current_time",
    "forget",
    "memory_tools",
    "recall",
    "remember",
    "search_notes",
    "write_note",
]
