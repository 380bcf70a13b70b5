"""Ready-made tools (`agentflow.toolkit`): arithmetic, unit conversion, the clock and a notebook.

`DEFAULT_TOOLS` is what the bundled graphs give a model when no tools are named.
"""

from .calculator import calculator
from .clock import current_time
from .notes import search_notes, write_note
from .units import convert_units

DEFAULT_TOOLS = [calculator, convert_units, current_time, write_note, search_notes]

__all__ = ["DEFAULT_TOOLS", "calculator", "convert_units", "current_time", "search_notes", "write_note"]
