"""PostgreSQL as the road beyond one machine: a SQLite hospital moved over whole by `hms
copy-database`, and served from PostgreSQL afterwards. (Every other test runs on PostgreSQL
in the suite's second pass: `--engine postgresql`.)"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from hms.db import db
from hms.models import (
    Appointment,
    AppointmentDay,
    ExportFile,
    ExportJob,
    HistoryPdf,
    Patient,
    PhoneSearch,
    User,
)
from support import AuthActions, make_app


@pytest.fixture
def sqlite_hospital(tmp_path, redis_url):
    """The demo hospital in a SQLite file, with an export and a kept PDF (binary columns)."""
    location = str(tmp_path / "source" / "hms.sqlite3")
    app = make_app(tmp_path / "source", redis_url, DATABASE=location)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    anna = Patient.get(Patient.full_name == "Anna Schmidt")
    job = ExportJob.create(owner=anna.user, patient=anna, status="done", progress=100,
                           expires_at=dt.datetime(2030, 1, 1))
    ExportFile.create(job=job, data=b"Date,Time\r\n\x00\xff")
    HistoryPdf.create(patient=anna, digest="d" * 64, pdf=b"%PDF-1.7 \x00\xff")
    # A reschedule whose original was written after it (as an import might): its key points
    # at a later row.
    first = Appointment.select().order_by(Appointment.id).first()
    moved = Appointment.create(patient=first.patient, doctor=first.doctor, date=first.date,
                               time=first.time, status="rescheduled", reason="moved")
    Appointment.update(rescheduled_from=moved).where(Appointment.id == first.id).execute()
    return app, location


@pytest.fixture
def empty_postgres(postgres, request):
    name = f"copy_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: (db.close(), postgres.drop(name)))  # the apps' connection too
    return postgres.create(name)


def counts(*models) -> list[int]:
    return [m.select().count() for m in models]


MODELS = (User, Patient, Appointment, AppointmentDay, PhoneSearch, ExportFile, HistoryPdf)


def test_a_hospital_moves_from_sqlite_to_postgresql_whole(sqlite_hospital, empty_postgres,
                                                          tmp_path, redis_url):
    source_app, source = sqlite_hospital
    before = counts(*MODELS)
    anna_visits = Appointment.select().join(Patient).where(
        Patient.full_name == "Anna Schmidt").count()
    result = source_app.test_cli_runner().invoke(args=["copy-database", source, empty_postgres])
    assert result.exit_code == 0, result.output
    assert "every table's row count matches" in result.output
    assert f"appointment: {before[2]} rows" in result.output

    app = make_app(tmp_path / "target", redis_url, DATABASE=empty_postgres)
    assert counts(*MODELS) == before and all(before)
    # The planner's statistics are of the copied rows, not of the empty tables.
    from hms.db import db

    with db.connection_context():
        [(estimate,)] = db.execute_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'appointment'").fetchall()
    assert estimate == before[2]
    first = Appointment.select().order_by(Appointment.id).first()
    assert first.rescheduled_from.reason == "moved"  # linked to a row copied after it
    assert bytes(ExportFile.get().data) == b"Date,Time\r\n\x00\xff"
    assert bytes(HistoryPdf.get().pdf) == b"%PDF-1.7 \x00\xff"
    client = app.test_client()
    AuthActions(client).login("anna", "demo-pass-123")  # password hashes came along
    history = client.get("/me/history")
    assert history.status_code == 200 and "Anna Schmidt" in history.text
    # The ids go on from the copied ones: a new row does not collide with a copied one.
    newest = User.create(username="after.copy", role="admin", created_at=dt.datetime(2030, 1, 1))
    assert newest.id > max(u.id for u in User.select().where(User.id != newest.id))
    assert Appointment.select().join(Patient).where(
        Patient.full_name == "Anna Schmidt").count() == anna_visits


def test_the_copy_refuses_a_target_that_holds_a_hospital(sqlite_hospital, empty_postgres):
    source_app, source = sqlite_hospital
    runner = source_app.test_cli_runner()
    assert runner.invoke(args=["copy-database", source, empty_postgres]).exit_code == 0
    again = runner.invoke(args=["copy-database", source, empty_postgres])
    assert again.exit_code != 0 and "already holds a hospital" in again.output


def test_the_copy_goes_only_into_postgresql(sqlite_hospital, tmp_path):
    source_app, source = sqlite_hospital
    result = source_app.test_cli_runner().invoke(
        args=["copy-database", source, str(tmp_path / "other.sqlite3")])
    assert result.exit_code != 0 and "must be PostgreSQL" in result.output
