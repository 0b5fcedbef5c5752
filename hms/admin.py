"""The admin console: doctors, departments, patients, staff, search, appointments, audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from peewee import JOIN, Case, IntegrityError, fn

from hms.accounts import (
    create_doctor,
    create_staff,
    delete_doctor,
    register_walk_in,
    set_active,
)
from hms.audit import audit, audit_read
from hms.auth import role_required
from hms.cache import directory_changed, doctor_changed
from hms.clock import clinic_now, clinic_today, to_clinic, utc_now
from hms import passwords, work
from hms.db import db
from hms.exporting import recent_exports
from hms.forms import (
    AdminPatientForm,
    DepartmentForm,
    DoctorProfileForm,
    NewDoctorForm,
    StaffForm,
    normalise_email,
)
from hms.models import (
    STATUSES,
    WAITING_STATUSES,
    Appointment,
    AuditLog,
    Department,
    Doctor,
    ExportJob,
    OfferMail,
    Patient,
    Recall,
    RecallMail,
    Reminder,
    ReportSend,
    SlotOffer,
    User,
    WaitlistEntry,
    WorkingHours,
    page_of,
)
from hms.patients import history_context
from hms.scheduling import (
    SchedulingError,
    parse_day,
    reschedule_appointment,
)
from hms.web import arg_int, ascii_int, confirm_first, render, see_other

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 25
TAKEN = "That username or email was just taken; please choose another."


@bp.before_request
@role_required("admin")
def _admins_only() -> None:
    """Every page here is for administrators; everyone else gets 403."""


def _q() -> str:
    return request.args.get("q", "").strip()[:80]


def _number(q: str) -> int | None:
    return ascii_int(q)


# --- doctors ----------------------------------------------------------------------------------

@bp.get("/doctors")
def doctors():
    """Every doctor, active or not, searchable by name and filtered by specialization."""
    q, department = _q(), arg_int("department", 0, low=0)
    query = (Doctor.select(Doctor, User, Department).join(User).switch(Doctor).join(Department)
             .order_by(Doctor.full_name))
    if q:
        query = query.where(Doctor.full_name.contains(q) | User.email.contains(q)
                            | (Doctor.id == (_number(q) or 0)))
    if department:
        query = query.where(Doctor.department == department)
    rows, more = page_of(query, arg_int("page", 1), PAGE)
    return render("admin/doctors.html", "admin/_doctor_list.html", doctors=rows, more=more,
                  q=q, department=department, page_no=arg_int("page", 1),
                  departments=list(Department.select().order_by(Department.name)))


@bp.route("/doctors/new", methods=["GET", "POST"])
def new_doctor():
    """Create a doctor with their login; they are invited by e-mail to choose their password,
    and the invitation's code is shown once on the next page, to hand over."""
    form = NewDoctorForm()
    if form.validate_on_submit():
        try:
            doctor = create_doctor(form.username.data, form.email.data,
                                   form.full_name.data, form.department.data,
                                   form.experience_years.data, form.about.data)
        except IntegrityError:  # another admin took the name between the check and now
            form.username.errors.append(TAKEN)
            return render("admin/doctor_form.html", "admin/_doctor_form.html", status=422,
                          form=form, doctor=None)
        invitation = passwords.invite(doctor.user)
        flash(f"{doctor.full_name} is invited to choose a password for {doctor.user.username}.",
              "success")
        # Rendered, not redirected: the invitation's code is shown here and never again.
        return render("admin/doctor.html", "admin/_doctor.html", status=201,
                      **_doctor_context(doctor), invitation=invitation)
    return render("admin/doctor_form.html", "admin/_doctor_form.html",
                  status=422 if request.method == "POST" else 200, form=form, doctor=None)


def _doctor_or_404(doctor_id: int) -> Doctor:
    doctor = Doctor.select(Doctor, User, Department).join(User).switch(Doctor).join(
        Department).where(Doctor.id == doctor_id).get_or_none()
    if doctor is None:
        abort(404)
    return doctor


