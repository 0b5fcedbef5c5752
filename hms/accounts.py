"""Creating accounts: shared by registration, the CLI, the demo data and the admin screens."""

from __future__ import annotations

import datetime as dt

from werkzeug.security import generate_password_hash

from hms.db import db
from hms.forms import normalise_email
from hms.models import Department, Doctor, Patient, User


def hash_password(password: str) -> str:
    """Hash with Werkzeug's default algorithm (scrypt)."""
    return generate_password_hash(password)


def create_staff(role: str, username: str, email: str, password: str,
                 full_name: str | None = None, department: str | None = None) -> User:
    """Create a login for staff; a doctor gets their profile in the same transaction."""
    with db.atomic():
        user = User.create(username=username.strip(), email=normalise_email(email),
                           password_hash=hash_password(password), role=role)
        if role == "doctor":
            dept, _ = Department.get_or_create(name=department.strip())
            Doctor.create(user=user, full_name=full_name.strip(), department=dept)
    return user


def register_patient(username: str, email: str, password: str, full_name: str, gender: str,
                     dob: dt.date, phone: str, address: str = "") -> User:
    """Create a patient's login and profile together, or neither."""
    with db.atomic():
        user = User.create(username=username.strip(), email=normalise_email(email),
                           password_hash=hash_password(password), role="patient")
        Patient.create(user=user, full_name=full_name.strip(), gender=gender, dob=dob,
                       phone=phone.strip(), address=address.strip())
    return user
