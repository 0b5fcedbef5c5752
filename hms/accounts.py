"""Creating accounts: shared by registration, the CLI, the demo data and the admin screens."""

from __future__ import annotations

import datetime as dt
import secrets

from peewee import IntegrityError
from werkzeug.security import generate_password_hash

from hms.cache import directory_changed
from hms.db import db
from hms.forms import normalise_email
from hms.models import Appointment, Department, Doctor, Patient, User


def hash_password(password: str) -> str:
    """Hash with Werkzeug's default algorithm (scrypt)."""
    return generate_password_hash(password)


def create_staff(role: str, username: str, email: str, password: str | None,
                 full_name: str | None = None, department: str | None = None) -> User:
    """Create a login for staff; a doctor gets their profile in the same transaction. Without
    a password, its owner chooses one through an invitation (hms/passwords.py)."""
    with db.atomic():
        user = User.create(username=username.strip(), email=normalise_email(email),
                           password_hash=hash_password(password) if password else None,
                           role=role)
        if role == "doctor":
            dept, _ = Department.get_or_create(name=department.strip())
            Doctor.create(user=user, full_name=full_name.strip(), department=dept)
    if role == "doctor":
        directory_changed()
    return user


def register_patient(username: str, email: str, password: str | None, full_name: str,
                     gender: str, dob: dt.date, phone: str, address: str = "") -> User:
    """Create a patient's login and profile together, or neither. Without a password, the
    login works once one is set (a registration's confirmation link, an invitation)."""
    with db.atomic():
        user = User.create(username=username.strip(), email=normalise_email(email),
                           password_hash=hash_password(password) if password else None,
                           role="patient")
        Patient.create(user=user, full_name=full_name.strip(), gender=gender, dob=dob,
                       phone=phone.strip(), address=address.strip())
    return user


def create_doctor(username: str, email: str, full_name: str, department_id: int,
                  experience_years: int, about: str) -> Doctor:
    """A doctor's login (without a password: they are invited to choose one) and profile,
    together or not at all."""
    with db.atomic():
        user = User.create(username=username.strip(), email=normalise_email(email),
                           password_hash=None, role="doctor")
        doctor = Doctor.create(user=user, full_name=full_name.strip(), department=department_id,
                               experience_years=experience_years, about=(about or "").strip())
    directory_changed()
    return doctor


def register_walk_in(full_name: str, gender: str, dob: dt.date, phone: str,
                     address: str = "", email: str | None = None) -> Patient:
    """A patient registered by staff, without a password: they cannot log in until they are
    given one. The username is generated from the patient number."""
    with db.atomic():
        user = User.create(username=f"patient-{secrets.token_hex(4)}",
                           email=normalise_email(email) if email else None,
                           password_hash=None, role="patient")
        patient = Patient.create(user=user, full_name=full_name.strip(), gender=gender, dob=dob,
                                 phone=phone.strip(), address=(address or "").strip())
        user.username = f"patient-{patient.id}"
        user.save()
    return patient


def set_active(user: User, active: bool) -> None:
    """Deactivate (blacklist) or reactivate a login."""
    User.update(is_active=active).where(User.id == user.id).execute()


def delete_doctor(doctor: Doctor) -> bool:
    """Delete a doctor who never had an appointment (their diary goes too, by the schema's
    cascade); False when they have history, which must stay: deactivate them instead."""
    if Appointment.select().where(Appointment.doctor == doctor).exists():
        return False
    try:
        with db.atomic():
            user = doctor.user
            doctor.delete_instance()
            user.delete_instance()
    except IntegrityError:  # the audit log or other records still name this login
        return False
    return True
