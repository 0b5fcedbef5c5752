"""Profiles: a patient's and a doctor's own details, viewed and edited."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from hms import cache
from hms.audit import audit
from hms.auth import doctor_of, patient_of, role_required
from hms.db import db
from hms.forms import DoctorProfileForm, PatientProfileForm
from hms.web import render, see_other

bp = Blueprint("profiles", __name__)

PATIENT_FIELDS = ("full_name", "gender", "dob", "address", "phone", "height_cm", "weight_kg",
                  "blood_group", "is_disabled")
DOCTOR_FIELDS = ("full_name", "experience_years", "about")


@bp.route("/me/profile", methods=["GET", "POST"])
@role_required("patient")
def patient():
    """A patient's own details; invalid values are refused beside the field, nothing saved."""
    me = patient_of(current_user)
    form = PatientProfileForm(obj=me)
    if form.validate_on_submit():
        for name in PATIENT_FIELDS:
            value = getattr(form, name).data
            setattr(me, name, value.strip() if isinstance(value, str) else value)
        me.blood_group = me.blood_group or None
        with db.atomic():
            me.save()
            audit(current_user, "update", me, "patient", me.id)
        flash("Your profile is saved.", "success")
        return see_other(url_for(".patient"))
    return render("profiles/patient.html", "profiles/_patient_form.html",
                  status=422 if request.method == "POST" else 200, form=form)


@bp.route("/doctor/profile", methods=["GET", "POST"])
@role_required("doctor")
def doctor():
    """A doctor's own details as patients see them in the directory."""
    me = doctor_of(current_user)
    form = DoctorProfileForm(obj=me, department=me.department_id)
    if request.method == "GET":
        form.department.data = me.department_id
    if form.validate_on_submit():
        for name in DOCTOR_FIELDS:
            value = getattr(form, name).data
            setattr(me, name, value.strip() if isinstance(value, str) else value)
        me.department = form.department.data
        me.save()
        cache.doctor_changed(me.id)  # the directory and dashboards show the new details
        flash("Your profile is saved.", "success")
        return see_other(url_for(".doctor"))
    return render("profiles/doctor.html", "profiles/_doctor_form.html",
                  status=422 if request.method == "POST" else 200, form=form)
