"""Exports of a patient's history: CSV and PDF at once, and background CSV exports (run in-process
by Huey's immediate mode, or held in a memory queue until the test runs them)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import tasks
from hms import exporting
from hms.clock import utc_now
from hms.models import Appointment, AuditLog, Doctor, ExportFile, ExportJob, HistoryPdf, Treatment
from support import AuthActions, csrf_token, free_port, make_app, refuse_inserts, run_queued

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}
HEADER = ["Date", "Time", "Doctor", "Specialization", "Status", "Reason", "Diagnosis",
          "Prescription", "Medicines", "Follow-up"]
# Pat One's history, newest first, as the CSV has it: a cancelled visit without a treatment,
# a visit whose typed text looks like spreadsheet formulas, and a visit with two medicines.
PAT_ONE_ROWS = [
    ["2025-05-05", "11:00", "Dr Bo Two", "Dermatology", "cancelled", "Rash", "", "", "", ""],
    ["2025-04-02", "10:30", "Dr Ada One", "Cardiology", "completed",
     "'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1 sugar", "'@SUM(A1:A9)",
     "'-Insulin 4 units, before meals, 30 days", ""],
    ["2025-03-10", "09:00", "Dr Ada One", "Cardiology", "completed", "Cough, since Monday",
     "Bronchitis", "Rest and fluids",
     "Amoxicillin 500 mg, 3x daily, 7 days; Paracetamol 1 g, as needed, 5 days", "2025-03-24"],
]


def visit(people, patient: str, doctor: str, day: dt.date, at: dt.time, status: str,
          reason: str) -> Appointment:
    return Appointment.create(patient=people.patient(patient), doctor=people.doctor(doctor),
                              date=day, time=at, status=status, reason=reason)


def treat(people, appt: Appointment, diagnosis: str, prescription: str = "",
          meds: list[tuple] = (), follow_up: dt.date | None = None) -> Treatment:
    medicines = [dict(zip(("name", "dose", "frequency", "days"), m, strict=True)) for m in meds]
    return Treatment.create(appointment=appt, author=appt.doctor.user, diagnosis=diagnosis,
                            prescription=prescription, follow_up_date=follow_up,
                            medicines_json=json.dumps(medicines))


@pytest.fixture
def records(people):
    """Pat One has seen Dr One twice and Dr Two once (cancelled); Pat Two saw Dr Two only."""
    first = visit(people, "pat.one", "dr.one", dt.date(2025, 3, 10), dt.time(9), "completed",
                  "Cough, since Monday")
    treat(people, first, "Bronchitis", "Rest and fluids",
          [("Amoxicillin", "500 mg", "3x daily", 7), ("Paracetamol", "1 g", "as needed", 5)],
          dt.date(2025, 3, 24))
    sneaky = visit(people, "pat.one", "dr.one", dt.date(2025, 4, 2), dt.time(10, 30),
                   "completed", '=HYPERLINK("http://evil.example","x")')
    treat(people, sneaky, "+1 sugar", "@SUM(A1:A9)", [("-Insulin", "4 units", "before meals", 30)])
    visit(people, "pat.one", "dr.two", dt.date(2025, 5, 5), dt.time(11), "cancelled", "Rash")
    other = visit(people, "pat.two", "dr.two", dt.date(2025, 3, 11), dt.time(9), "completed",
                  "Headache")
    treat(people, other, "Migraine")
    return people


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def pdf_text(data: bytes) -> str:
    """The text of a PDF as poppler's pdftotext extracts it."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed: run scripts/test.sh, which installs it")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True, timeout=30)
    return done.stdout.decode()


def start_export(client, data: dict | None = None, htmx: bool = False):
    """Press 'Prepare a CSV export' on the history page the user sees."""
    token = csrf_token(client.get("/", follow_redirects=True).text)
    headers = {**HTMX, "X-CSRFToken": token} if htmx else {}
    form = (data or {}) | ({} if htmx else {"csrf_token": token})
    return client.post("/exports", data=form, headers=headers)


def export_file(job: ExportJob) -> bytes | None:
    """The finished file the database holds for a job."""
    kept = ExportFile.get_or_none(ExportFile.job == job.id)
    return bytes(kept.data) if kept else None


# --- CSV at once -----------------------------------------------------------------------------

