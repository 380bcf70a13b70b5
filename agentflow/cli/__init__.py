"""The `agentflow` command line. Imports stay light here: heavy libraries load inside the commands."""

from agentflow.cli.app import app, main

__all__ = ["app", "main"]
