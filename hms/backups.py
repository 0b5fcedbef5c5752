"""Consistent copies of the live database, and bringing one back: `hms backup PATH` and
`hms restore PATH`.

Copying the SQLite file with `cp` while HMS runs can miss committed rows (they may still be in
the -wal file beside it) or catch a page half written. SQLite's online backup API copies a
consistent snapshot while the web and the worker go on; PostgreSQL's is pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from flask import current_app

from hms.db import db, is_sqlite


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


def _sqlite_path() -> str:
    return db.obj.database


def _postgres_url() -> str:
    return current_app.config["DATABASE"]


def _check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{what} failed SQLite's integrity check: {result}")


def backup(path: Path) -> None:
    """Write a consistent copy of the live database to PATH (which must not exist): a SQLite
    database file, or pg_dump's custom format on PostgreSQL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # made private before a byte of patients' records is in it
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} exists already; choose a new file.") from None
    try:
        if is_sqlite():
            _sqlite_backup(path)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={path}",
                  f"--dbname={_postgres_url()}"])
    except BaseException:
        path.unlink(missing_ok=True)  # no half backup to be mistaken for a whole one
        raise


def _sqlite_backup(path: Path) -> None:
    live = sqlite3.connect(_sqlite_path(), timeout=30)
    target = sqlite3.connect(path)
    try:
        live.backup(target)  # one consistent snapshot, however many write meanwhile
        _check(target, "The backup")
    finally:
        target.close()
        live.close()


def restore(path: Path) -> None:
    """Replace the live database's contents with the backup at PATH. Stop the web server and
    the worker first: what they wrote after the backup is gone, and they would write into the
    middle of the restore."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    if not is_sqlite():
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_postgres_url()}", str(path)])
        return
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    live = sqlite3.connect(_sqlite_path(), timeout=30)
    try:
        _check(source, "The backup")
        source.backup(live)
        _check(live, "The restored database")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} could not be restored: {error}") from None
    finally:
        live.close()
        source.close()


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()}") from None
