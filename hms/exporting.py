"""Exports of a patient's history: the CSV rows, background export jobs and their files, and
their expiry. No Flask views here; the views (hms/exports.py) and the worker (tasks.py) share it.

A background export (a CSV, or a PDF: laying out a long history takes WeasyPrint seconds, which
belong in the worker, not in a request) is written whole into export_file in the transaction
that marks its job done, so a download never sees half a file, and any web host can serve what
a worker on any other host made.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from flask import current_app
from peewee import JOIN, DatabaseError

from hms.clock import hhmm, to_clinic, utc_now
from hms.db import db, write_transaction
from hms.models import (
    Appointment,
    Department,
    Doctor,
    ExportFile,
    ExportJob,
    HistoryPdf,
    Patient,
    Treatment,
    User,
)
from hms.visits import history, medicines

log = logging.getLogger(__name__)

HEADER = ("Date", "Time", "Doctor", "Specialization", "Status", "Reason", "Diagnosis",
          "Prescription", "Medicines", "Follow-up")
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)), so a
# reason or diagnosis typed that way gets a leading apostrophe and stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a CSV as UTF-8 (names such as "Zoë") only when it starts with a byte-order mark.
ENCODING = "utf-8-sig"
PENDING = ("queued", "running")
# A worker holds a running export this long; then the sweep runs it again (its worker died).
# A 2,000-visit history PDF takes WeasyPrint under two minutes.
LEASE = dt.timedelta(minutes=30)
TRIES = 3  # an export whose worker died this many times is failed, not run again
# About this many progress updates per export, however long the history.
PROGRESS_STEPS = 20


def safe_cell(value: object) -> str:
    """A cell's text, with a leading apostrophe where a spreadsheet would see a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def medicines_text(treatment: Treatment) -> str:
    """A treatment's medicines in words: 'Amoxicillin 500 mg, 3x daily, 7 days; ...'."""
    return "; ".join(f"{m['name']} {m['dose']}, {m['frequency']}, {m['days']} days"
                     for m in medicines(treatment))


def visit_rows(appt: Appointment, treatments: list[Treatment]) -> Iterator[list[str]]:
    """One row per treatment of a visit; a visit without a treatment still gets one row."""
    visit = [appt.date.isoformat(), hhmm(appt.time, appt.date), appt.doctor.full_name,
             appt.doctor.department.name, appt.status.replace("_", " "), appt.reason]
    for t in treatments or [None]:
        clinical = ["", "", "", ""] if t is None else [
            t.diagnosis, t.prescription, medicines_text(t),
            t.follow_up_date.isoformat() if t.follow_up_date else ""]
        yield [safe_cell(cell) for cell in visit + clinical]


def write_csv(out, visits: list[tuple[Appointment, list[Treatment]]],
              progress: Callable[[int], None] | None = None) -> None:
    """Write the header and every visit's rows to an open text file (newline=''), telling
    `progress` the percentage done about PROGRESS_STEPS times along the way."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    every = max(1, len(visits) // PROGRESS_STEPS)
    for n, (appt, treatments) in enumerate(visits, 1):
        writer.writerows(visit_rows(appt, treatments))
        if progress and n % every == 0 and n < len(visits):
            progress(min(99, n * 100 // len(visits)))


def history_csv(patient: Patient) -> bytes:
    """The patient's whole history as CSV bytes, newest visit first, for an immediate download."""
    out = io.StringIO(newline="")
    write_csv(out, history(patient))
    return out.getvalue().encode(ENCODING)


def download_name(patient: Patient, day: dt.date, suffix: str) -> str:
    """The name a download is saved under: no patient name, so it is safe in any folder."""
    return f"hms-history-{patient.id}-{day.isoformat()}.{suffix}"


# --- background exports ----------------------------------------------------------------------

def start_export(owner: User, patient: Patient, kind: str = "csv") -> ExportJob:
    """Record a queued export (CSV or PDF) of the patient's history for its owner, kept
    EXPORT_DAYS days."""
    now = utc_now()
    days = current_app.config["EXPORT_DAYS"]
    # The caller hands it to the queue; if that message is lost, the sweep hands it again.
    return ExportJob.create(owner=owner, patient=patient, kind=kind, created_at=now,
                            due_at=now, expires_at=now + dt.timedelta(days=days))


