"""The visual trace viewer: a recorded run as one self-contained HTML page (`render_run`), written to a file or
served on loopback (`serve`). Built from the trace alone; nothing on the page loads from the network."""

from agentflow.viewer.render import render_run
from agentflow.viewer.serve import serve

__all__ = ["render_run", "serve"]