def test_patient_downloads_their_history_as_csv(client, auth, records):
    auth.login("pat.one")
    response = client.get("/me/history.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="hms-history-\d+-\d{4}-\d\d-\d\d\.csv"',
                        response.headers["Content-Disposition"])
    assert "private" in response.headers["Cache-Control"]
    assert "no-store" in response.headers["Cache-Control"]
    rows = rows_of(response.data)
    assert rows == [HEADER, *PAT_ONE_ROWS]
    assert "Migraine" not in response.text and "Headache" not in response.text
    assert b"\r\n" in response.data  # RFC 4180 line ends


def test_one_row_per_treatment(client, auth, records):
    first = Appointment.get(Appointment.reason == "Cough, since Monday")
    treat(records, first, "Asthma")
    auth.login("pat.one")
    rows = rows_of(client.get("/me/history.csv").data)
    march = [r for r in rows if r[0] == "2025-03-10"]
    assert sorted(r[6] for r in march) == ["Asthma", "Bronchitis"]
    assert all(r[5] == "Cough, since Monday" for r in march)


def test_a_patient_without_visits_gets_just_the_header(client, auth, records):
    auth.login("pat.two")
    Treatment.delete().execute()
    Appointment.delete().execute()
    assert rows_of(client.get("/me/history.csv").data) == [HEADER]


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+44 1000", "'+44 1000"), ("-3", "'-3"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), ("", ""),
    (None, ""), (7, "7"),
])
def test_cells_that_would_run_as_formulas_get_an_apostrophe(value, expected):
    assert exporting.safe_cell(value) == expected


def test_doctor_downloads_a_patients_csv_and_it_is_audited(client, auth, records):
    patient = records.patient("pat.one")
    auth.login("dr.two")  # saw Pat One once, a cancelled visit: still their patient
    response = client.get(f"/patients/{patient.id}/history.csv")
    assert response.status_code == 200 and rows_of(response.data)[1:] == PAT_ONE_ROWS
    entry = AuditLog.get(AuditLog.action == "export:csv")
    assert (entry.user.username, entry.patient_id, entry.object_type) == \
        ("dr.two", patient.id, "history")


def test_admin_downloads_any_patients_csv(client, auth, records):
    auth.login("admin")
    response = client.get(f"/patients/{records.patient('pat.two').id}/history.csv")
    assert response.status_code == 200
    assert rows_of(response.data)[1][6] == "Migraine"


@pytest.mark.parametrize("suffix", ["csv", "pdf"])
@pytest.mark.parametrize("username, whose, code", [
    ("desk", "pat.one", 403),      # the front desk never sees treatments
    ("pat.one", "pat.one", 403),   # patients use /me/history.*
    ("dr.one", "pat.two", 404),    # a doctor who never saw the patient
    ("dr.one", None, 404),         # no such patient
])
def test_staff_downloads_follow_the_history_rules(client, auth, records, suffix, username,
                                                  whose, code):
    patient_id = records.patient(whose).id if whose else 999_999
    auth.login(username)
    assert client.get(f"/patients/{patient_id}/history.{suffix}").status_code == code
    assert AuditLog.select().where(AuditLog.action.startswith("export")).count() == 0


@pytest.mark.parametrize("url", ["/me/history.csv", "/me/history.pdf", "/patients/1/history.csv",
                                 "/patients/1/history.pdf", "/exports/1",
                                 "/exports/1/download"])
def test_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize("username", ["dr.one", "admin", "desk"])
def test_my_history_downloads_are_for_patients(client, auth, username):
    auth.login(username)
    assert client.get("/me/history.csv").status_code == 403
    assert client.get("/me/history.pdf").status_code == 403


@pytest.mark.parametrize("url", ["/patients/99999999999999999999999/history.csv",
                                 "/patients/-1/history.csv", "/patients/abc/history.pdf"])
def test_malformed_patient_numbers_are_not_found(client, auth, url):
    auth.login("admin")
    assert client.get(url).status_code == 404


# --- PDF -------------------------------------------------------------------------------------

