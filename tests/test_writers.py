"""Writers of one SQLite file queue for the writers' lock beside it (hms/db.py), in every
thread and process, instead of polling in SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest

from hms.db import db, write_transaction
from hms.models import Department

# SQLite's own machinery: the writers' lock beside its file.
pytestmark = pytest.mark.sqlite_only


def _in_thread(app, body) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                body()
            finally:
                db.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_writer_waits_for_its_turn_in_the_queue_then_writes(app):
    """Another process holds the writers' lock (SQLite itself is free): the write waits."""
    with app.app_context(), db.connection_context():  # the first writer makes the lock file
        with write_transaction():
            Department.create(name="First")
    lock = f"{app.config['DATABASE']}-writers"
    assert os.stat(lock).st_mode & 0o777 == 0o600
    holder = os.open(lock, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    entered = threading.Event()

    def write() -> None:
        with write_transaction():
            entered.set()
            Department.create(name="Second")

    thread = _in_thread(app, write)
    try:
        assert not entered.wait(0.5)  # queued behind the holder, not polling SQLite
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert entered.wait(10)
    thread.join(10)
    with app.app_context(), db.connection_context():
        assert Department.select().where(Department.name == "Second").exists()


def test_a_nested_write_is_a_savepoint_in_the_same_turn(app):
    with app.app_context(), db.connection_context():
        with write_transaction():
            Department.create(name="Outer")
            try:
                with write_transaction():
                    Department.create(name="Inner")
                    raise RuntimeError("undo the inner one only")
            except RuntimeError:
                pass
        assert {d.name for d in Department.select()} >= {"Outer"}
        assert not Department.select().where(Department.name == "Inner").exists()