def _doctor_context(doctor: Doctor) -> dict:
    future = (Appointment.select(Appointment, Patient).join(Patient)
              .where(Appointment.doctor == doctor, Appointment.status.in_(WAITING_STATUSES),
                     Appointment.starting_from(clinic_now()))
              .order_by(Appointment.date, Appointment.time))
    colleagues = (Doctor.select().join(User).where(User.is_active == True,  # noqa: E712
                                                     Doctor.id != doctor.id)
                  .order_by(Doctor.department != doctor.department, Doctor.full_name))
    return {"doctor": doctor, "future": list(future), "today": clinic_today(),
            "colleagues": list(colleagues),
            "has_hours": WorkingHours.select().where(WorkingHours.doctor == doctor).exists(),
            "has_history": Appointment.select().where(Appointment.doctor == doctor).exists()}


@bp.get("/doctors/<int:doctor_id>")
def doctor(doctor_id: int):
    """One doctor: profile, login, and (when deactivated) the future appointments to settle."""
    return render("admin/doctor.html", "admin/_doctor.html",
                  **_doctor_context(_doctor_or_404(doctor_id)))


@bp.route("/doctors/<int:doctor_id>/edit", methods=["GET", "POST"])
def edit_doctor(doctor_id: int):
    """Edit a doctor's profile as patients see it."""
    doctor = _doctor_or_404(doctor_id)
    form = DoctorProfileForm(obj=doctor)
    if request.method == "GET":
        form.department.data = doctor.department_id
    if form.validate_on_submit():
        doctor.full_name, doctor.department = form.full_name.data.strip(), form.department.data
        doctor.experience_years, doctor.about = form.experience_years.data, form.about.data or ""
        doctor.save()
        doctor_changed(doctor.id)
        flash("Saved.", "success")
        return see_other(url_for(".doctor", doctor_id=doctor.id))
    return render("admin/doctor_form.html", "admin/_doctor_form.html",
                  status=422 if request.method == "POST" else 200, form=form, doctor=doctor)


@bp.post("/doctors/<int:doctor_id>/<any(deactivate, reactivate):change>")
def doctor_active(doctor_id: int, change: str):
    """Deactivate a doctor (gone from the directory and booking) or bring them back."""
    doctor = _doctor_or_404(doctor_id)
    if change == "deactivate" and (ask := confirm_first(
            f"Deactivate {doctor.full_name}?", "Yes, deactivate",
            url_for(".doctor", doctor_id=doctor.id),
            "They will not be able to log in, and leave the directory and booking.")):
        return ask
    _change_activity(doctor.user, change, doctor.full_name, None, "doctor", doctor.id,
                     " Settle their future appointments below." if change == "deactivate"
                     else "")
    doctor_changed(doctor.id)
    return see_other(url_for(".doctor", doctor_id=doctor.id))


@bp.post("/doctors/<int:doctor_id>/delete")
def remove_doctor(doctor_id: int):
    """Delete a doctor who never had an appointment; otherwise say to deactivate instead."""
    doctor = _doctor_or_404(doctor_id)
    if ask := confirm_first(f"Delete {doctor.full_name} for good?", "Yes, delete",
                            url_for(".doctor", doctor_id=doctor.id)):
        return ask
    if not delete_doctor(doctor):
        flash(f"{doctor.full_name} has appointments on record and cannot be deleted; "
              "deactivate them instead.", "error")
        return see_other(url_for(".doctor", doctor_id=doctor.id))
    doctor_changed(doctor.id)
    flash(f"{doctor.full_name} was deleted.", "success")
    return see_other(url_for(".doctors"))


def _change_activity(user: User, change: str, name: str, patient: Patient | None,
                     object_type: str, object_id: int, more: str = "") -> None:
    """Deactivate or reactivate a login, audit it and say so."""
    set_active(user, change == "reactivate")
    audit(current_user, change, patient, object_type, object_id)
    flash(f"{name} is {'active again' if change == 'reactivate' else 'deactivated'}.{more}",
          "success")


