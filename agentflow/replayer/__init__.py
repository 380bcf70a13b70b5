"""Replaying recorded runs (`agentflow replay`, `agentflow.replay`) and comparing runs (`runs diff`)."""

from agentflow.exceptions import ReplayDivergedError
from agentflow.replayer.player import Divergence
from agentflow.replayer.run import ReplayResult, replay_run

__all__ = ["Divergence", "ReplayDivergedError", "ReplayResult", "replay_run"]
