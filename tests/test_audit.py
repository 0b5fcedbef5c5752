"""The audit trail of reads: appended in group commits after the page is built, never lost, and
a read whose entry cannot be written is refused rather than shown unrecorded."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from hms import audit
from hms.models import AuditLog
from racing import Browser
from support import refuse_inserts

READERS = 6


@pytest.mark.sqlite_only  # SQLite's one write lock; PostgreSQL's readers never wait for it
def test_reads_waiting_for_the_write_lock_go_in_together_and_none_is_lost(app, people,
                                                                          live_server):
    patient = people.patient("pat.one")
    sessions = [Browser(live_server) for _ in range(READERS)]
    for session in sessions:
        session.log_in("admin")
    # Another writer (a booking, say) holds SQLite's write lock while the reads arrive.
    writer = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    statuses: list[int] = []

    def read(session: Browser) -> None:
        statuses.append(session.get(f"/admin/patients/{patient.id}").status)

    threads = [threading.Thread(target=read, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(audit._queue) < READERS - 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # one request is writing (and waiting); the rest queue behind it
    queued = len(audit._queue)
    writer.execute("COMMIT")
    writer.close()
    for thread in threads:
        thread.join(timeout=30)
    assert queued == READERS - 1  # they will go in one transaction, not one each
    assert statuses == [200] * READERS
    reads = AuditLog.select().where(AuditLog.action == "read", AuditLog.patient == patient)
    assert reads.count() == READERS


def test_a_read_that_cannot_be_recorded_is_refused(app, people, client, auth):
    patient = people.patient("pat.one")
    auth.login("admin")
    undo = refuse_inserts("audit_log")
    page = client.get(f"/admin/patients/{patient.id}")
    assert page.status_code == 503 and "Pat One" not in page.text
    assert "could not be opened" in page.text and audit._queue == []
    undo()
    page = client.get(f"/admin/patients/{patient.id}")
    assert page.status_code == 200 and "Pat One" in page.text
    assert AuditLog.select().where(AuditLog.action == "read").count() == 1


def test_a_refused_read_is_not_recorded(app, people, client, auth):
    auth.login("dr.two")  # not Pat One's doctor
    assert client.get(f"/patients/{people.patient('pat.one').id}").status_code == 404
    assert AuditLog.select().count() == 0


# --- the patient's own view: who has seen my record ---------------------------------------------

def test_a_patient_sees_which_staff_read_their_record_and_when(app, client, auth, people):
    import csv
    import datetime as dt
    import io

    from hms.models import Appointment

    patient = people.patient("pat.one")
    Appointment.create(patient=patient, doctor=people.doctor("dr.one"),
                       date=dt.date(2027, 6, 1), time=dt.time(9), status="completed")
    auth.login("dr.one")
    assert client.get(f"/patients/{patient.id}").status_code == 200
    auth.logout()
    auth.login("admin")
    assert client.get(f"/patients/{patient.id}/history.csv").status_code == 200
    assert client.get(f"/admin/patients/{people.patient('pat.two').id}").status_code == 200
    auth.logout()
    auth.login("pat.one")
    client.get("/me/history")  # their own reads are not on it
    page = client.get("/me/access")
    assert page.status_code == 200 and "Who has seen my record" in page.text
    rows = page.text[page.text.index("<tbody>"):]
    assert rows.index("Administrator") < rows.index("Doctor (Dr Ada One)")  # newest first
    assert "downloaded your history (CSV)" in rows and "read your medical history" in rows
    assert "15 Jun 2027 10:00 BST" in rows  # clinic time, the zone named
    assert rows.count("<tr>") == 2  # not Pat Two's entry, nor Pat One's own reads
    download = client.get("/me/access.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in download.headers["Cache-Control"]
    lines = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert lines[0] == ["When", "Who", "What"] and len(lines) == 3
    assert lines[2][1:] == ["Doctor (Dr Ada One)", "read your medical history"]


def test_only_the_patient_sees_their_access_page(client, auth):
    for username in ("dr.one", "desk", "admin"):
        auth.login(username)
        assert client.get("/me/access").status_code == 403
        assert client.get("/me/access.csv").status_code == 403
        auth.logout()