# --- departments ------------------------------------------------------------------------------

@bp.route("/departments", methods=["GET", "POST"])
def departments():
    """The specializations patients choose from; one can be removed while no doctor has it."""
    form = DepartmentForm()
    if form.validate_on_submit():
        Department.create(name=form.name.data.strip(), description=form.description.data or "")
        directory_changed()
        flash(f"{form.name.data.strip()} added.", "success")
        return see_other(url_for(".departments"))
    rows = (Department.select(Department, fn.COUNT(Doctor.id).alias("doctors"))
            .join(Doctor, JOIN.LEFT_OUTER, on=(Doctor.department == Department.id))
            .group_by(Department.id).order_by(Department.name))
    return render("admin/departments.html", "admin/_department_form.html",
                  status=422 if request.method == "POST" else 200, form=form,
                  departments=list(rows))


@bp.post("/departments/<int:department_id>")
def rename_department(department_id: int):
    """Rename a specialization or change its description."""
    dept = Department.get_or_none(Department.id == department_id) or abort(404)
    form = DepartmentForm(department_id=dept.id)
    if form.validate_on_submit():
        dept.name, dept.description = form.name.data, form.description.data or ""
        dept.save()
        directory_changed()
        flash(f"Saved {dept.name}.", "success")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return see_other(url_for(".departments"))


@bp.post("/departments/<int:department_id>/delete")
def delete_department(department_id: int):
    """Remove a specialization no doctor has."""
    dept = Department.get_or_none(Department.id == department_id) or abort(404)
    if ask := confirm_first(f"Remove {dept.name}?", "Yes, remove", url_for(".departments")):
        return ask
    if Doctor.select().where(Doctor.department == dept).exists():
        flash(f"{dept.name} still has doctors; move them first.", "error")
    else:
        dept.delete_instance()
        directory_changed()
        flash(f"{dept.name} removed.", "success")
    return see_other(url_for(".departments"))


# --- patients ---------------------------------------------------------------------------------

@bp.get("/patients")
def patients():
    """Every patient, searchable by name, phone, login, e-mail or patient number (through
    the search indexes, never by reading every patient)."""
    q = _q()
    query = Patient.select(Patient, User).join(User).order_by(Patient.full_name)
    if q:
        query = query.where(Patient.matching(q) | Patient.user.in_(User.ids_matching(q))
                            | (Patient.id == (_number(q) or 0)))
    rows, more = page_of(query, arg_int("page", 1), PAGE)
    return render("admin/patients.html", "admin/_patient_list.html", patients=rows, more=more,
                  q=q, page_no=arg_int("page", 1), today=clinic_today())


@bp.route("/patients/new", methods=["GET", "POST"])
def new_patient():
    """Register a patient (no password: they get a login when they ask for one)."""
    form = AdminPatientForm()
    if form.validate_on_submit():
        patient = register_walk_in(form.full_name.data, form.gender.data, form.dob.data,
                                   form.phone.data, form.address.data or "", form.email.data)
        _save_patient(patient, form)
        flash(f"{patient.full_name} is patient no. {patient.id}.", "success")
        return see_other(url_for(".patient", patient_id=patient.id))
    return render("admin/patient_form.html", "admin/_patient_form.html",
                  status=422 if request.method == "POST" else 200, form=form, patient=None)


def _patient_or_404(patient_id: int) -> Patient:
    patient = Patient.select(Patient, User).join(User).where(
        Patient.id == patient_id).get_or_none()
    if patient is None:
        abort(404)
    return patient


