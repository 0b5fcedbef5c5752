"""Gunicorn's settings for HMS, from HMS_* variables (README, "Configuration").

Processes x threads: SQLite serves many readers at once and one writer at a time, and Python
runs one thread per process at a time, so a few processes with a few threads each keep both
cores busy while requests wait on the database or the network. Gunicorn restarts a worker
that dies, reloads on SIGHUP and stops gracefully on SIGTERM or SIGINT, letting requests in
flight finish (GRACEFUL_SECONDS).
"""

from __future__ import annotations

import os

bind = os.environ.get("HMS_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("HMS_WORKERS") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("HMS_THREADS") or 4)
worker_class = "gthread"
timeout = int(os.environ.get("HMS_WORKER_TIMEOUT") or 60)  # a stuck worker is replaced
graceful_timeout = int(os.environ.get("HMS_GRACEFUL_SECONDS") or 20)
keepalive = 5
# "-": standard output; a path: that file; "" turns the access log off.
accesslog = os.environ.get("HMS_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
proc_name = "hms-web"
# Reload and stop by signal (HUP, TERM): no control socket in the home folder, which two
# servers on one machine would fight over.
control_socket_disable = True