def is_expired(job: ExportJob, now: dt.datetime | None = None) -> bool:
    """Whether the job has passed its expiry (even before the hourly clean-up has run)."""
    return job.status == "expired" or job.expires_at <= (now or utc_now())


def state(job: ExportJob) -> str:
    """What the owner is shown: queued, running, done, failed or expired."""
    return "expired" if is_expired(job) else job.status


def kept_until(job: ExportJob) -> dt.datetime:
    """When the export expires, on the clinic's clock."""
    return to_clinic(job.expires_at)


def recent_exports(owner: User, patient: Patient, limit: int = 5
                   ) -> list[tuple[ExportJob, str, dt.datetime]]:
    """This user's unexpired exports of the patient, newest first, with state and expiry."""
    jobs = (ExportJob.select()
            .where(ExportJob.owner == owner, ExportJob.patient == patient,
                   ExportJob.status != "expired", ExportJob.expires_at > utc_now())
            .order_by(ExportJob.id.desc()).limit(limit))
    found = []
    for job in jobs:
        job.patient = patient
        found.append((job, state(job), kept_until(job)))
    return found


def file_of(job: ExportJob) -> bytes | None:
    """The finished file of a done job, or None (the caller checks expiry)."""
    if job.status != "done":
        return None
    kept = ExportFile.get_or_none(ExportFile.job == job.id)
    return bytes(kept.data) if kept else None


def _set(job_id: int, **values) -> int:
    """Update one job's columns in a single statement (progress, status, ...)."""
    return ExportJob.update(**values).where(ExportJob.id == job_id).execute()


def mark_failed(job_id: int, error: str) -> None:
    """End a job as failed, with the reason its owner and the admin will see."""
    (ExportJob.update(status="failed", error=error[:500], finished_at=utc_now())
     .where(ExportJob.id == job_id, ExportJob.status.in_(PENDING)).execute())


def take_due(now: dt.datetime, requeue: dt.timedelta) -> list[int]:
    """The sweep's pass over exports: a running job whose lease ran out (its worker died) is
    queued again, or failed after TRIES runs; every queued job that is due (the message that
    carried it may be lost) is marked due again in `requeue`. Returns the jobs to hand out."""
    due = (ExportJob.due_at <= now) | ExportJob.due_at.is_null()
    for job in ExportJob.select().where(ExportJob.status == "running", due):
        if job.attempts >= TRIES:
            mark_failed(job.id, f"The export stopped unfinished {job.attempts} times.")
        else:
            (ExportJob.update(status="queued", progress=0)
             .where(ExportJob.id == job.id, ExportJob.status == "running",
                    ExportJob.attempts == job.attempts).execute())
    jobs = [job_id for (job_id,) in ExportJob.select(ExportJob.id).where(
        ExportJob.status == "queued", due, ExportJob.expires_at > now).tuples()]
    if jobs:
        ExportJob.update(due_at=now + requeue).where(ExportJob.id.in_(jobs)).execute()
    return jobs


# Settings a history PDF shows: its letterhead, and the zone its times are read in.
PDF_SETTINGS = ("CLINIC_NAME", "CLINIC_ADDRESS", "TIMEZONE")