def test_patient_downloads_their_history_as_pdf(client, auth, records):
    auth.login("pat.one")
    page = client.get("/me/history").text  # "Print" is this link: no script needed
    assert '<a class="button secondary" href="/me/history.pdf" download>Print (PDF)</a>' in page
    assert "<script" not in page.split("</head>")[1]
    response = client.get("/me/history.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert re.fullmatch(r'attachment; filename="hms-history-\d+-\d{4}-\d\d-\d\d\.pdf"',
                        response.headers["Content-Disposition"])
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    assert "Medical history: Pat One" in text and "HMS General Hospital" in text
    assert "Bronchitis" in text and "Amoxicillin" in text and "Dr Bo Two" in text
    assert "Migraine" not in text and "Download" not in text


def test_an_unchanged_history_is_not_laid_out_again(client, auth, records, frozen_clock):
    auth.login("pat.one")
    first = client.get("/me/history.pdf").data
    generated = re.search(r"Generated .*\(clinic time\)", pdf_text(first))[0]
    frozen_clock.shift(dt.timedelta(minutes=45))  # within the patient's idle timeout
    again = client.get("/me/history.pdf").data
    assert again == first  # the kept PDF: still says when it was laid out
    assert re.search(r"Generated .*\(clinic time\)", pdf_text(again))[0] == generated
    assert HistoryPdf.select().count() == 1
    treat(records, Appointment.get(Appointment.reason == "Rash"), "Urticaria")
    changed = pdf_text(client.get("/me/history.pdf").data)
    assert "Urticaria" in changed and generated not in changed
    assert HistoryPdf.select().count() == 1  # one kept per patient: the newest


def test_a_kept_pdf_follows_what_it_shows_and_nothing_else(app, client, auth, records):
    """A new PDF when a name it shows or the letterhead changes; the same one when only another
    patient's record does."""
    auth.login("pat.one")
    first = client.get("/me/history.pdf").data
    treat(records, Appointment.get(Appointment.reason == "Headache"), "Tension headache")
    assert client.get("/me/history.pdf").data == first  # pat.two's visit, not pat.one's
    Doctor.update(full_name="Dr Bo Renamed").where(Doctor.full_name == "Dr Bo Two").execute()
    renamed = client.get("/me/history.pdf").data
    assert "Dr Bo Renamed" in pdf_text(renamed) and "Dr Bo Two" not in pdf_text(renamed)
    app.config["CLINIC_NAME"] = "HMS Riverside Clinic"
    assert "HMS Riverside Clinic" in pdf_text(client.get("/me/history.pdf").data)


def test_a_pdf_that_cannot_be_kept_is_still_downloaded(app, client, auth, records):
    refuse_inserts("history_pdf")  # the database refuses to keep it
    auth.login("pat.one")
    response = client.get("/me/history.pdf")
    assert response.status_code == 200 and "Bronchitis" in pdf_text(response.data)
    assert HistoryPdf.select().count() == 0


def test_kept_pdfs_go_with_the_expired_exports(app, client, auth, records, frozen_clock):
    auth.login("pat.one")
    client.get("/me/history.pdf")
    with app.app_context():
        exporting.remove_expired()
        assert HistoryPdf.select().count() == 1
        exporting.remove_expired(utc_now() + dt.timedelta(days=8))
        assert HistoryPdf.select().count() == 0


def test_doctor_downloads_a_patients_pdf_and_it_is_audited(client, auth, records):
    patient = records.patient("pat.one")
    auth.login("dr.one")
    response = client.get(f"/patients/{patient.id}/history.pdf")
    assert response.status_code == 200 and "Bronchitis" in pdf_text(response.data)
    assert AuditLog.get(AuditLog.action == "export:pdf").patient_id == patient.id


# --- the history pages offer the downloads ----------------------------------------------------

def test_patients_history_page_offers_csv_pdf_and_a_background_export(client, auth, records):
    auth.login("pat.one")
    page = client.get("/me/history").text
    assert 'href="/me/history.csv" download' in page and 'href="/me/history.pdf" download' in page
    assert 'action="/exports"' in page and 'hx-post="/exports"' in page
    assert 'name="patient_id"' not in page  # a patient exports their own history
    assert 'id="export-jobs"' in page


def test_staff_history_page_offers_the_patients_downloads(client, auth, records):
    patient = records.patient("pat.one")
    auth.login("dr.one")
    page = client.get(f"/patients/{patient.id}").text
    assert f'href="/patients/{patient.id}/history.csv" download' in page
    assert f'href="/patients/{patient.id}/history.pdf" download' in page
    assert f'name="patient_id" value="{patient.id}"' in page


