"""A small living hospital for newcomers: departments, doctors with diaries, patients, visits."""

from __future__ import annotations

import datetime as dt
import json

from flask import current_app

from hms.accounts import create_staff, register_patient
from hms.clock import clinic_now
from hms.db import db
from hms.models import (
    Appointment,
    Department,
    Doctor,
    DoctorAvailability,
    Treatment,
    User,
    WorkingHours,
)
from hms.scheduling import open_week_from_plan

DEMO_PASSWORD = "demo-pass-123"

DEPARTMENTS = {
    "Cardiology": "Heart and circulation.",
    "Paediatrics": "Children from birth to sixteen.",
    "Dermatology": "Skin, hair and nails.",
    "General Medicine": "First stop for adults.",
}

DOCTORS = [
    ("dr.grey", "Dr Meredith Grey", "General Medicine", 12,
     "Family medicine with an interest in diabetes care."),
    ("dr.house", "Dr Gregory House", "Cardiology", 20,
     "Heart rhythm disorders and hard-to-explain chest pain."),
    ("dr.yang", "Dr Cristina Yang", "Cardiology", 9, "Cardiothoracic follow-up clinics."),
    ("dr.ross", "Dr Doug Ross", "Paediatrics", 15, "Childhood asthma and allergies."),
    ("dr.kim", "Dr Soo Kim", "Dermatology", 7, "Eczema, acne and skin checks."),
]

PATIENTS = [
    ("anna", "Anna Schmidt", "female", dt.date(1985, 4, 12), "+44 20 7946 0101"),
    ("ben", "Ben Okafor", "male", dt.date(1972, 11, 3), "+44 20 7946 0102"),
    ("chloe", "Chloe Martin", "female", dt.date(2015, 6, 21), "+44 20 7946 0103"),
    ("dev", "Dev Patel", "male", dt.date(1990, 1, 30), "+44 20 7946 0104"),
    ("elena", "Elena Rossi", "female", dt.date(1958, 9, 9), "+44 20 7946 0105"),
    ("farid", "Farid Haddad", "other", dt.date(2001, 2, 14), "+44 20 7946 0106"),
]

# Monday to Friday, 09:00–13:00 and 14:00–17:00.
PLAN = [(day, start, end) for day in range(5)
        for start, end in ((dt.time(9), dt.time(13)), (dt.time(14), dt.time(17)))]


def seed_demo() -> bool:
    """Fill an empty database with the demo hospital; returns False (and changes nothing) when
    the database already has accounts: the demo's or a real hospital's."""
    if User.select().exists():
        return False
    with db.atomic():
        for name, description in DEPARTMENTS.items():
            Department.get_or_create(name=name, defaults={"description": description})
        create_staff("admin", "admin", "admin@hms.example", DEMO_PASSWORD)
        create_staff("receptionist", "desk", "desk@hms.example", DEMO_PASSWORD)
        doctors = []
        for username, name, dept, years, about in DOCTORS:
            create_staff("doctor", username, f"{username}@hms.example", DEMO_PASSWORD, name, dept)
            doctor = Doctor.get(Doctor.full_name == name)
            doctor.experience_years, doctor.about = years, about
            doctor.save()
            WorkingHours.insert_many(
                [{"doctor": doctor.id, "weekday": d, "start_time": s, "end_time": e}
                 for d, s, e in PLAN]
            ).execute()
            doctors.append(doctor)
        patients = [
            register_patient(username, f"{username}@example.org", DEMO_PASSWORD, name, gender,
                             dob, phone, "12 High Street").patient_profile.get()
            for username, name, gender, dob, phone in PATIENTS
        ]
        _book_visits(doctors, patients)
    return True


def _book_visits(doctors: list[Doctor], patients: list) -> None:
    """A fortnight of history and a week ahead, so every screen has something to show."""
    now = clinic_now()
    today = now.date()
    for doctor in doctors:
        # Two weeks of history, and the plan opened up to the booking horizon.
        open_week_from_plan(doctor, today - dt.timedelta(days=14),
                            days=15 + current_app.config["BOOKING_HORIZON_DAYS"])
    admin = User.get(User.username == "admin")
    for i, patient in enumerate(patients):
        busy: set = set()  # the patient's own times: nobody is in two rooms at once
        for k, doctor in enumerate((doctors[i % len(doctors)], doctors[(i + 2) % len(doctors)])):
            past = [s for s in _slots(doctor, today - dt.timedelta(days=14), today)
                    if dt.datetime.combine(s.date, s.time_slot) < now
                    and (s.date, s.time_slot) not in busy]
            future = [s for s in _slots(doctor, today, today + dt.timedelta(days=7))
                      if dt.datetime.combine(s.date, s.time_slot) > now
                      and (s.date, s.time_slot) not in busy]
            if past:
                slot = past[(i * 7 + k * 3) % len(past)]
                busy.add((slot.date, slot.time_slot))
                visit = _book(patient, doctor, slot, "Annual check-up", "completed", admin)
                Treatment.create(
                    appointment=visit, author=doctor.user, diagnosis="Seasonal rhinitis",
                    prescription="Cetirizine", visit_type="routine", notes="Improving.",
                    follow_up_date=visit.date + dt.timedelta(days=30),
                    medicines_json=json.dumps([{"name": "Cetirizine", "dose": "10 mg",
                                                "frequency": "once daily", "days": 14}]),
                )
            if future:
                slot = future[(i * 5 + k * 2) % len(future)]
                busy.add((slot.date, slot.time_slot))
                _book(patient, doctor, slot, "Follow-up consultation", "booked", admin)


def _slots(doctor: Doctor, first: dt.date, last: dt.date) -> list[DoctorAvailability]:
    """A doctor's open slots that no live appointment holds, in time order."""
    taken = {(a.date, a.time) for a in Appointment.select().where(
        Appointment.doctor == doctor, Appointment.status.not_in(("cancelled", "rescheduled")))}
    return [s for s in DoctorAvailability.select().where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.is_available == True,  # noqa: E712
        DoctorAvailability.date.between(first, last),
    ).order_by(DoctorAvailability.date, DoctorAvailability.time_slot)
        if (s.date, s.time_slot) not in taken]


def _book(patient, doctor: Doctor, slot: DoctorAvailability, reason: str, status: str,
          by: User) -> Appointment:
    return Appointment.create(patient=patient, doctor=doctor, date=slot.date, time=slot.time_slot,
                              reason=reason, status=status, booked_by=by)
