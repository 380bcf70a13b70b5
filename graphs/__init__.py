"""Runnable agent graphs that ship with agentflow (`agentflow run NAME`). Each module has `make_graph()`."""