def test_history_fragment_for_htmx_is_unchanged(client, auth, records):
    auth.login("pat.one")
    fragment = client.get("/me/history", headers=HTMX).text
    assert fragment.startswith('<section id="history"') and "<html" not in fragment


# --- background exports ----------------------------------------------------------------------

def test_background_export_writes_the_file_then_marks_the_job_done(client, auth, records,
                                                                   worker_app):
    patient = records.patient("pat.one")
    auth.login("pat.one")
    before = utc_now()
    response = start_export(client)
    job = ExportJob.get()
    assert response.status_code == 303 and response.headers["Location"] == f"/exports/{job.id}"
    assert (job.owner.username, job.patient_id) == ("pat.one", patient.id)
    assert (job.status, job.progress, job.error) == ("done", 100, None)
    assert job.finished_at >= job.created_at >= before.replace(microsecond=0)
    assert job.expires_at == job.created_at + dt.timedelta(days=7)
    assert rows_of(export_file(job)) == [HEADER, *PAT_ONE_ROWS]
    assert not (Path(worker_app.instance_path) / "exports").exists()  # nothing on this host

    page = client.get(response.headers["Location"])
    assert "<html" in page.text and f'href="/exports/{job.id}/download" download' in page.text
    assert "http-equiv" not in page.text and "hx-trigger" not in page.text
    download = client.get(f"/exports/{job.id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert download.headers["Content-Disposition"].startswith(
        f'attachment; filename="hms-history-{patient.id}-')
    assert "no-store" in download.headers["Cache-Control"]
    assert download.data == export_file(job)


def test_a_pdf_is_prepared_in_the_background_and_downloaded(client, auth, records,
                                                            worker_app):
    patient = records.patient("pat.one")
    auth.login("pat.one")
    response = start_export(client, {"kind": "pdf"})
    job = ExportJob.get()
    assert response.status_code == 303 and (job.kind, job.status) == ("pdf", "done")
    assert export_file(job).startswith(b"%PDF-")
    page = client.get(f"/exports/{job.id}").text
    assert "Your PDF export of Pat One" in page and "Download the prepared PDF" in page
    download = client.get(f"/exports/{job.id}/download")
    assert download.headers["Content-Type"] == "application/pdf"
    assert re.fullmatch(rf'attachment; filename="hms-history-{patient.id}-[\d-]+\.pdf"',
                        download.headers["Content-Disposition"])
    text = pdf_text(download.data)
    assert "Medical history: Pat One" in text and "Bronchitis" in text
    assert "Amoxicillin 500 mg, 3x daily, 7 days; Paracetamol 1 g, as needed, 5 days" in text
    assert "Migraine" not in text  # Pat Two's


def test_an_unknown_export_kind_is_refused(client, auth, records, worker_app):
    auth.login("pat.one")
    response = start_export(client, {"kind": "xls"})
    assert response.status_code == 400  # only a hand-made request sends another kind
    assert ExportJob.select().count() == 0


def test_a_long_history_offers_its_pdf_from_the_background(client, auth, records):
    for n in range(20):  # 23 visits: more than a page of the history
        visit(records, "pat.one", "dr.two", dt.date(2024, 1, 1) + dt.timedelta(days=n),
              dt.time(9), "completed", "Check-up")
    auth.login("pat.one")
    page = client.get("/me/history").text
    assert 'href="/me/history.pdf"' not in page and 'href="/me/history.csv" download' in page
    assert 'href="#downloads">Print (PDF)</a>' in page  # to "Prepare the PDF"
    assert 'name="kind" value="pdf">Prepare the PDF' in page
    assert 'name="kind" value="csv">Prepare a CSV export' in page
    assert client.get("/me/history.pdf").status_code == 200  # the address still answers


