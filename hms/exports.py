"""Downloads of a patient's history: CSV and PDF at once, and background CSV and PDF exports
with a progress widget. The export logic itself lives in hms/exporting.py."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user, login_required
from redis import RedisError

import tasks
from hms import exporting
from hms.audit import audit, audit_read
from hms.auth import patient_for, patient_of, role_required
from hms.clock import clinic_today, utc_now
from hms.models import EXPORT_KINDS, ExportJob, Patient, User
from hms.pdf import pdf_response
from hms.web import ascii_int, private_download, render, see_other, wants_fragment

bp = Blueprint("exports", __name__)
log = logging.getLogger(__name__)

EXPIRED = ("This export has expired and its file has been removed. "
           "Start a new export from the history page.")


MIMETYPES = {"csv": "text/csv", "pdf": "application/pdf"}
# A queued export older than this is waiting for a busy or absent worker: its widget says so.
WAITING_LONG = dt.timedelta(seconds=10)


def _csv_response(data: bytes, filename: str) -> Response:
    """A CSV download that no cache keeps: it is a medical record."""
    return private_download(data, filename, MIMETYPES["csv"])


def _history_csv(patient: Patient) -> Response:
    """The patient's history as an immediate CSV download."""
    return _csv_response(exporting.history_csv(patient),
                         exporting.download_name(patient, clinic_today(), "csv"))


def _history_pdf(patient: Patient) -> Response:
    """The patient's history as a PDF, from the same fragment as the history page."""
    return pdf_response(exporting.history_pdf(patient),
                        exporting.download_name(patient, clinic_today(), "pdf"))


def export_for(user: User, job_id: int) -> ExportJob:
    """An export job of this user's; anyone else's (or none) is 404."""
    job = ExportJob.get_or_none((ExportJob.id == job_id) & (ExportJob.owner == user))
    if job is None:
        abort(404)
    return job


def _patient_to_export(user: User) -> Patient:
    """The patient a new export is for: the form's patient_id (checked by patient_for), or,
    for a patient, themselves."""
    value = request.form.get("patient_id", "").strip()
    if not value:
        if user.role != "patient":
            abort(400)
        return patient_of(user)
    number = ascii_int(value)
    if number is None:
        abort(404)
    return patient_for(user, number)


def _widget(job: ExportJob) -> Response:
    """The export's progress widget (for htmx) or its page."""
    back = (url_for("patients.my_history") if current_user.role == "patient"
            else url_for("patients.show", patient_id=job.patient_id))
    state = exporting.state(job)
    waiting_long = state == "queued" and utc_now() - job.created_at > WAITING_LONG
    return render("downloads/show.html", "downloads/_widget.html", job=job, state=state,
                  kept_until=exporting.kept_until(job), back=back, waiting_long=waiting_long)


@bp.get("/me/history.csv")
@role_required("patient")
def my_history_csv():
    """The patient's own history as a CSV file, at once."""
    return _history_csv(patient_of(current_user))


@bp.get("/me/history.pdf")
@role_required("patient")
def my_history_pdf():
    """The patient's own history as a PDF."""
    return _history_pdf(patient_of(current_user))


@bp.get("/patients/<int:patient_id>/history.csv")
@role_required("doctor", "admin")
def history_csv(patient_id: int):
    """A patient's history as a CSV file, for a doctor who has or had them, or an admin."""
    patient = patient_for(current_user, patient_id)
    audit_read(current_user, "export:csv", patient, "history", patient.id)
    return _history_csv(patient)


@bp.get("/patients/<int:patient_id>/history.pdf")
@role_required("doctor", "admin")
def history_pdf(patient_id: int):
    """A patient's history as a PDF, for a doctor who has or had them, or an admin."""
    patient = patient_for(current_user, patient_id)
    audit_read(current_user, "export:pdf", patient, "history", patient.id)
    return _history_pdf(patient)


@bp.post("/exports")
@role_required("patient", "doctor", "admin")
def start():
    """Start a background export (`kind`: csv, the default, or pdf): htmx gets the progress
    widget, a plain form the job page."""
    kind = request.form.get("kind", "csv")
    if kind not in EXPORT_KINDS:
        abort(400, "Choose a CSV or a PDF export.")
    patient = _patient_to_export(current_user)
    job = exporting.start_export(current_user, patient, kind)
    if current_user.role != "patient":
        audit(current_user, "export:job", patient, "export_job", job.id)
    try:
        tasks.export_history(job.id)
    except RedisError:  # recorded: the sweep hands it to the worker when Redis is back
        log.warning("Export %s waits for the queue: Redis could not be reached", job.id)
    if not wants_fragment():
        return see_other(url_for("exports.show", job_id=job.id))
    return _widget(ExportJob.get_by_id(job.id))


@bp.get("/exports/<int:job_id>")
@login_required
def show(job_id: int):
    """How the export is getting on; the widget polls this until the file is ready."""
    return _widget(export_for(current_user, job_id))


@bp.get("/exports/<int:job_id>/download")
@login_required
def download(job_id: int):
    """The finished export file, for its owner only, until it expires (then 410)."""
    job = export_for(current_user, job_id)
    if exporting.is_expired(job):
        abort(410, EXPIRED)
    data = exporting.file_of(job)
    if data is None:
        abort(404)
    name = exporting.download_name(job.patient, job.created_at.date(), job.kind)
    return private_download(data, name, MIMETYPES[job.kind])
