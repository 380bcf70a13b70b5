"""The faulty server, made hard to stop: it ignores SIGTERM and keeps running after its stdin closes."""

import runpy
import signal
import sys
import time
from pathlib import Path

signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.argv = ["faulty"]
try:
    runpy.run_path(str(Path(__file__).with_name("faulty.py")), run_name="__main__")
finally:
    print("stubborn: stdin closed, staying alive", file=sys.stderr, flush=True)
    time.sleep(600)
