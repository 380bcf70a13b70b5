"""A server that prints a banner on stdout (not JSON-RPC) and then waits, ignoring its stdin."""

import sys
import time

print("Welcome to garbage server v1.0!", flush=True)
print("garbage: started", file=sys.stderr, flush=True)
time.sleep(600)
