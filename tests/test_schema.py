"""schema.sql is the schema of record: the models must agree with it, and it must hold the
invariants itself."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from peewee import IntegrityError, PostgresqlDatabase, SqliteDatabase

from hms.db import POSTGRES_SCHEMA_PATH, SCHEMA_PATH, SQLITE_PRAGMAS
from hms.models import MODELS, SQLITE_ONLY, STATUSES

ENGINES = ["sqlite", "postgresql"]


def _normalise(sql: str | None) -> str:
    return re.sub(r"\s+", " ", (sql or "").replace('"', "")).strip().lower()


def describe(database) -> dict:
    """Tables, columns (type, nullability, key), foreign keys and indexes, as the engine sees
    them. PostgreSQL's trigram indexes (the searches' means there) are the schema's own."""
    shape = {}
    for table in database.get_tables():
        shape[table] = {
            "columns": {c.name: (c.data_type.upper(), c.null, c.primary_key)
                        for c in database.get_columns(table)},
            "foreign_keys": sorted((f.column, f.dest_table, f.dest_column)
                                   for f in database.get_foreign_keys(table)),
            "indexes": {i.name: (tuple(i.columns), i.unique,
                                 _normalise(i.sql.partition(" WHERE ")[2]) if i.sql else "")
                        for i in database.get_indexes(table) if not i.name.endswith("_trgm")},
        }
    return shape


class Raw:
    """Plain SQL on either engine, as the tests write it: '?' placeholders, and rows with
    dates and times as ISO text (SQLite keeps them as text)."""

    def __init__(self, database) -> None:
        self.database = database
        self.postgres = isinstance(database, PostgresqlDatabase)

    def __call__(self, sql: str, params=()) -> list[tuple]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self.database.execute_sql(sql, params)
        if cursor.description is None:
            return []
        return [tuple(v.isoformat() if isinstance(v, dt.date | dt.time) else v for v in row)
                for row in cursor.fetchall()]


def _postgres_database(postgres, request, setup: str):
    name = f"schema_{uuid.uuid4().hex[:12]}"
    postgres.create(name)
    database = PostgresqlDatabase(name, host="127.0.0.1", port=postgres.port, user="hms")
    database.connection().execute(setup)
    request.addfinalizer(lambda: (database.close(), postgres.drop(name)))
    return database


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def from_schema(engine, tmp_path, request):
    """A database made from the engine's schema of record."""
    if engine == "postgresql":
        return _postgres_database(request.getfixturevalue("postgres"), request,
                                  POSTGRES_SCHEMA_PATH.read_text())
    database = SqliteDatabase(str(tmp_path / "schema.sqlite3"), pragmas=SQLITE_PRAGMAS)
    database.connection().executescript(SCHEMA_PATH.read_text())
    request.addfinalizer(database.close)
    return database


@pytest.fixture
def sqlite_schema(tmp_path):
    """schema.sql alone, for what only SQLite has (its FTS5 indexes, older databases)."""
    database = SqliteDatabase(str(tmp_path / "schema.sqlite3"), pragmas=SQLITE_PRAGMAS)
    database.connection().executescript(SCHEMA_PATH.read_text())
    yield database
    database.close()


def _json_valid_function() -> str:
    """schema.postgres.sql's json_valid(), which the models' CHECK on medicines calls."""
    text = POSTGRES_SCHEMA_PATH.read_text()
    start = text.index("CREATE OR REPLACE FUNCTION json_valid")
    return text[start:text.index("END $$;", start) + len("END $$;")]


@pytest.fixture
def from_models(engine, tmp_path, request):
    """A database made by Peewee from the models alone."""
    if engine == "postgresql":
        database = _postgres_database(request.getfixturevalue("postgres"), request,
                                      _json_valid_function())
        models = [m for m in MODELS if m not in SQLITE_ONLY]
    else:
        database = SqliteDatabase(str(tmp_path / "models.sqlite3"), pragmas=SQLITE_PRAGMAS)
        request.addfinalizer(database.close)
        models = MODELS
    # WITHOUT ROWID is SQLite's storage of a table (PostgreSQL has no rowid to leave out).
    rowless = [m for m in models if engine == "postgresql" and m._meta.without_rowid]
    for model in rowless:
        model._meta.without_rowid = False
    try:
        with database.bind_ctx(models):
            database.create_tables(models)
    finally:
        for model in rowless:
            model._meta.without_rowid = True
    database.models = models
    return database


