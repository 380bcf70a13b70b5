"""A server that reads its stdin and never answers (the handshake must time out)."""

import sys

for _line in sys.stdin:
    pass
