"""Runs a command and writes its wall time and CPU time to a file, to the microsecond (GNU time's
%U and %S round to 10 ms, a few percent of a short run's CPU), then exits with its status.

    python3 bench/shared_cpu.py TIMEFILE command...   -> TIMEFILE: "ELAPSED USER SYS" in seconds
"""
import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
start = time.monotonic()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{time.monotonic() - start:.6f} {usage.ru_utime:.6f} {usage.ru_stime:.6f}\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
