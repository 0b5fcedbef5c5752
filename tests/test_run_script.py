"""The README's run command: Redis, the Huey worker and the web server start with demo data,
and Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from support import free_port, without_faketime

ROOT = Path(__file__).resolve().parent.parent


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _started_by(instance: Path) -> dict[int, str]:
    """Live processes (pid: command line) whose environment names this instance folder."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"HMS_INSTANCE_PATH={instance}".encode() in environ and cmdline:
            found[int(proc.name)] = cmdline
    return found


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run.sh exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {seconds} s")


def _server_header(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers.get("Server", "")


def test_run_script_starts_everything_with_demo_data_and_ctrl_c_stops_it(tmp_path):
    web, redis_port = free_port(), free_port()
    # The real script on the machine's real clock: it starts redis-server, which cannot run
    # under libfaketime (see support.without_faketime).
    env = {**without_faketime(), "HMS_SKIP_SETUP": "1", "HMS_INSTANCE_PATH": str(tmp_path),
           "HMS_PORT": str(web), "HMS_REDIS_PORT": str(redis_port)}
    env.pop("HMS_REDIS_URL", None)
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # As in a terminal: Ctrl-C is not ignored, even when the test runner was started in the
        # background (where the shell ignores SIGINT for it and its children).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        health = _wait_for(f"http://127.0.0.1:{web}/healthz", proc)
        assert '"redis":"ok"' in health and '"database":"ok"' in health
        assert "Log in" in _wait_for(f"http://127.0.0.1:{web}/login", proc)
        running = " | ".join(_started_by(tmp_path).values())
        assert "huey_consumer tasks.huey" in running, "the Huey worker is not running"
        assert "gunicorn -c python:hms.gunicorn_conf hms.wsgi:app" in running
        assert "gunicorn" in _server_header(f"http://127.0.0.1:{web}/login")
        assert _listening(redis_port)  # Redis rewrites its title and environment: ask its port
        # Redis is HMS's alone (a password generated once, kept private) and keeps its queue
        # on disk across restarts.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=redis_port).ping()
        assert (tmp_path / "redis.conf").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "appendonlydir").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert "Demo logins" in output and "anna (patient)" in output
    assert "Stopping HMS" in output
    assert not _listening(web) and not _listening(redis_port)
    assert _started_by(tmp_path) == {}, "something run.sh started is still running"
    assert (tmp_path / "hms.sqlite3").exists()
