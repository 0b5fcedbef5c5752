"""The deferred Peewee database: configured by the app factory, one connection per request."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from peewee import DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect

from hms.config import private_file

db = DatabaseProxy()

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema.sql"  # SQLite, the embedded default
POSTGRES_SCHEMA_PATH = ROOT / "schema.postgres.sql"
# Taken while schema.postgres.sql is applied: the web and the worker may run init-db at once.
_SCHEMA_LOCK = 4_712_001

# WAL lets readers work while one writer commits; busy_timeout makes writers queue, not fail.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
}


def open_database(location: str, instance_path: str):
    """Build the Peewee database for a path (relative to the instance folder) or a URL."""
    if "://" in location:
        if not location.startswith("sqlite"):
            return connect(location)
        file = urlsplit(location).path[1:]  # sqlite:///x.db is x.db, sqlite:////x.db is /x.db
        if file and file != ":memory:" and not file.startswith("file:"):
            private_file(file)
        return connect(location, pragmas=SQLITE_PRAGMAS)
    path = Path(location)
    if not path.is_absolute():
        path = Path(instance_path) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLite would create the file 0644 and gives its -wal and -shm files the file's mode:
    # created 0600 here first, patients' records are readable by HMS's user alone.
    private_file(path)
    return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS)


# The follow-ups that treatments asked for, as recalls (schema.postgres.sql runs the same).
RECALLS_FROM_TREATMENTS = (
    "INSERT INTO recall (treatment_id, patient_id, doctor_id, visit_date, due_date, "
    "created_at) SELECT t.id, a.patient_id, a.doctor_id, a.date, t.follow_up_date, t.created_at "
    "FROM treatment AS t JOIN appointment AS a ON a.id = t.appointment_id "
    "WHERE t.follow_up_date >= a.date ORDER BY t.id")

# Derived tables that triggers keep current, and how to fill each from the rows already there
# when schema.sql first creates it on an older database.
BACKFILLS = {
    "patient_search": "INSERT INTO patient_search (patient_search) VALUES ('rebuild')",
    "appointment_tally": "UPDATE appointment_tally SET appointments = (SELECT count(*) FROM "
                         "appointment WHERE appointment.status = appointment_tally.status)",
    "appointment_day": "INSERT INTO appointment_day SELECT date, doctor_id, "
                       + ", ".join(f"sum(status = '{s}')" for s in (
                           "booked", "checked_in", "completed", "no_show", "cancelled",
                           "rescheduled"))
                       + " FROM appointment GROUP BY date, doctor_id",
    "doctor_patient": "INSERT INTO doctor_patient SELECT a.doctor_id, a.patient_id, "
                      "p.full_name, count(*), max(a.date) FROM appointment AS a JOIN patient AS p "
                      "ON p.id = a.patient_id GROUP BY a.doctor_id, a.patient_id",
    "phone_search": "INSERT INTO phone_search SELECT DISTINCT digits, patient_id "
                    "FROM phone_endings",
    "user_search": "INSERT INTO user_search (user_search) VALUES ('rebuild')",
    "user_tally": "UPDATE user_tally SET users = (SELECT count(*) FROM users WHERE users.role "
                  "= user_tally.role AND users.is_active = user_tally.is_active)",
    # Every follow-up asked for before recalls existed becomes one (hms/recalls.py): those
    # answered by a later visit show as booked, the others as open or overdue.
    "recall": RECALLS_FROM_TREATMENTS.replace("INSERT INTO", "INSERT OR IGNORE INTO"),
}


# Tables that replaced something on an older database, and what to change there when schema.sql
# first creates them.
REPLACEMENTS = {
    # Exports were files in one host's instance folder before export_file: not carried over.
    "export_file": "UPDATE export_job SET status = 'expired' WHERE status = 'done'",
}


# Columns added to a table after its first release: SQLite's CREATE TABLE IF NOT EXISTS leaves
# an older table as it was, so init adds each missing one (with its default and CHECK).
ADDED_COLUMNS = {
    ("export_job", "kind"): "VARCHAR(3) NOT NULL DEFAULT 'csv' CHECK (kind IN ('csv', 'pdf'))",
    ("export_job", "due_at"): "DATETIME",
    ("export_job", "attempts"): "INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)",
    ("appointment", "confirmed_at"): "DATETIME",
    ("appointment", "checked_in_at"): "DATETIME",
    ("appointment", "started_at"): "DATETIME",
    ("appointment", "ended_at"): "DATETIME",
    ("appointment", "no_show_auto"): "INTEGER NOT NULL DEFAULT 0 CHECK (no_show_auto IN (0, 1))",
    ("appointment", "no_show_undone_at"): "DATETIME",
    ("appointment", "late_cancel"): "INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1))",
    ("appointment", "overbook_reason"): "TEXT CHECK (overbook_reason <> '')",
    ("appointment", "overbook"): "INTEGER NOT NULL DEFAULT 0 CHECK (overbook IN (0, 1) AND "
                                 "(overbook = 0 OR overbook_reason IS NOT NULL))",
}

# Indexes whose definition changed after a release: init drops one whose SQL lacks the marker,
# and schema.sql creates it anew (in the same transaction as the columns it names).
REPLACED_INDEXES = {
    # Overbooked appointments hold no slot of the doctor's (hms/overbooking.py).
    "appointment_live_doctor_slot": "overbook",
}

# Columns that a release left behind, and why: init drops each one still there (SQLite 3.35+
# rewrites the table; nothing indexes, checks or refers to these columns, which DROP COLUMN
# requires). schema.postgres.sql drops them on PostgreSQL.
DROPPED_COLUMNS = {
    # Never set or shown by any version; photos are in profile_photo (hms/photos.py).
    ("patient", "profile_photo_url"): "replaced by profile_photo",
}

_SENT_COLUMNS = "id, status, attempts, last_error, claimed_at, sent_at"
# Tables whose CHECK changed after a release, which SQLite cannot alter: when the table's SQL
# lacks the marker, init renames it, lets schema.sql create the new one, and copies the rows
# with this statement. Notices from before leases were all sent, failed or died long ago: they
# are kept as history, already expired.
REBUILDS = {
    "reminder": ("'unknown'", f"INSERT INTO reminder ({_SENT_COLUMNS}, appointment_id, due_at, "
                 f"expires_at, message_id) SELECT {_SENT_COLUMNS}, appointment_id, claimed_at, "
                 "claimed_at, '<reminder-' || id || '@hms.invalid>' FROM _old_reminder"),
    "report_send": ("'unknown'", f"INSERT INTO report_send ({_SENT_COLUMNS}, doctor_id, period, "
                    f"due_at, expires_at, message_id) SELECT {_SENT_COLUMNS}, doctor_id, period, "
                    "claimed_at, claimed_at, '<report-' || id || '@hms.invalid>' "
                    "FROM _old_report_send"),
}


def _set_aside_for_rebuild() -> list[str]:
    """Rename each table of REBUILDS that has the old shape (and drop its indexes, whose names
    the new table takes); returns the tables set aside."""
    aside = []
    for table, (marker, _copy) in REBUILDS.items():
        row = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (table,)).fetchone()
        if row and marker not in row[0]:
            for index in db.get_indexes(table):
                if not index.name.startswith("sqlite_autoindex"):
                    db.execute_sql(f'DROP INDEX "{index.name}"')
            db.execute_sql(f'ALTER TABLE "{table}" RENAME TO "_old_{table}"')
            aside.append(table)
    return aside


def init_schema() -> None:
    """Apply the engine's schema (schema.sql, or schema.postgres.sql on PostgreSQL); every
    statement may run again, so running it twice is harmless. Then gather the planner's
    statistics, which a new index needs."""
    with db.connection_context():
        if is_sqlite():
            sql = SCHEMA_PATH.read_text()
            new = [t for t in (*BACKFILLS, *REPLACEMENTS) if t not in db.get_tables()]
            with db.atomic():
                aside = _set_aside_for_rebuild()
                # Before schema.sql, whose indexes may name the added columns.
                tables = db.get_tables()
                for (table, column), definition in ADDED_COLUMNS.items():
                    if table in tables and column not in {c.name for c in
                                                          db.get_columns(table)}:
                        db.execute_sql(
                            f'ALTER TABLE "{table}" ADD COLUMN "{column}" {definition}')
                for table, column in DROPPED_COLUMNS:
                    if table in tables and column in {c.name for c in db.get_columns(table)}:
                        db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
                for index, marker in REPLACED_INDEXES.items():
                    row = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                         "AND name = ?", (index,)).fetchone()
                    if row and marker not in row[0]:
                        db.execute_sql(f'DROP INDEX "{index}"')
            db.connection().executescript(sql)
            with db.atomic():
                for table in aside:
                    db.execute_sql(REBUILDS[table][1])
                    db.execute_sql(f'DROP TABLE "_old_{table}"')
            for table in new:  # created just now, on a database that may hold rows already
                db.execute_sql({**BACKFILLS, **REPLACEMENTS}[table])
            # Earlier versions could store a blank e-mail as ''; it means "none". (A table made
            # by today's schema.sql refuses '' itself; SQLite cannot add that CHECK to an older
            # one.)
            db.execute_sql("UPDATE users SET email = NULL WHERE email = ''")
        else:
            # One script in one transaction (psycopg runs several statements when given no
            # parameters); function bodies hold semicolons, so it is not split.
            with db.atomic():
                db.execute_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
                db.connection().execute(POSTGRES_SCHEMA_PATH.read_text())
        gather_statistics()


# Rows SQLite samples per index when it analyses: bounded work on a large database, and enough
# for the planner to tell a selective index from a poor one.
ANALYSIS_LIMIT = 1000


def is_sqlite() -> bool:
    """Whether the app's database is SQLite (else PostgreSQL)."""
    return isinstance(db.obj, SqliteDatabase)