FTS_SHADOWS = ("_config", "_data", "_docsize", "_idx", "_content")


def own_tables(database) -> list[str]:
    """The tables, without the shadow tables SQLite keeps for a full-text index."""
    tables = database.get_tables()
    return sorted(t for t in tables
                  if not any(t.endswith(s) and t[:-len(s)] in tables for s in FTS_SHADOWS))


def test_schema_and_models_have_the_same_tables(from_schema, from_models):
    assert own_tables(from_schema) == sorted(m._meta.table_name for m in from_models.models)
    assert sorted(from_models.get_tables()) == sorted(from_schema.get_tables())


def test_the_postgres_schema_applies_again_without_change(engine, from_schema):
    if engine == "sqlite":
        from_schema.connection().executescript(SCHEMA_PATH.read_text())
    else:
        from_schema.connection().execute(POSTGRES_SCHEMA_PATH.read_text())
    assert Raw(from_schema)("SELECT count(*) FROM appointment_tally") == [(6,)]
    assert Raw(from_schema)("SELECT count(*) FROM user_tally") == [(8,)]


def test_the_postgres_schema_upgrades_notices_and_exports_from_before_leases(engine, clinic):
    if engine == "sqlite":
        pytest.skip("SQLite's upgrade is test_init_fills_the_derived_tables_of_an_older_database")
    database, sql = clinic, Raw(clinic)
    for table in ("reminder", "report_send"):  # back to the first release's shape
        sql(f'DROP INDEX "{table}_status_due_at"')
        sql(f'ALTER TABLE "{table}" DROP COLUMN due_at, DROP COLUMN expires_at, '
            f'DROP COLUMN message_id, DROP COLUMN handed_over, '
            f'DROP CONSTRAINT "{table}_status_check", ADD CONSTRAINT "{table}_status_check" '
            "CHECK (status IN ('sending', 'sent', 'failed'))")
    sql('DROP INDEX "export_job_status_due_at"')
    sql('ALTER TABLE "export_job" DROP COLUMN due_at, DROP COLUMN attempts')
    # Before issue 17: no visit times, no-show, notice or overbook columns (their indexes go
    # with them), the older live-slot index, no recalls.
    sql('ALTER TABLE "appointment" ' + ", ".join(f'DROP COLUMN "{c}"' for c in (
        "overbook", "overbook_reason", "late_cancel", "no_show_undone_at", "no_show_auto",
        "ended_at", "started_at", "checked_in_at", "confirmed_at")))
    sql('CREATE UNIQUE INDEX "appointment_live_doctor_slot" ON "appointment" ("doctor_id", '
        "\"date\", \"time\") WHERE status IN ('booked', 'checked_in', 'completed', 'no_show')")
    sql('DROP TABLE "recall_mail"')
    sql('DROP TABLE "recall"')
    sql('DROP TRIGGER "recall_booked_for" ON "appointment"')
    sql('DROP INDEX "slot_offer_open_expires_at"')  # the waitlist's first release
    sql('CREATE INDEX "slot_offer_status_expires_at" ON "slot_offer" ("status", "expires_at")')
    _insert(database)
    sql("INSERT INTO treatment (appointment_id, author_id, diagnosis, follow_up_date, "
        "created_at) VALUES (1, 1, 'Asthma', '2030-02-04', '2030-01-07 09:30:00')")
    sql("INSERT INTO reminder (appointment_id, status, attempts, claimed_at) "
        "SELECT id, 'sent', 1, '2030-01-06 18:00' FROM appointment")
    database.connection().execute(POSTGRES_SCHEMA_PATH.read_text())
    assert sql("SELECT status, due_at, message_id FROM reminder") == [
        ("sent", "2030-01-06T18:00:00", "<reminder-1@hms.invalid>")]
    sql("UPDATE reminder SET status = 'unknown'")  # the new CHECK
    with pytest.raises(IntegrityError):
        sql("UPDATE reminder SET status = 'lost'")
    [(index,)] = sql("SELECT indexdef FROM pg_indexes WHERE indexname = "
                     "'appointment_live_doctor_slot'")
    assert "NOT overbook" in index
    assert sql("SELECT indexname FROM pg_indexes WHERE indexname IN "
               "('slot_offer_open_expires_at', 'slot_offer_status_expires_at')") == [
        ("slot_offer_open_expires_at",)]
    assert sql("SELECT treatment_id, visit_date, due_date FROM recall") == [
        (1, "2030-01-07", "2030-02-04")]
    database.connection().execute(POSTGRES_SCHEMA_PATH.read_text())  # again: nothing doubles
    assert sql("SELECT count(*) FROM recall") == [(1,)]