def test_doctor_exports_a_patient_they_see(client, auth, records, worker_app):
    patient = records.patient("pat.one")
    auth.login("dr.one")
    response = start_export(client, {"patient_id": str(patient.id)})
    job = ExportJob.get()
    assert response.status_code == 303 and job.status == "done"
    assert (job.owner.username, job.patient_id) == ("dr.one", patient.id)
    entry = AuditLog.get(AuditLog.action == "export:job")
    assert (entry.patient_id, entry.object_type, entry.object_id) == \
        (patient.id, "export_job", job.id)
    back = client.get(f"/exports/{job.id}").text
    assert f'href="/patients/{patient.id}"' in back  # back to the patient's history
    assert client.get(f"/exports/{job.id}/download").status_code == 200


def test_the_widget_polls_until_the_file_is_ready(client, auth, records, queue):
    auth.login("pat.one")
    started = start_export(client, htmx=True)
    job = ExportJob.get()
    widget = started.text
    assert started.status_code == 200 and "<html" not in widget
    assert widget.startswith(f'<div id="export-{job.id}"')
    assert (f'hx-get="/exports/{job.id}" hx-trigger="load delay:1s" hx-target="this" '
            'hx-swap="outerHTML"') in widget
    assert 'value="0"' in widget and "0 %" in widget and "download" not in widget

    ExportJob.update(status="running", progress=40).execute()
    polled = client.get(f"/exports/{job.id}", headers=HTMX)
    assert polled.text.startswith(f'<div id="export-{job.id}"') and "40 %" in polled.text
    assert 'hx-trigger="load delay:1s"' in polled.text and "Preparing" in polled.text

    ExportJob.update(status="queued", progress=0).execute()
    run_queued(queue)
    done = client.get(f"/exports/{job.id}", headers=HTMX).text
    assert done.startswith(f'<div id="export-{job.id}"') and "<html" not in done
    assert f'href="/exports/{job.id}/download" download' in done
    assert "hx-get" not in done and "hx-trigger" not in done


def test_without_javascript_the_job_page_refreshes_until_done(client, auth, records, queue):
    auth.login("pat.one")
    response = start_export(client)
    job = ExportJob.get()
    assert response.status_code == 303 and job.status == "queued"
    page = client.get(response.headers["Location"]).text
    assert "<html" in page and '<noscript><meta http-equiv="refresh" content="2"></noscript>' \
        in page
    assert f'<a href="/exports/{job.id}">Refresh</a>' in page
    assert client.get(f"/exports/{job.id}/download").status_code == 404  # not ready yet
    run_queued(queue)
    page = client.get(f"/exports/{job.id}").text
    assert "http-equiv" not in page and f'href="/exports/{job.id}/download"' in page


def test_progress_is_recorded_as_the_export_goes(app, records, monkeypatch):
    patient = records.patient("pat.one")
    for n in range(40):
        visit(records, "pat.one", "dr.one", dt.date(2024, 1, 1) + dt.timedelta(days=n),
              dt.time(9), "completed", f"Visit {n}")
    job = ExportJob.create(owner=patient.user, patient=patient,
                           expires_at=utc_now() + dt.timedelta(days=7))
    seen = []
    real_set = exporting._set

    def watching(job_id, **values):
        seen.append(ExportJob.get_by_id(job_id).status)
        if "progress" in values:
            seen.append(values["progress"])
        return real_set(job_id, **values)

    monkeypatch.setattr(exporting, "_set", watching)
    with app.app_context():
        assert exporting.run_export(job.id) == "done"
    progress = [p for p in seen if isinstance(p, int)]
    assert progress == sorted(progress) and len(progress) >= 10
    assert all(0 < p < 100 for p in progress)
    assert {s for s in seen if isinstance(s, str)} == {"running"}
    assert ExportJob.get_by_id(job.id).progress == 100
    assert len(rows_of(export_file(job))) == 1 + 43


def test_a_job_that_is_not_queued_is_not_run_again(app, records, worker_app):
    patient = records.patient("pat.one")
    job = ExportJob.create(owner=patient.user, patient=patient,
                           expires_at=utc_now() + dt.timedelta(days=7))
    assert tasks.export_history.call_local(job.id) == "done"
    first = export_file(job)
    assert tasks.export_history.call_local(job.id) == "skipped"
    assert export_file(job) == first and ExportFile.select().count() == 1