def _save_patient(patient: Patient, form: AdminPatientForm) -> None:
    with db.atomic():
        for name in ("full_name", "gender", "dob", "address", "phone", "height_cm", "weight_kg",
                     "is_disabled"):
            value = getattr(form, name).data
            setattr(patient, name, value.strip() if isinstance(value, str) else value)
        patient.blood_group = form.blood_group.data or None
        patient.save()
        User.update(email=normalise_email(form.email.data) if form.email.data else None).where(
            User.id == patient.user_id).execute()
        audit(current_user, "update", patient, "patient", patient.id)


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    """One patient's details and login, and their history (the read is audited)."""
    patient = _patient_or_404(patient_id)
    audit_read(current_user, "read", patient, "history", patient.id)
    return render("admin/patient.html", "admin/_patient.html", patient=patient,
                  today=clinic_today(), **history_context(patient), staff=True,
                  exports=recent_exports(current_user, patient),
                  appointments=Appointment.select().where(Appointment.patient == patient).count())


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
def edit_patient(patient_id: int):
    """Correct a patient's details."""
    patient = _patient_or_404(patient_id)
    form = AdminPatientForm(obj=patient, current_user_id=patient.user_id)
    if request.method == "GET":
        form.email.data = patient.user.email
    if form.validate_on_submit():
        _save_patient(patient, form)
        flash("Saved.", "success")
        return see_other(url_for(".patient", patient_id=patient.id))
    return render("admin/patient_form.html", "admin/_patient_form.html",
                  status=422 if request.method == "POST" else 200, form=form, patient=patient)


@bp.post("/patients/<int:patient_id>/<any(deactivate, reactivate):change>")
def patient_active(patient_id: int, change: str):
    """Deactivate a patient's login (they cannot log in) or bring it back."""
    patient = _patient_or_404(patient_id)
    if change == "deactivate" and (ask := confirm_first(
            f"Deactivate {patient.full_name}?", "Yes, deactivate",
            url_for(".patient", patient_id=patient.id), "They will not be able to log in.")):
        return ask
    _change_activity(patient.user, change, patient.full_name, patient, "patient", patient.id)
    return see_other(url_for(".patient", patient_id=patient.id))


# --- staff ------------------------------------------------------------------------------------

@bp.route("/staff", methods=["GET", "POST"])
def staff():
    """Receptionists and administrators: create them, deactivate or reactivate them."""
    form = StaffForm()
    if form.validate_on_submit():
        try:
            user = create_staff(form.role.data, form.username.data, form.email.data, None)
        except IntegrityError:  # another admin took the name between the check and now
            form.username.errors.append(TAKEN)
            return _staff_page(form)
        # The invitation's code is shown once, here.
        return render("auth/invitation.html", "auth/_invitation.html",
                      invitation=passwords.invite(user), status=201)
    return _staff_page(form)


def _staff_page(form: StaffForm):
    people = User.select().where(User.role.in_(("receptionist", "admin"))).order_by(
        User.role, User.username)
    return render("admin/staff.html", "admin/_staff.html",
                  status=422 if form.errors else 200, form=form, people=list(people))


@bp.post("/staff/<int:user_id>/<any(deactivate, reactivate):change>")
def staff_active(user_id: int, change: str):
    """Deactivate or reactivate a receptionist or administrator (never yourself)."""
    user = User.get_or_none((User.id == user_id) & User.role.in_(("receptionist", "admin")))
    if user is None:
        abort(404)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
    elif change == "deactivate" and (ask := confirm_first(
            f"Deactivate {user.username}?", "Yes, deactivate", url_for(".staff"),
            "They will not be able to log in.")):
        return ask
    else:
        _change_activity(user, change, user.username, None, "user", user.id)
    return see_other(url_for(".staff"))


# --- search, appointments, audit log ----------------------------------------------------------

@bp.get("/search")
def search():
    """One box across doctors, patients and logins: name, specialization, id, phone, email."""
    q = _q()
    results = search_everyone(q) if q else []
    page_no = arg_int("page", 1)
    shown = results[(page_no - 1) * PAGE: page_no * PAGE]
    return render("admin/search.html", "admin/_search_results.html", q=q, results=shown,
                  total=len(results), page_no=page_no, more=len(results) > page_no * PAGE)


