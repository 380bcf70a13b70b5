"""agentflow: reliable LLM agents as LangGraph workflow graphs.

    import agentflow
    from agentflow.toolkit import DEFAULT_TOOLS

    graph = agentflow.react_graph(DEFAULT_TOOLS)
    result = agentflow.run_sync(graph, "What is 17 * 23 + 4?", model="transformers:./my-model")

The public names are listed once, in `__init__.pyi`; each loads on first use, so `import agentflow` (and the
CLI) does not pay for LangGraph, pydantic models or torch until they are needed.
"""

import lazy_loader

__getattr__, __dir__, _names = lazy_loader.attach_stub(__name__, __file__)

__version__ = "0.1.0"
__all__ = sorted([*_names, "__version__"])