@pytest.mark.parametrize("kind", ["csv", "pdf"])
def test_a_failed_export_keeps_the_error_and_leaves_no_file(client, auth, records, worker_app,
                                                           monkeypatch, kind):
    def broken(patient):
        raise OSError("disk full")

    monkeypatch.setattr(exporting, "history", broken)
    auth.login("pat.one")
    start_export(client, {"kind": kind})
    job = ExportJob.get()
    assert (job.status, job.error) == ("failed", "OSError: disk full")
    assert job.finished_at is not None and export_file(job) is None
    page = client.get(f"/exports/{job.id}", headers=HTMX).text
    assert "could not be prepared" in page and "hx-trigger" not in page
    assert "disk full" not in page  # the error is for the admin's jobs page
    assert client.get(f"/exports/{job.id}/download").status_code == 404


def test_a_failure_while_writing_removes_the_partial_file(app, records, monkeypatch):
    patient = records.patient("pat.one")
    job = ExportJob.create(owner=patient.user, patient=patient,
                           expires_at=utc_now() + dt.timedelta(days=7))

    def broken_rows(appt, treatments):
        raise ValueError("bad row")

    monkeypatch.setattr(exporting, "visit_rows", broken_rows)
    with app.app_context():
        assert exporting.run_export(job.id) == "failed"
    assert ExportJob.get_by_id(job.id).error == "ValueError: bad row"
    assert export_file(job) is None


def test_a_file_the_database_cannot_keep_fails_the_job_not_half_done(app, records):
    """The file and "done" are one transaction: when the file cannot be saved, the job is
    failed, never done without a file."""
    refuse_inserts("export_file")
    patient = records.patient("pat.one")
    job = ExportJob.create(owner=patient.user, patient=patient,
                           expires_at=utc_now() + dt.timedelta(days=7))
    with app.app_context():
        assert exporting.run_export(job.id) == "failed"
    job = ExportJob.get_by_id(job.id)
    assert job.status == "failed" and job.error.startswith("IntegrityError: disk full")
    assert export_file(job) is None


def test_any_host_serves_an_export_a_worker_on_another_made(tmp_path, redis_url, client, auth,
                                                            records, worker_app):
    """Two web hosts share the database, not a disk: each has its own instance folder."""
    auth.login("pat.one")
    start_export(client)
    job = ExportJob.get()
    other = make_app(tmp_path / "other-host", redis_url,
                     DATABASE=worker_app.config["DATABASE"]).test_client()
    AuthActions(other).login("pat.one")
    download = other.get(f"/exports/{job.id}/download")
    assert download.status_code == 200 and rows_of(download.data) == [HEADER, *PAT_ONE_ROWS]