def search_everyone(q: str) -> list[tuple[str, str, str, str]]:
    """Doctors, patients and staff matching q, as (kind, name, detail, URL), 50 of each. Logins
    and patients are found through their full-text indexes, never by reading every row."""
    results: list[tuple[str, str, str, str]] = []
    number = _number(q) or 0
    logins = User.ids_matching(q)
    for d in (Doctor.select(Doctor, User, Department).join(User).switch(Doctor)
              .join(Department).where(Doctor.full_name.contains(q) | Department.name.contains(q)
                                      | Doctor.user.in_(logins) | (Doctor.id == number))
              .limit(50)):
        results.append(("Doctor", d.full_name, f"{d.department.name} · {d.user.email}",
                        url_for(".doctor", doctor_id=d.id)))
    for p in (Patient.select(Patient, User).join(User)
              .where(Patient.matching(q) | Patient.user.in_(logins) | (Patient.id == number))
              .limit(50)):
        results.append(("Patient", p.full_name, f"no. {p.id} · {p.phone}",
                        url_for(".patient", patient_id=p.id)))
    for u in User.select().where(User.role.in_(("receptionist", "admin")),
                                 User.id.in_(logins) | (User.id == number)).limit(50):
        results.append(("Staff", u.username, f"{u.role} · {u.email}", url_for(".staff")))
    return results


@bp.get("/appointments")
def appointments():
    """All appointments, filtered by dates, doctor, patient and status; status changes in
    place with the same rules as the doctor's screen."""
    first, last = parse_day(request.args.get("from")), parse_day(request.args.get("to"))
    doctor_id, patient_id = arg_int("doctor", 0, low=0), arg_int("patient", 0, low=0)
    state = request.args.get("status", "")
    query = (Appointment.select(Appointment, Patient, Doctor).join(Patient)
             .switch(Appointment).join(Doctor)
             .order_by(Appointment.date.desc(), Appointment.time.desc()))
    if first:
        query = query.where(Appointment.date >= first)
    if last:
        query = query.where(Appointment.date <= last)
    if doctor_id:
        query = query.where(Appointment.doctor == doctor_id)
    if patient_id:
        query = query.where(Appointment.patient == patient_id)
    if state in STATUSES:
        query = query.where(Appointment.status == state)
    rows, more = page_of(query, arg_int("page", 1), PAGE)
    filters = {"from": first.isoformat() if first else "", "to": last.isoformat() if last else "",
               "doctor": doctor_id or "", "patient": patient_id or "",
               "status": state if state in STATUSES else ""}
    return render("admin/appointments.html", "admin/_appointments.html", appointments=rows,
                  more=more, page_no=arg_int("page", 1), filters=filters, statuses=STATUSES,
                  doctors=list(Doctor.select().order_by(Doctor.full_name)),
                  today=clinic_today())


@bp.get("/audit")
def audit_log():
    """Who read or changed which clinical record, and when; filter by user and patient."""
    user_id, patient_id = arg_int("user", 0, low=0), arg_int("patient", 0, low=0)
    query = (AuditLog.select(AuditLog, User).join(User).order_by(AuditLog.id.desc()))
    if user_id:
        query = query.where(AuditLog.user == user_id)
    if patient_id:
        query = query.where(AuditLog.patient == patient_id)
    rows, more = page_of(query, arg_int("page", 1), PAGE * 2)
    names = dict(Patient.select(Patient.id, Patient.full_name).where(
        Patient.id.in_({r.patient_id for r in rows if r.patient_id})).tuples())
    return render("admin/audit.html", "admin/_audit.html", rows=rows, more=more, names=names,
                  page_no=arg_int("page", 1), user_id=user_id or "",
                  patient_id=patient_id or "",
                  users=list(User.select().where(User.role != "patient")
                             .order_by(User.username)))