def test_the_patient_search_index_is_the_same_and_follows_every_change(sqlite_schema,
                                                                     tmp_path):
    models = SqliteDatabase(str(tmp_path / "models.sqlite3"))
    with models.bind_ctx(MODELS):
        models.create_tables(MODELS)

    def ddl(database):
        return re.sub(r"\(\s+", "(", _normalise(database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'patient_search'").fetchone()[0]))

    assert ddl(sqlite_schema) == ddl(models)
    con = sqlite_schema.connection()
    con.execute("INSERT INTO users (id, username, role, created_at) VALUES (1, 'p', 'patient', "
                "'2027-01-01')")
    con.execute("INSERT INTO patient (id, user_id, full_name, gender, dob, phone) VALUES "
                "(7, 1, 'Grace Hopper', 'female', '1990-01-01', '+44 7000 123456')")

    def found(text: str) -> list[int]:
        return [r[0] for r in con.execute(
            "SELECT rowid FROM patient_search WHERE patient_search MATCH ?", (f'"{text}"',))]

    assert found("race") == [7] and found("123 456") == [] and found("7000 12") == [7]
    con.execute("UPDATE patient SET full_name = 'Ada Lovelace' WHERE id = 7")
    assert found("race") == [] and found("lovel") == [7]
    con.execute("DELETE FROM patient WHERE id = 7")
    assert found("lovel") == []


def test_the_phone_digits_follow_every_change(from_schema):
    """phone_search holds every ending of three digits or more of each phone's digits, through
    inserts, phone changes, other changes and deletes."""
    sql = Raw(from_schema)
    sql("INSERT INTO users (id, username, role, created_at) VALUES (1, 'p', 'patient', "
        "'2027-01-01'), (2, 'q', 'patient', '2027-01-01')")
    sql("INSERT INTO patient (id, user_id, full_name, gender, dob, phone) VALUES "
        "(7, 1, 'Grace Hopper', 'female', '1990-01-01', '+44 (20) 7946-0018'), "
        "(8, 2, 'Ada Lovelace', 'female', '1990-01-01', '12')")

    def rows() -> list[tuple[str, int]]:
        return sorted(sql("SELECT digits, patient_id FROM phone_search"),
                      key=lambda row: (row[1], row[0]))

    endings = sorted("442079460018"[i:] for i in range(10))
    assert rows() == [(d, 7) for d in endings]  # "12" has no ending of three digits
    sql("UPDATE patient SET full_name = 'Grace B. Hopper' WHERE id = 7")
    assert rows() == [(d, 7) for d in endings]
    sql("UPDATE patient SET phone = '555 1515' WHERE id = 7")
    assert rows() == [(d, 7) for d in sorted({"5551515"[i:] for i in range(5)})]
    sql("UPDATE patient SET phone = '0700 123' WHERE id = 8")
    assert ("0700123", 8) in rows() and ("123", 8) in rows()
    assert sql("SELECT patient_id FROM phone_search WHERE digits >= '070' AND digits < '070:'"
               ) == [(8,)]  # a range of the key is "contains these digits"
    sql("DELETE FROM patient WHERE id = 7")
    assert {p for _, p in rows()} == {8}


def test_schema_sql_and_models_agree_on_every_column_key_and_index(from_schema, from_models):
    expected, actual = describe(from_schema), describe(from_models)
    for table in expected:
        assert actual[table]["columns"] == expected[table]["columns"], table
        assert actual[table]["foreign_keys"] == expected[table]["foreign_keys"], table
        assert actual[table]["indexes"] == expected[table]["indexes"], table


def test_the_comparison_notices_a_difference(from_schema, from_models):
    """Guard against a comparison that cannot fail: drop an index and it must show."""
    Raw(from_models)('DROP INDEX "appointment_live_doctor_slot"')
    assert describe(from_models)["appointment"]["indexes"] != \
        describe(from_schema)["appointment"]["indexes"]


def _insert(database, **values):
    row = {"patient_id": 1, "doctor_id": 1, "date": "2030-01-07", "time": "09:00:00",
           "status": "booked", "reason": "", "created_at": "2030-01-01 08:00:00"} | values
    cols = ", ".join(row)
    Raw(database)(f"INSERT INTO appointment ({cols}) VALUES ({', '.join('?' * len(row))})",
                  list(row.values()))


@pytest.fixture
def clinic(from_schema):
    """A department, two doctors and two patients, written with plain SQL."""
    sql = Raw(from_schema)
    sql("INSERT INTO department (id, name) VALUES (1, 'Cardiology')")
    for i, role in enumerate(["doctor", "doctor", "patient", "patient"], start=1):
        sql("INSERT INTO users (id, username, role, created_at) VALUES (?, ?, ?, ?)",
            (i, f"u{i}", role, "2030-01-01 00:00:00"))
    sql("INSERT INTO doctor (id, user_id, full_name, department_id) VALUES (1, 1, 'A', 1), "
        "(2, 2, 'B', 1)")
    sql("INSERT INTO patient (id, user_id, full_name, gender, dob) VALUES "
        "(1, 3, 'P', 'female', '1980-01-01'), (2, 4, 'Q', 'male', '1980-01-01')")
    return from_schema


def test_database_refuses_a_second_live_booking_of_a_doctors_slot(clinic):
    _insert(clinic, patient_id=1)
    with pytest.raises(IntegrityError):
        _insert(clinic, patient_id=2)
    assert Raw(clinic)("SELECT COUNT(*) FROM appointment") == [(1,)]


def test_database_refuses_a_patient_two_live_appointments_at_one_time(clinic):
    _insert(clinic, doctor_id=1)
    with pytest.raises(IntegrityError):
        _insert(clinic, doctor_id=2)


def test_a_cancelled_appointment_frees_the_slot(clinic):
    _insert(clinic, patient_id=1, status="cancelled")
    _insert(clinic, patient_id=2)
    _insert(clinic, patient_id=1, time="09:30:00", status="rescheduled")
    _insert(clinic, patient_id=1, time="09:30:00")
    assert Raw(clinic)("SELECT COUNT(*) FROM appointment") == [(4,)]


@pytest.mark.parametrize("column, value", [
    ("status", "lost"),
    ("doctor_id", 99),          # no such doctor: the foreign key holds
])
def test_database_rejects_bad_appointment_values(clinic, column, value):
    with pytest.raises(IntegrityError):
        _insert(clinic, **{column: value})


@pytest.mark.parametrize("sql", [
    "UPDATE patient SET height_cm = 900 WHERE id = 1",
    "UPDATE patient SET blood_group = 'C+' WHERE id = 1",
    "UPDATE patient SET gender = 'x' WHERE id = 1",
    "UPDATE users SET role = 'superuser' WHERE id = 1",
    "INSERT INTO users (username, role, created_at) VALUES ('u1', 'admin', '2030-01-01')",
    "INSERT INTO users (username, email, role, created_at) "
    "VALUES ('blank', '', 'admin', '2030-01-01')",  # no address is NULL, never ''
    "INSERT INTO working_hours (doctor_id, weekday, start_time, end_time) "
    "VALUES (1, 7, '09:00', '12:00')",
    "INSERT INTO working_hours (doctor_id, weekday, start_time, end_time) "
    "VALUES (1, 1, '12:00', '09:00')",
])
def test_database_checks_enumerations_ranges_and_uniqueness(clinic, sql):
    with pytest.raises(IntegrityError):
        Raw(clinic)(sql)


def test_the_status_tally_follows_every_insert_change_and_delete(clinic):
    def tally() -> dict[str, int]:
        return {s: n for s, n in Raw(clinic)(
            "SELECT status, appointments FROM appointment_tally") if n}

    def counted() -> dict[str, int]:
        return dict(Raw(clinic)("SELECT status, count(*) FROM appointment GROUP BY status"))

    _insert(clinic, patient_id=1)
    _insert(clinic, patient_id=2, time="09:30:00")
    _insert(clinic, patient_id=1, time="10:00:00", status="cancelled")
    assert tally() == counted() == {"booked": 2, "cancelled": 1}
    Raw(clinic)("UPDATE appointment SET status = 'completed' WHERE time = '09:00:00'")
    Raw(clinic)("UPDATE appointment SET reason = 'x'")  # no status change: no count
    assert tally() == counted() == {"booked": 1, "completed": 1, "cancelled": 1}
    Raw(clinic)("DELETE FROM appointment WHERE status = 'cancelled'")
    assert tally() == counted() == {"booked": 1, "completed": 1}
    with pytest.raises(IntegrityError):  # a failed write leaves the tally as it was
        _insert(clinic, patient_id=2, time="09:30:00")
    assert tally() == counted()


DAY_COUNTED = ("SELECT date, doctor_id, " + ", ".join(
    f"sum(CASE WHEN status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)
    + " FROM appointment GROUP BY date, doctor_id")


def _day_rollup(database) -> list[tuple]:
    """The rollup's rows that count something, beside what counting the appointments gives."""
    columns = ", ".join(STATUSES)
    rows = Raw(database)(f"SELECT date, doctor_id, {columns} FROM appointment_day "
                         f"WHERE {' + '.join(STATUSES)} > 0 ORDER BY 1, 2")
    return rows, Raw(database)(DAY_COUNTED + " ORDER BY 1, 2")


def test_the_daily_rollup_follows_every_insert_move_change_and_delete(clinic):
    def day(date: str, doctor: int) -> dict[str, int]:
        rows = Raw(clinic)(f"SELECT {', '.join(STATUSES)} FROM appointment_day WHERE "
                           "date = ? AND doctor_id = ?", (date, doctor))
        return {s: n for s, n in zip(STATUSES, rows[0] if rows else (), strict=False) if n}

    _insert(clinic, patient_id=1)
    _insert(clinic, patient_id=2, time="09:30:00")
    _insert(clinic, patient_id=1, time="10:00:00", status="cancelled")
    assert day("2030-01-07", 1) == {"booked": 2, "cancelled": 1}
    Raw(clinic)("UPDATE appointment SET status = 'completed' WHERE time = '09:00:00'")
    Raw(clinic)("UPDATE appointment SET reason = 'x'")  # nothing counted changes
    assert day("2030-01-07", 1) == {"booked": 1, "completed": 1, "cancelled": 1}
    Raw(clinic)("UPDATE appointment SET doctor_id = 2 WHERE time = '09:30:00'")
    Raw(clinic)("UPDATE appointment SET date = '2030-01-08', status = 'no_show' "
                "WHERE time = '09:00:00'")
    assert day("2030-01-07", 1) == {"cancelled": 1}
    assert day("2030-01-07", 2) == {"booked": 1} and day("2030-01-08", 1) == {"no_show": 1}
    Raw(clinic)("DELETE FROM appointment WHERE status = 'cancelled'")
    assert day("2030-01-07", 1) == {}
    with pytest.raises(IntegrityError):  # a failed write leaves the rollup as it was
        _insert(clinic, patient_id=2, doctor_id=2, time="09:30:00")
    rollup, counted = _day_rollup(clinic)
    assert rollup == counted and len(counted) == 2


def test_each_doctors_patients_follow_every_booking_move_rename_and_delete(clinic):
    def kept() -> list[tuple]:
        return Raw(clinic)("SELECT doctor_id, patient_id, full_name, visits, last_date "
                           "FROM doctor_patient ORDER BY 1, 2")

    def counted() -> list[tuple]:
        return Raw(clinic)(
            "SELECT a.doctor_id, a.patient_id, p.full_name, count(*), max(a.date) FROM "
            "appointment a JOIN patient p ON p.id = a.patient_id GROUP BY 1, 2, 3 ORDER BY 1, 2")

    _insert(clinic, patient_id=1)
    _insert(clinic, patient_id=1, date="2030-01-09", status="cancelled")
    _insert(clinic, patient_id=2, time="09:30:00")
    assert kept() == counted() == [(1, 1, "P", 2, "2030-01-09"), (1, 2, "Q", 1, "2030-01-07")]
    Raw(clinic)("UPDATE appointment SET doctor_id = 2 WHERE patient_id = 2")
    Raw(clinic)("UPDATE appointment SET date = '2030-01-05' WHERE date = '2030-01-09'")
    Raw(clinic)("UPDATE patient SET full_name = 'Pat' WHERE id = 1")
    assert kept() == counted() == [(1, 1, "Pat", 2, "2030-01-07"), (2, 2, "Q", 1, "2030-01-07")]
    Raw(clinic)("DELETE FROM appointment WHERE patient_id = 2")
    Raw(clinic)("DELETE FROM appointment WHERE date = '2030-01-07' AND patient_id = 1")
    assert kept() == counted() == [(1, 1, "Pat", 1, "2030-01-05")]


def test_the_login_tally_and_search_follow_every_change(clinic):
    def tally() -> dict[tuple[str, int], int]:
        return {(r, a): n for r, a, n in Raw(clinic)(
            "SELECT role, is_active, users FROM user_tally") if n}

    def found(text: str) -> list[int]:  # by each engine's means: FTS5, or pg_trgm's ILIKE
        if Raw(clinic).postgres:
            return [r[0] for r in Raw(clinic)("SELECT id FROM users WHERE username ILIKE ? OR "
                                              "email ILIKE ?", (f"%{text}%",) * 2)]
        return [r[0] for r in Raw(clinic)(
            "SELECT rowid FROM user_search WHERE user_search MATCH ?", (f'"{text}"',))]

    assert tally() == {("doctor", 1): 2, ("patient", 1): 2}
    Raw(clinic)("UPDATE users SET is_active = false, email = 'grace@clinic.example' "
                "WHERE id = 3")
    assert tally() == {("doctor", 1): 2, ("patient", 1): 1, ("patient", 0): 1}
    assert found("e@clinic") == [3] and found("boss") == []
    Raw(clinic)("UPDATE users SET role = 'admin', username = 'the.boss' WHERE id = 4")
    assert tally() == {("doctor", 1): 2, ("patient", 0): 1, ("admin", 1): 1}
    assert found("boss") == [4]
    Raw(clinic)("DELETE FROM patient WHERE id = 1")
    Raw(clinic)("DELETE FROM users WHERE id = 3")
    assert tally() == {("doctor", 1): 2, ("admin", 1): 1} and found("clinic") == []


BEFORE_THE_EMAIL_CHECK = """    "email"         VARCHAR(254)            -- walk-in patients may have none yet
                    CHECK ("email" <> ''),"""


def test_a_blank_email_left_by_an_older_version_becomes_none(engine, tmp_path, request):
    """Earlier versions stored one typed space as '' (a second one was a 500): the schema's
    upgrade makes it NULL, no address, and PostgreSQL's then refuses ''."""
    from hms.db import db, init_schema

    if engine == "postgresql":
        database = _postgres_database(request.getfixturevalue("postgres"), request,
                                      POSTGRES_SCHEMA_PATH.read_text())
        Raw(database)('ALTER TABLE "users" DROP CONSTRAINT "users_email_check"')
    else:
        database = SqliteDatabase(str(tmp_path / "old.sqlite3"), pragmas=SQLITE_PRAGMAS)
        schema = SCHEMA_PATH.read_text()
        assert BEFORE_THE_EMAIL_CHECK in schema
        database.connection().executescript(schema.replace(
            BEFORE_THE_EMAIL_CHECK, '    "email" VARCHAR(254),'))
    Raw(database)("INSERT INTO users (username, email, role, created_at) VALUES "
                  "('walk.in', '', 'patient', '2030-01-01'), "
                  "('grace.h', 'grace@test.example', 'patient', '2030-01-01')")
    if engine == "postgresql":
        database.connection().execute(POSTGRES_SCHEMA_PATH.read_text())
        with pytest.raises(IntegrityError):
            Raw(database)("UPDATE users SET email = '' WHERE username = 'grace.h'")
    else:
        database.close()
        db.initialize(SqliteDatabase(str(tmp_path / "old.sqlite3"), pragmas=SQLITE_PRAGMAS))
        init_schema()
        database = db
    with database.connection_context():
        assert Raw(database)("SELECT username, email FROM users ORDER BY id") == [
            ("walk.in", None), ("grace.h", "grace@test.example")]


def test_init_fills_the_derived_tables_of_an_older_database(tmp_path):
    """A database made before the search index and the tally existed gets them filled."""
    from hms.db import db, init_schema

    database = SqliteDatabase(str(tmp_path / "old.sqlite3"), pragmas=SQLITE_PRAGMAS)
    database.connection().executescript(SCHEMA_PATH.read_text())
    database.execute_sql('DROP INDEX "export_job_status_due_at"')
    for column in ("kind", "due_at", "attempts"):  # added later too
        database.execute_sql(f'ALTER TABLE "export_job" DROP COLUMN "{column}"')
    # The reminders' table before leases: a CHECK that SQLite cannot alter.
    database.execute_sql('DROP TABLE "reminder"')
    database.execute_sql("""CREATE TABLE "reminder" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "appointment_id" INTEGER NOT NULL REFERENCES "appointment" ("id") ON DELETE RESTRICT,
        "status" VARCHAR(10) NOT NULL DEFAULT 'sending'
                 CHECK (status IN ('sending', 'sent', 'failed')),
        "attempts" INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0), "last_error" TEXT,
        "claimed_at" DATETIME NOT NULL, "sent_at" DATETIME)""")
    database.execute_sql('CREATE UNIQUE INDEX "reminder_appointment_id" ON "reminder" '
                         '("appointment_id")')
    derived = ("patient_search", "appointment_tally", "appointment_day", "user_search",
               "user_tally", "doctor_patient", "phone_search")
    for name in derived:  # the table and every trigger that keeps it
        for (trigger,) in database.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name != ? "
                "AND sql LIKE ?", (name, f'%"{name}"%')).fetchall():
            database.execute_sql(f'DROP TRIGGER "{trigger}"')
        database.execute_sql(f'DROP TABLE "{name}"')
    database.execute_sql('DROP TABLE "export_file"')  # exports were files then
    # Before issue 17: the appointment without the visit's times, no-show, notice and
    # overbooking columns, its live-slot index without "NOT overbook", no recalls yet, and
    # the audit log's plain patient index.
    for index in ("appointment_live_doctor_slot", "appointment_overbook_date",
                  "audit_log_patient_id_created_at"):
        database.execute_sql(f'DROP INDEX "{index}"')
    for column in ("overbook", "overbook_reason", "late_cancel", "no_show_undone_at",
                   "no_show_auto", "ended_at", "started_at", "checked_in_at", "confirmed_at"):
        database.execute_sql(f'ALTER TABLE "appointment" DROP COLUMN "{column}"')
    database.execute_sql(
        'CREATE UNIQUE INDEX "appointment_live_doctor_slot" ON "appointment" ("doctor_id", '
        "\"date\", \"time\") WHERE status IN ('booked', 'checked_in', 'completed', 'no_show')")
    database.execute_sql('CREATE INDEX "audit_log_patient_id" ON "audit_log" ("patient_id")')
    # The waitlist's first release indexed every offer by status, answered ones too.
    database.execute_sql('DROP INDEX "slot_offer_open_expires_at"')
    database.execute_sql('CREATE INDEX "slot_offer_status_expires_at" ON "slot_offer" '
                         '("status", "expires_at")')
    database.execute_sql('DROP TABLE "recall_mail"')
    database.execute_sql('DROP VIEW "recall_answer"')
    database.execute_sql('DROP TABLE "recall"')  # and the triggers that keep it
    for name in ("recall_booked_for_insert", "recall_booked_for_update",
                 "recall_booked_for_delete"):
        database.execute_sql(f'DROP TRIGGER "{name}"')
    sql = database.execute_sql
    sql("INSERT INTO department (id, name) VALUES (1, 'Cardiology')")
    sql("INSERT INTO users (id, username, role, created_at) VALUES "
        "(1, 'doctor.a', 'doctor', '2030-01-01'), (2, 'grace.h', 'patient', '2030-01-01')")
    sql("INSERT INTO doctor (id, user_id, full_name, department_id) VALUES (1, 1, 'A', 1)")
    sql("INSERT INTO patient (id, user_id, full_name, gender, dob) VALUES "
        "(1, 2, 'Grace Hopper', 'female', '1980-01-01')")
    sql("UPDATE patient SET phone = '0700 123' WHERE id = 1")  # no trigger left to index it
    _insert(database)
    sql("INSERT INTO export_job (owner_id, patient_id, status, created_at, expires_at) VALUES "
        "(2, 1, 'done', '2030-01-01', '2030-01-08'), (2, 1, 'failed', '2030-01-01', "
        "'2030-01-08')")
    sql("INSERT INTO reminder (appointment_id, status, attempts, claimed_at, sent_at) "
        "SELECT id, 'sent', 1, '2030-01-06 18:00:00', '2030-01-06 18:00:01' FROM appointment")
    sql("INSERT INTO treatment (appointment_id, author_id, diagnosis, follow_up_date, "
        "created_at) VALUES (1, 1, 'Asthma', '2030-02-04', '2030-01-07 09:30:00'), "
        "(1, 1, 'Noted', NULL, '2030-01-07 09:40:00')")
    database.close()
    db.initialize(SqliteDatabase(str(tmp_path / "old.sqlite3"), pragmas=SQLITE_PRAGMAS))
    def filled() -> None:
        with db.connection_context():
            sql = db.execute_sql
            assert sql("SELECT rowid FROM patient_search WHERE patient_search MATCH "
                       "'\"hopp\"'").fetchall() == [(1,)]
            assert sql("SELECT rowid FROM user_search WHERE user_search MATCH '\"ace.h\"'"
                       ).fetchall() == [(2,)]
            assert sql("SELECT appointments FROM appointment_tally WHERE status = "
                       "'booked'").fetchone() == (1,)
            assert sql("SELECT role, users FROM user_tally WHERE is_active AND users"
                       ).fetchall() == [("doctor", 1), ("patient", 1)]
            assert sql("SELECT * FROM doctor_patient").fetchall() == [
                (1, 1, "Grace Hopper", 1, "2030-01-07")]
            assert sql("SELECT * FROM phone_search").fetchall() == [
                ("00123", 1), ("0123", 1), ("0700123", 1), ("123", 1), ("700123", 1)]
            assert sql("SELECT status FROM export_job ORDER BY id").fetchall() == [
                ("expired",), ("failed",)]  # its file was on one host's disk: not carried over
            assert {"kind", "due_at", "attempts"} <= {c.name for c in db.get_columns("export_job")}
            assert sql("SELECT status, attempts, sent_at, message_id FROM reminder").fetchall() \
                == [("sent", 1, "2030-01-06 18:00:01", "<reminder-1@hms.invalid>")]
            table = sql("SELECT sql FROM sqlite_master WHERE name = 'reminder'").fetchone()[0]
            assert "'unknown'" in table and "_old_" not in " ".join(db.get_tables())
            assert [i.name for i in db.get_indexes("reminder")] == [
                "reminder_appointment_id", "reminder_status_due_at"]
            rollup, counted = _day_rollup(db)
            assert rollup == counted == [("2030-01-07", 1, 1, 0, 0, 0, 0, 0)]
            columns = {c.name for c in db.get_columns("appointment")}
            assert {"confirmed_at", "started_at", "no_show_auto", "late_cancel",
                    "overbook"} <= columns
            index = sql("SELECT sql FROM sqlite_master WHERE name = "
                        "'appointment_live_doctor_slot'").fetchone()[0]
            assert "NOT overbook" in index  # the older index was replaced
            assert sql("SELECT treatment_id, patient_id, doctor_id, visit_date, due_date "
                       "FROM recall").fetchall() == [(1, 1, 1, "2030-01-07", "2030-02-04")]
            assert {i.name for i in db.get_indexes("audit_log")} >= {
                "audit_log_patient_id_created_at"}
            assert "audit_log_patient_id" not in {i.name for i in db.get_indexes("audit_log")}
            offers = {i.name for i in db.get_indexes("slot_offer")}
            assert "slot_offer_open_expires_at" in offers
            assert "slot_offer_status_expires_at" not in offers

    init_schema()
    filled()
    init_schema()  # again: nothing doubles
    filled()


def test_a_recall_follows_the_bookings_that_answer_it(clinic):
    """booked_for is the day of the first live booking with the recall's doctor after its
    visit, through bookings, cancellations, moves and deletes, on either engine."""
    sql = Raw(clinic)
    _insert(clinic, date="2030-01-07", status="completed")
    sql("INSERT INTO treatment (id, appointment_id, author_id, diagnosis, follow_up_date, "
        "created_at) VALUES (1, 1, 1, 'Asthma', '2030-02-04', '2030-01-07 09:30:00')")
    sql("INSERT INTO recall (treatment_id, patient_id, doctor_id, visit_date, due_date, "
        "created_at) VALUES (1, 1, 1, '2030-01-07', '2030-02-04', '2030-01-07 09:30:00')")

    def booked_for():
        return sql("SELECT booked_for FROM recall")[0][0]

    assert booked_for() is None
    _insert(clinic, doctor_id=2, date="2030-02-01")  # another doctor answers nothing
    assert booked_for() is None
    _insert(clinic, date="2030-02-03", time="10:00:00")
    _insert(clinic, date="2030-02-05", time="10:00:00")
    assert booked_for() == "2030-02-03"
    sql("UPDATE appointment SET status = 'cancelled' WHERE date = '2030-02-03'")
    assert booked_for() == "2030-02-05"
    sql("UPDATE appointment SET status = 'no_show' WHERE date = '2030-02-05'")
    assert booked_for() is None  # a missed follow-up leaves the recall open
    sql("UPDATE appointment SET status = 'booked', date = '2030-02-06' "
        "WHERE date = '2030-02-05'")
    assert booked_for() == "2030-02-06"
    sql("DELETE FROM appointment WHERE date = '2030-02-06'")
    assert booked_for() is None
