"""A server that fails before speaking: a line on stderr, then exit code 3."""

import sys

print("crash_at_start: cannot read config /etc/nowhere.toml", file=sys.stderr, flush=True)
sys.exit(3)
