"""`hms backup` and `hms restore`, on the engine of the run: a backup taken while bookings go
on is one consistent moment of the hospital, and restores as it was."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest

from hms.backups import BackupError, backup
from hms.clock import clinic_today
from hms.db import db, is_sqlite
from hms.models import Appointment, AppointmentTally, DoctorAvailability, Patient
from hms.scheduling import SchedulingError, book_appointment
from support import wait_for


def counts() -> dict:
    """What a consistent copy must agree on: the appointments, and the tallies the triggers
    keep of them in the same transactions."""
    return {"appointments": Appointment.select().count(),
            "tallied": sum(t.appointments for t in AppointmentTally.select()),
            "patients": Patient.select().count()}


def test_a_backup_taken_during_bookings_restores_consistent(app, runner, people, tmp_path):
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    with app.app_context():
        start = clinic_today() + dt.timedelta(days=1)
    slots = [(start + dt.timedelta(days=d), dt.time(h, m))  # within the booking horizon
             for d in range(25) for h in range(8, 18) for m in (0, 30)]
    DoctorAvailability.insert_many([{"doctor": doctor.id, "date": d, "time_slot": t,
                                     "is_available": True} for d, t in slots]).execute()
    booked, refused, stop = [], [], threading.Event()

    def book() -> None:
        with app.app_context(), db.connection_context():
            for day, time in slots:
                if stop.is_set():
                    return
                try:
                    booked.append(book_appointment(patient, doctor, day, time, "Backup test",
                                                   patient.user).id)
                except SchedulingError as error:
                    refused.append(str(error))

    booker = threading.Thread(target=book)
    booker.start()
    try:
        assert wait_for(lambda: len(booked) >= 20), refused[:3]
        before = len(booked)
        path = tmp_path / "hospital.backup"
        result = runner.invoke(args=["backup", str(path)])
        after = len(booked)
    finally:
        stop.set()
        booker.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and path.stat().st_mode & 0o777 == 0o600
    assert after > before, "no booking happened during the backup: nothing was proved"
    total = counts()
    # Bring the backup back over the live database, which has moved on since.
    result = runner.invoke(args=["restore", "--yes", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.connection_context():
        restored = counts()
        assert restored["tallied"] == restored["appointments"]  # one moment, not a smear
        assert before <= restored["appointments"] <= total["appointments"]
        assert restored["patients"] == total["patients"]
        if is_sqlite():
            assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        # The restored hospital takes bookings again.
        day, time = slots[-1]
        Appointment.delete().where(Appointment.date == day, Appointment.time == time).execute()
        assert book_appointment(patient, doctor, day, time, "After", patient.user).id


@pytest.mark.sqlite_only
def test_a_sqlite_backup_is_a_database_file_that_passes_its_checks(app, people, tmp_path):
    path = tmp_path / "copy.sqlite3"
    with app.app_context(), db.connection_context():
        backup(path)
        expected = counts()["appointments"]
        with pytest.raises(BackupError, match="exists already"):
            backup(path)
    copy = sqlite3.connect(path)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM appointment").fetchone()[0] == expected
    copy.close()


def test_restore_refuses_what_is_not_a_backup(app, runner, tmp_path):
    missing = runner.invoke(args=["restore", "--yes", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "is not a file" in missing.output
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database")
    result = runner.invoke(args=["restore", "--yes", str(junk)])
    assert result.exit_code != 0 and "Traceback" not in result.output
