"""Model fakes for tests — agentflow's own and yours.

`ScriptedModel` replays given decisions (the N-th assistant turn of a conversation gets the N-th decision);
`FunctionModel` calls your function for each request. Both are real `Model` backends
(`agentflow.models.scripted`; `--model scripted:FILE.json` loads a `ScriptedModel`).
"""

from agentflow.models.scripted import FunctionModel, ScriptedModel

__all__ = ["FunctionModel", "ScriptedModel"]