@functools.cache
def _templates_digest(folder: str) -> bytes:
    """A digest of every template: a new release lays out new PDFs."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


def history_digest(patient: Patient) -> str:
    """A digest of everything the history PDF is made from: the patient's row, each visit with
    its doctor's name and department, each treatment with its author's names, the clinic's
    settings and the templates. Read as plain rows, in three indexed queries, so a kept PDF is
    found without building or rendering the history."""
    digest = hashlib.sha256(_templates_digest(current_app.template_folder))
    digest.update(repr([current_app.config.get(name) for name in PDF_SETTINGS]).encode())
    visits = (Appointment.select(Appointment, Doctor.full_name, Department.name)
              .join(Doctor).join(Department).where(Appointment.patient == patient.id))
    treatments = (Treatment.select(Treatment, User.username, Doctor.full_name)
                  .join(User).join(Doctor, JOIN.LEFT_OUTER, on=(Doctor.user == User.id))
                  .where(Treatment.appointment.in_(Appointment.select(Appointment.id).where(
                      Appointment.patient == patient.id))))
    for query in (Patient.select().where(Patient.id == patient.id), visits, treatments):
        # The rows as SQLite returns them (no model or type conversion: that would cost more
        # than the queries), ordered by id here: an ORDER BY could tempt SQLite to walk a whole
        # table's key.
        for row in sorted(db.execute_sql(*query.sql()).fetchall(), key=lambda row: row[0]):
            digest.update(repr(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def history_pdf(patient: Patient) -> bytes:
    """The patient's whole history as a PDF, from the same fragment as the history page. The
    layout takes WeasyPrint seconds for a long history, so the last PDF is kept (HistoryPdf)
    and served again while what it is made from is unchanged (history_digest)."""
    digest = history_digest(patient)
    kept = HistoryPdf.get_or_none(HistoryPdf.patient == patient, HistoryPdf.digest == digest)
    if kept:
        return bytes(kept.pdf)
    from hms.pdf import render_pdf  # WeasyPrint loads slowly: only where needed

    data = render_pdf("pdf/history.html", patient=patient, visits=history(patient))
    try:
        with write_transaction():
            (HistoryPdf.insert(patient=patient, digest=digest, pdf=data, created_at=utc_now())
             .on_conflict(conflict_target=[HistoryPdf.patient],
                          preserve=[HistoryPdf.digest, HistoryPdf.pdf, HistoryPdf.created_at])
             .execute())
    except DatabaseError:  # keeping it only saves the next layout: the PDF is still good
        log.warning("Could not keep the history PDF of patient %s", patient.id, exc_info=True)
    return data


def run_export(job_id: int) -> str:
    """Claim a queued job (with a lease), make its file with progress, and keep the file with
    the job's "done" in one transaction; on any failure mark the job failed with the error. A
    job that is not queued (already run, or claimed by another worker) is left alone."""
    job = ExportJob.get_or_none(ExportJob.id == job_id)
    if job is None or job.status != "queued":
        return "skipped"
    attempt = job.attempts + 1
    claimed = (ExportJob.update(status="running", progress=0, attempts=attempt,
                                due_at=utc_now() + LEASE)
               .where(ExportJob.id == job_id, ExportJob.status == "queued",
                      ExportJob.attempts == job.attempts).execute())
    if not claimed:
        return "skipped"
    try:
        if job.kind == "pdf":
            data = history_pdf(job.patient)
        else:
            out = io.StringIO(newline="")
            write_csv(out, history(job.patient), lambda percent: _set(job_id, progress=percent))
            data = out.getvalue().encode(ENCODING)
        with write_transaction():  # the file and "done" together, or neither
            # Only while this run still holds the job: after a lease ran out, another run may.
            held = (ExportJob.update(status="done", progress=100, finished_at=utc_now())
                    .where(ExportJob.id == job_id, ExportJob.status == "running",
                           ExportJob.attempts == attempt).execute())
            if not held:
                return "skipped"
            ExportFile.create(job=job_id, data=data)
    except Exception as error:  # the job must end failed, never stay "running"
        log.exception("Export %s failed", job_id)
        mark_failed(job_id, f"{type(error).__name__}: {error}")
        return "failed"
    return "done"


def remove_expired(now: dt.datetime | None = None) -> int:
    """Delete the files of expired exports and mark their jobs expired, and delete kept history
    PDFs older than EXPORT_DAYS. Returns the number of jobs expired."""
    now = now or utc_now()
    expired = [job_id for (job_id,) in ExportJob.select(ExportJob.id).where(
        ExportJob.expires_at <= now, ExportJob.status != "expired").tuples()]
    with write_transaction():
        ExportFile.delete().where(ExportFile.job.in_(expired)).execute()
        ExportJob.update(status="expired").where(ExportJob.id.in_(expired)).execute()
        kept_since = now - dt.timedelta(days=current_app.config["EXPORT_DAYS"])
        HistoryPdf.delete().where(HistoryPdf.created_at < kept_since.replace(tzinfo=None)
                                  ).execute()
    # Exports made before they were kept in the database were files in the instance folder.
    shutil.rmtree(Path(current_app.instance_path) / "exports", ignore_errors=True)
    return len(expired)
