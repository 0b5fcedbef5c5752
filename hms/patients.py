"""Patients' records: a doctor's patients, a patient's full history, and the patient's own."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, request
from flask_login import current_user

from hms import audit
from hms.audit import audit_read
from hms.auth import doctor_of, patient_for, patient_of, role_required
from hms.clock import clinic_time, clinic_today
from hms.exporting import ENCODING, recent_exports, safe_cell
from hms.models import DoctorPatient, Patient, page_of
from hms.visits import history_page
from hms.web import arg_int, ascii_int, private_download, render

bp = Blueprint("patients", __name__)

PATIENTS_PAGE = 25  # a doctor may have thousands


@bp.get("/patients/")
@role_required("doctor")
def index():
    """Everyone the doctor has seen or has booked, searchable by name, phone or number."""
    me = doctor_of(current_user)
    q = request.args.get("q", "").strip()[:80]
    # One page of the doctor's rows of DoctorPatient (kept by triggers), in name order.
    mine = DoctorPatient.doctor == me
    patients = (Patient.select(Patient, DoctorPatient.last_date, DoctorPatient.visits)
                .join(DoctorPatient, on=(DoctorPatient.patient == Patient.id)).where(mine)
                .order_by(DoctorPatient.full_name, DoctorPatient.patient)
                .objects())  # the two counts as attributes of each patient
    if q:
        match = Patient.matching(q)
        number = ascii_int(q)
        patients = patients.where(match if number is None else match | (Patient.id == number))
    page_no = arg_int("page", 1)
    shown, more = page_of(patients, page_no, PATIENTS_PAGE)
    if not (more or page_no > 1):
        total = len(shown)
    else:  # without a search, counted on the doctor's own index entries
        total = patients.count() if q else DoctorPatient.select().where(mine).count()
    return render("patients/index.html", "patients/_list.html", patients=shown, total=total,
                  q=q, page_no=page_no, more=more, today=clinic_today())


def history_context(patient: Patient) -> dict:
    """What a history page shows: one page of visits (newest first) and its pager."""
    page_no = arg_int("page", 1)
    visits, more = history_page(patient, page_no)
    return {"visits": visits, "page_no": page_no, "more": more}


@bp.get("/patients/<int:patient_id>")
@role_required("doctor", "admin")
def show(patient_id: int):
    """A patient's full history across doctors, for a doctor who has or had them as a patient."""
    patient = patient_for(current_user, patient_id)
    audit_read(current_user, "read", patient, "history", patient.id)
    return render("patients/show.html", "patients/_history.html", patient=patient,
                  **history_context(patient), today=clinic_today(), staff=True,
                  exports=recent_exports(current_user, patient))


@bp.get("/me/history")
@role_required("patient")
def my_history():
    """The patient's own medical history: every visit and treatment, newest first."""
    patient = patient_of(current_user)
    return render("patients/mine.html", "patients/_history.html", patient=patient,
                  **history_context(patient), today=clinic_today(), staff=False,
                  exports=recent_exports(current_user, patient))


ACCESS_PAGE = 50


@bp.get("/me/access")
@role_required("patient")
def my_access():
    """Who has read or changed the patient's record: each staff role (a doctor by name), what
    they did and when, newest first, from the audit log."""
    patient = patient_of(current_user)
    page_no = arg_int("page", 1)
    entries, more = page_of(audit.trail_of(patient), page_no, ACCESS_PAGE)
    return render("patients/access.html", "patients/_access.html", entries=entries,
                  more=more, page_no=page_no, who=audit.who, described=audit.described)


@bp.get("/me/access.csv")
@role_required("patient")
def my_access_csv():
    """The same trail, whole, as CSV."""
    patient = patient_of(current_user)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["When", "Who", "What"])
    writer.writerows([safe_cell(clinic_time(e.created_at)), safe_cell(audit.who(e)),
                      safe_cell(audit.described(e))] for e in audit.trail_of(patient))
    return private_download(out.getvalue().encode(ENCODING),
                            f"hms-record-access-{patient.id}-{clinic_today()}.csv", "text/csv")