def test_an_unreachable_queue_leaves_the_job_for_the_sweep(app, client, auth, records,
                                                          redis_url, frozen_clock):
    """Redis away: the request answers at once, the job stays recorded as queued, and the
    sweep hands it to the worker when Redis is back."""
    tasks.connect(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    try:
        auth.login("pat.one")
        response = start_export(client, htmx=True)
    finally:
        tasks.connect(redis_url)
    job = ExportJob.get()
    assert response.status_code == 200 and "Waiting to prepare" in response.text
    assert job.status == "queued" and job.error is None
    frozen_clock.shift(dt.timedelta(seconds=30))
    page = client.get(f"/exports/{job.id}", headers=HTMX)
    assert "busy or away" in page.text and "delay:5s" in page.text
    tasks.huey.immediate, tasks.app = True, app  # the worker runs what the sweep hands out
    try:
        with app.app_context():
            assert tasks.sweep()["exports"] == 1
    finally:
        tasks.huey.immediate, tasks.app = False, None
    assert ExportJob.get_by_id(job.id).status == "done"
    assert "Download the prepared CSV" in client.get(f"/exports/{job.id}").text


def test_only_the_owner_sees_or_downloads_an_export(client, auth, records, worker_app):
    auth.login("pat.one")
    start_export(client)
    job = ExportJob.get()
    for username in ("pat.two", "dr.one", "admin", "desk"):
        auth.logout()
        auth.login(username)
        assert client.get(f"/exports/{job.id}").status_code == 404, username
        assert client.get(f"/exports/{job.id}/download").status_code == 404, username


def test_staff_export_follows_the_history_rules(client, auth, records, worker_app):
    pat_two = records.patient("pat.two")
    auth.login("dr.one")  # never saw Pat Two
    assert start_export(client, {"patient_id": str(pat_two.id)}).status_code == 404
    assert start_export(client).status_code == 400  # staff must say whose history
    auth.logout()
    auth.login("desk")
    assert start_export(client, {"patient_id": str(pat_two.id)}).status_code == 403
    assert ExportJob.select().count() == 0


def test_a_patient_can_export_only_their_own_history(client, auth, records, worker_app):
    auth.login("pat.one")
    other = records.patient("pat.two").id
    assert start_export(client, {"patient_id": str(other)}).status_code == 404
    assert start_export(client, {"patient_id": str(records.patient("pat.one").id)}) \
        .status_code == 303
    assert ExportJob.select().count() == 1


@pytest.mark.parametrize("patient_id", ["abc", "-1", "1.5", "9" * 30, "٣"])
def test_malformed_patient_ids_in_the_form_are_not_found(client, auth, records, patient_id):
    auth.login("admin")
    assert start_export(client, {"patient_id": patient_id}).status_code == 404
    assert ExportJob.select().count() == 0


@pytest.mark.parametrize("url", ["/exports/abc", "/exports/0", "/exports/-3",
                                 "/exports/99999999999999999999999",
                                 "/exports/99999999999999999999999/download",
                                 "/exports/12345/download", "/exports/1/download/x"])
def test_malformed_or_unknown_export_ids_are_not_found(client, auth, url):
    auth.login("pat.one")
    assert client.get(url).status_code == 404


def test_starting_an_export_needs_a_post_with_a_csrf_token(client, auth, records):
    auth.login("pat.one")
    assert client.get("/exports").status_code == 405
    assert client.post("/exports").status_code == 400
    assert ExportJob.select().count() == 0


def test_visitors_cannot_start_an_export(client):
    response = client.post("/exports", data={"csrf_token": "x"})
    assert response.status_code in (302, 400) and ExportJob.select().count() == 0


def test_expired_exports_are_removed_and_refused(client, auth, records, worker_app):
    auth.login("pat.one")
    start_export(client)
    job = ExportJob.get()
    kept = ExportJob.create(owner=job.owner, patient=job.patient, status="done", progress=100,
                            expires_at=utc_now() + dt.timedelta(days=1))
    ExportFile.create(job=kept, data=b"kept")

    ExportJob.update(expires_at=utc_now() - dt.timedelta(seconds=1)) \
        .where(ExportJob.id == job.id).execute()
    # Past its time, it is refused even before the hourly clean-up has run.
    refused = client.get(f"/exports/{job.id}/download")
    assert refused.status_code == 410 and "has expired" in refused.text
    assert tasks.remove_expired_exports.call_local() == 1
    job = ExportJob.get_by_id(job.id)
    assert job.status == "expired" and export_file(job) is None
    assert export_file(kept) == b"kept"  # an unexpired file stays
    assert client.get(f"/exports/{job.id}/download").status_code == 410
    widget = client.get(f"/exports/{job.id}", headers=HTMX).text
    assert "has expired" in widget and "hx-trigger" not in widget
    assert tasks.remove_expired_exports.call_local() == 0  # nothing more to do
    assert f"export-{job.id}" not in client.get("/me/history").text


def test_clean_up_removes_the_files_of_exports_made_before_the_database_kept_them(app):
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(parents=True)
    (folder / ("o" * 32 + ".csv")).write_bytes(b"an old export")
    with app.app_context():
        exporting.remove_expired()
    assert not folder.exists()


def test_history_page_lists_the_users_unexpired_exports(client, auth, records, worker_app):
    auth.login("pat.one")
    start_export(client)
    job = ExportJob.get()
    page = client.get("/me/history").text
    assert f'<div id="export-{job.id}"' in page and f"/exports/{job.id}/download" in page
    auth.logout()
    auth.login("dr.one")  # the doctor sees only their own exports of Pat One
    page = client.get(f"/patients/{records.patient('pat.one').id}").text
    assert f"export-{job.id}" not in page


def test_export_days_come_from_the_configuration(client, auth, records, worker_app):
    worker_app.config["EXPORT_DAYS"] = 2
    auth.login("pat.one")
    start_export(client)
    job = ExportJob.get()
    assert job.expires_at - job.created_at == dt.timedelta(days=2)
