"""The real parts that background work runs on, for the tests that fault or exercise them: a
private Redis the test can kill and start again empty, an SMTP server it can take down or slow,
and `huey_consumer` processes on the tests' frozen clock (the `rig` fixture, conftest.py).

The sweeps run in the test process, at instants the test chooses (hms/work.py takes `now`), so
leases and back-off run out without waiting; the consumers run with periodic tasks off (-n).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email
import email.policy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

import tasks
from hms import work
from support import free_port, wait_for, without_faketime

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = Path(sys.executable).parent / "huey_consumer"
FROZEN = Path(__file__).with_name("frozen_process.py")
MINUTE = dt.timedelta(minutes=1)


class RedisServer:
    """A private Redis on one port that the test can kill and start again, empty."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=without_faketime())
        client = redis.Redis.from_url(self.url)
        assert wait_for(lambda: self._answers(client), 10), "Redis did not start"

    @staticmethod
    def _answers(client) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


class Mailbox:
    """An SMTP server on one port that the test can take down and bring back, and whose answer
    to the end of each message's data comes after `delay` seconds (the message is stored
    first, as a real server's queue would have it)."""

    def __init__(self) -> None:
        self.port, self.delay, self.messages, self.controller = free_port(), 0.0, [], None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        await asyncio.sleep(self.delay)
        return "250 OK"

    def up(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def per_recipient(self) -> collections.Counter:
        return collections.Counter(m["To"] for m in self.messages)


class Rig:
    """The app's database, a private Redis and SMTP server, and the worker processes."""

    def __init__(self, app, folder: Path) -> None:
        self.app, self.folder = app, folder
        self.redis, self.mail = RedisServer(folder), Mailbox()
        self.workers: list[subprocess.Popen] = []
        self.logs = []
        tasks.connect(self.redis.url)  # the test's sweeps hand work to this Redis
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=self.mail.port)

    def start_worker(self, **settings) -> subprocess.Popen:
        """`huey_consumer` as scripts/run.sh starts it (SIGTERM: finish, then stop), on the
        tests' frozen clock, without periodic tasks."""
        env = {**os.environ, "HMS_REDIS_URL": self.redis.url,
               "HMS_DATABASE": self.app.config["DATABASE"],
               "HMS_INSTANCE_PATH": self.app.instance_path, "HMS_SECRET_KEY": "test-secret",
               "HMS_SMTP_HOST": "127.0.0.1", "HMS_SMTP_PORT": str(self.mail.port),
               **{f"HMS_{k}": str(v) for k, v in settings.items()}}
        log = (self.folder / f"worker-{len(self.workers)}.log").open("w")
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, str(FROZEN), dt.datetime.now(dt.UTC).isoformat(), str(CONSUMER),
             "tasks.huey", "-w", "2", "-k", "thread", "-g", "TERM", "-n"],
            cwd=ROOT, env=without_faketime(env), stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def sweep(self, now: dt.datetime) -> dict:
        with self.app.app_context():
            return work.sweep(now, tasks.send_reminder, tasks.send_monthly_report,
                              tasks.export_history, tasks.send_account_mail,
                              tasks.send_offer_mail, tasks.send_recall_mail)

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for log in self.logs:
            log.close()
        self.mail.down()
        self.redis.kill()

    def queued(self) -> int:
        """Messages waiting in this rig's Redis queue."""
        return redis.Redis.from_url(self.redis.url).llen("huey.redis.hms")
