"""A hand-written JSON-RPC server whose tool results are malformed: `content` is not a list."""

import json
import sys

TOOL = {
    "name": "broken",
    "description": "Returns a malformed result.",
    "inputSchema": {"type": "object", "properties": {}},
}

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method = message.get("method")
    if method == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "malformed", "version": "0"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        result = {"content": "this should be a list of content blocks", "isError": "maybe"}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n")
    sys.stdout.flush()