def gather_statistics() -> None:
    """Refresh the query planner's statistics (SQLite's ANALYZE; without them it picks poor
    plans on a large hospital). Run at init and every hour by the worker."""
    if is_sqlite():
        db.execute_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    db.execute_sql("ANALYZE")


def init_app(app: Flask) -> None:
    """Bind the database to the app's configuration and to the request cycle."""
    if db.obj is not None and not db.is_closed():
        db.close()  # the binding it replaces (an earlier app in this process) lets go first
    db.initialize(open_database(app.config["DATABASE"], app.instance_path))

    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()


# SQLite lets one writer at a time in, and makes the others wait in its busy handler, which
# polls in sleeps of up to 100 ms: under load a waiting writer wakes long after the lock is
# free (bookings at 8 clients: p99 1.3 s). So HMS's writers of one database file first queue
# for an flock on a file beside it ("<database>-writers"): the kernel wakes the next one the
# moment the lock is released, in every process and thread alike, and frees it if its holder
# dies. SQLite's own lock and busy timeout stay the guarantee; the flock only orders the queue.
_writer = threading.local()


def _writers_lock() -> int | None:
    """This thread's descriptor of the database's writers' lock file (None: no file)."""
    path = db.obj.database
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    if getattr(_writer, "path", None) != path:  # one open file per thread, for its database
        if getattr(_writer, "fd", None) is not None:
            os.close(_writer.fd)
        _writer.fd, _writer.path = None, None
        _writer.fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        _writer.path = path
    return _writer.fd


@contextmanager
def write_transaction():
    """A transaction that takes the write lock at once (SQLite's BEGIN IMMEDIATE), so that the
    checks a booking makes and the row it writes cannot interleave with another writer; on
    SQLite, after its turn in the writers' queue. Nested, it is a savepoint."""
    if not is_sqlite():
        # PostgreSQL at READ COMMITTED: rows are locked as they are written, and the unique
        # indexes are the guarantee (a lost race is an IntegrityError the caller turns into
        # "that slot was just taken").
        with db.atomic():
            yield
        return
    fd = None if getattr(_writer, "depth", 0) else _writers_lock()
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    _writer.depth = getattr(_writer, "depth", 0) + 1
    try:
        with db.atomic("IMMEDIATE"):
            yield
    finally:
        _writer.depth -= 1
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
