"""Run a Python program with its clock frozen where the tests' clock stands, for the processes
tests start (the Huey worker): `python tests/frozen_process.py ISO-INSTANT SCRIPT ARGS...`.

Test-only by construction: it lives in tests/ and needs time-machine, a test dependency;
nothing in hms/ or tasks.py can move the clock.
"""

import datetime as dt
import runpy
import sys

import time_machine

if __name__ == "__main__":
    instant, script, *args = sys.argv[1:]
    time_machine.travel(dt.datetime.fromisoformat(instant), tick=False).start()
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