@bp.post("/appointments/<int:appointment_id>/reassign")
def reassign(appointment_id: int):
    """Give a (deactivated) doctor's booked appointment to a colleague at the same time."""
    appt = Appointment.get_or_none(Appointment.id == appointment_id) or abort(404)
    colleague = Doctor.get_or_none(Doctor.id == arg_form_int("doctor")) or abort(400)
    try:
        moved = reschedule_appointment(appt, appt.date, appt.time, current_user, colleague)
    except SchedulingError as refusal:
        flash(f"{refusal.message} Choose another colleague, or cancel the appointment.",
              "error")
    else:
        audit(current_user, "reassign", moved.patient_id, "appointment", moved.id)
        flash(f"{moved.patient.full_name}'s appointment now is with {colleague.full_name}.",
              "success")
    return see_other(url_for(".doctor", doctor_id=appt.doctor_id))


def arg_form_int(name: str) -> int:
    """A posted id, or 0."""
    return ascii_int(request.form.get(name)) or 0


# What needs a person's eye comes first on the jobs page.
ATTENTION = ("unknown", "failed", "queued", "sending", "running")


def _attention_first(model) -> tuple:
    order = Case(model.status, [(status, n) for n, status in enumerate(ATTENTION)],
                 len(ATTENTION))
    return order, model.id.desc()


def _tally(model) -> dict[str, int]:
    return dict(model.select(model.status, fn.COUNT(model.id)).group_by(model.status).tuples())


@bp.get("/jobs")
def jobs():
    """Background work: how many reminders, reports and exports are in each state, then the
    recent ones, those that need attention first, with when each is next tried."""
    reminders = (Reminder.select(Reminder, Appointment, Patient).join(Appointment).join(Patient)
                 .order_by(*_attention_first(Reminder)).limit(50))
    reports = (ReportSend.select(ReportSend, Doctor).join(Doctor)
               .order_by(*_attention_first(ReportSend)).limit(50))
    exports = (ExportJob.select(ExportJob, User).join(User)
               .order_by(*_attention_first(ExportJob)).limit(50))
    offers = (OfferMail.select(OfferMail, SlotOffer, WaitlistEntry, Patient).join(SlotOffer)
              .join(WaitlistEntry).join(Patient)
              .order_by(*_attention_first(OfferMail)).limit(50))
    recall_mails = (RecallMail.select(RecallMail, Recall, Patient).join(Recall)
                    .join(Patient, on=(Recall.patient == Patient.id))
                    .order_by(*_attention_first(RecallMail)).limit(50))
    return render("admin/jobs.html", "admin/_jobs.html", reminders=list(reminders),
                  reports=list(reports), exports=list(exports), offers=list(offers),
                  recalls=list(recall_mails),
                  tallies={kind: _tally(model) for kind, model in work.KINDS.items()},
                  retryable=work.retryable, now=utc_now(), to_clinic=to_clinic)


@bp.post("/jobs/<kind>/<int:item_id>/retry")
def retry_job(kind: str, item_id: int):
    """Queue one failed item again at once (an unknown notice: after the admin has checked it
    did not arrive; it goes with the same Message-ID)."""
    model = work.KINDS.get(kind) or abort(404)
    row = model.get_or_none(model.id == item_id) or abort(404)
    if row.status == "unknown" and (ask := confirm_first(
            "Send it again?", "Yes, send it again", url_for("admin.jobs"),
            "The mail server may have delivered it already: check with the patient or doctor "
            "that it did not arrive.")):
        return ask
    if not work.retry(kind, row, utc_now()):
        flash("That item cannot be tried again now.", "error")
        return see_other(url_for("admin.jobs"))
    audit(current_user, f"retry:{kind}", None, kind, row.id)
    import tasks

    counts = tasks.sweep()  # hands it to the worker now (and anything else that is due)
    flash("Queued again; the job queue is unreachable, so it goes when it is back."
          if counts["not handed out"] else "Queued again: the worker is trying it now.",
          "success")
    return see_other(url_for("admin.jobs"))
