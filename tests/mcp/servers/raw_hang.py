"""A minimal hand-written MCP server (JSON-RPC on stdio, no SDK: it starts in milliseconds) with one tool,
`hang`, that announces itself on stderr and never answers. Exits when its stdin closes."""

import json
import sys

TOOL = {"name": "hang", "description": "Never answers.", "inputSchema": {"type": "object", "properties": {}}}

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method = message.get("method")
    if method == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw_hang", "version": "0"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        print("raw_hang: hanging", file=sys.stderr, flush=True)
        continue
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n")
    sys.stdout.flush()
