"""A small living hospital for newcomers: departments, doctors with diaries, patients, and
weeks of visits, so that every dashboard, report, history and queue tells a story."""

from __future__ import annotations

import datetime as dt
import json
import random

from flask import current_app

from hms import overbooking, recalls, waitlist
from hms.accounts import create_staff, register_patient, register_walk_in
from hms.clock import clinic_instant, clinic_now
from hms.db import db
from hms.models import (
    Appointment,
    AuditLog,
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


# Walk-ins the desk registered (no login): enough people for a clinic's weeks to look real.
_FIRST = ["Grace", "Hamza", "Isla", "Jonas", "Keira", "Luis", "Maya", "Nikhil", "Olivia", "Pavel",
          "Rosa", "Sam", "Tomás", "Uma", "Victor", "Wen", "Yara", "Zoe", "Aaron", "Bea"]
_LAST = ["Liu", "Ali", "Brown", "Weber", "Walsh", "Gómez", "Cohen", "Rao", "Price", "Novak",
         "Silva", "Taylor", "Byrne", "Shah", "Moreau", "Zhang", "Haddad", "Evans", "Kowalski",
         "Nour"]
WALK_INS = [(f"{_FIRST[i]} {_LAST[(i * 7 + k) % len(_LAST)]}", ("female", "male", "other")[i % 3],
             dt.date(1940 + (i * 13 + k * 29) % 80, 1 + (i + k) % 12, 1 + (i * 3 + k) % 28))
            for k in range(2) for i in range(len(_FIRST))]
REASONS = ["Annual check-up", "Follow-up consultation", "Chest pain on exertion", "Palpitations",
           "Persistent cough", "Rash on both arms", "Asthma review", "Blood pressure review",
           "Headaches for two weeks", "Eczema flare-up", "Vaccination advice", "Back pain"]
# What the doctor found, prescribed and gave, for a completed visit.
FINDINGS = [
    ("Seasonal rhinitis", "Antihistamine daily", "Cetirizine", "10 mg", "once daily", 14),
    ("Essential hypertension", "Start an ACE inhibitor; home readings", "Ramipril", "2.5 mg",
     "once daily", 28),
    ("Acute bronchitis", "Rest and fluids; review if fever persists", "Amoxicillin", "500 mg",
     "three times daily", 7),
    ("Atopic eczema", "Emollients; short steroid course", "Hydrocortisone 1% cream", "thin layer",
     "twice daily", 7),
    ("Mild persistent asthma", "Inhaler technique reviewed", "Salbutamol inhaler", "2 puffs",
     "as needed", 30),
    ("Tension-type headache", "Sleep and screen breaks", "Paracetamol", "1 g", "as needed", 5),
]
HISTORY_DAYS = 28  # weeks of past activity for the dashboards, reports, histories and charts
AHEAD_DAYS = 14    # days ahead that are partly booked


def _book_visits(doctors: list[Doctor], patients: list) -> None:
    """Four weeks of visits (completed with treatments, some no-shows and cancellations), today
    under way, and the next two weeks partly booked: every screen has something true to show
    from the first login, dated from the day it is seeded. Seeded random: the same each time."""
    rng = random.Random(2026)
    now = clinic_now()
    today = now.date()
    for doctor in doctors:
        open_week_from_plan(doctor, today - dt.timedelta(days=HISTORY_DAYS),
                            days=HISTORY_DAYS + 1 + current_app.config["BOOKING_HORIZON_DAYS"])
    desk = User.get(User.username == "desk")
    patients += [register_walk_in(name, gender, dob, f"+44 20 7946 {200 + i:04d}")
                 for i, (name, gender, dob) in enumerate(WALK_INS)]
    busy: set = set()  # (patient, day, time): nobody is in two rooms at once
    for doctor in doctors:
        for slot in _slots(doctor, today - dt.timedelta(days=HISTORY_DAYS),
                           today + dt.timedelta(days=AHEAD_DAYS)):
            start = dt.datetime.combine(slot.date, slot.time_slot)
            past = start < now
            if rng.random() > (0.6 if slot.date == today else 0.3 if past else 0.25):
                continue
            patient = rng.choice(patients)
            if (patient.id, slot.date, slot.time_slot) in busy:
                continue
            busy.add((patient.id, slot.date, slot.time_slot))
            by = patient.user if patient.user.password_hash else desk
            if not past:
                status = "booked"
            elif now - start <= dt.timedelta(minutes=30):
                status = "checked_in"  # the patient waiting now
            else:
                status = rng.choices(["completed", "no_show", "cancelled"], [84, 8, 8])[0]
            visit = _book(patient, doctor, slot, rng.choice(REASONS), status, by)
            # Booked a day or more ahead (so before any cancellation, at most 60 hours ahead).
            booked_at = _stored(start) - dt.timedelta(days=rng.randint(3, 10), hours=3)
            Appointment.update(created_at=booked_at).where(Appointment.id == visit.id).execute()
            arrived = _stored(start) - dt.timedelta(minutes=rng.randint(0, 15))
            if status == "cancelled":
                notice = dt.timedelta(hours=rng.randint(2, 60))
                Appointment.update(
                    cancelled_at=_stored(start) - notice, cancelled_by=by,
                    cancel_reason="Feeling better",
                    late_cancel=notice < dt.timedelta(hours=current_app.config[
                        "LATE_CANCEL_HOURS"]),
                ).where(Appointment.id == visit.id).execute()
            elif status == "no_show":  # most marked by the day's own run
                Appointment.update(no_show_auto=rng.random() < 0.7).where(
                    Appointment.id == visit.id).execute()
            elif status == "checked_in":
                Appointment.update(checked_in_at=min(arrived, _stored(now))).where(
                    Appointment.id == visit.id).execute()
            elif status == "booked" and slot.date - today == dt.timedelta(days=1) \
                    and rng.random() < 0.5:  # answered yesterday's reminder
                Appointment.update(confirmed_at=_stored(now) - dt.timedelta(hours=2)).where(
                    Appointment.id == visit.id).execute()
            elif status == "completed":
                began = max(arrived, _stored(start) + dt.timedelta(
                    minutes=rng.choice([-5, 0, 0, 2, 5, 8, 12, 20])))
                ended = began + dt.timedelta(minutes=rng.randint(8, 25))
                Appointment.update(checked_in_at=arrived, started_at=began,
                                   ended_at=ended).where(Appointment.id == visit.id).execute()
                diagnosis, plan, medicine, dose, often, days = rng.choice(FINDINGS)
                treatment = Treatment.create(
                    appointment=visit, author=doctor.user, diagnosis=diagnosis,
                    prescription=plan, visit_type=rng.choice(["first", "routine", "follow_up"]),
                    notes="Discussed and agreed.", created_at=ended,
                    follow_up_date=slot.date + dt.timedelta(days=28) if days > 14 else None,
                    medicines_json=json.dumps([{"name": medicine, "dose": dose,
                                                "frequency": often, "days": days}]),
                )
                recalls.record(treatment, visit)
    _loops(doctors, patients, rng)


def _loops(doctors: list[Doctor], patients: list, rng: random.Random) -> None:
    """What the day runs on besides bookings: a patient who books through the desk only after
    three missed visits, two on the waitlist, Dr Grey's afternoon open to overbooking with one
    patient booked over it, and staff reads on Anna's record for her "who has seen it" page."""
    now, today = clinic_now(), clinic_now().date()
    grey, house = doctors[0], doctors[1]
    anna, ben, farid = patients[0], patients[1], patients[5]
    desk = User.get(User.username == "desk")
    for weeks in (1, 2, 3):  # Farid missed three visits: he books at the desk now
        day = today - dt.timedelta(weeks=weeks, days=1)
        Appointment.update(status="no_show", no_show_auto=True).where(
            Appointment.patient == farid, Appointment.date == day).execute()
        if not Appointment.select().where(Appointment.patient == farid,
                                          Appointment.date == day).exists():
            Appointment.create(patient=farid, doctor=grey, date=day, time=dt.time(8, 30),
                               reason="Back pain", status="no_show", no_show_auto=True,
                               booked_by=farid.user)
    ahead = today + dt.timedelta(days=13)
    waitlist.join(anna, house.department, house, today, ahead, "morning",
                  "Palpitations: an earlier visit if one frees up", anna.user)
    waitlist.join(ben, house.department, None, today, ahead, "any",
                  "Blood pressure review", desk)
    if dt.datetime.combine(today, dt.time(17)) > now:  # the afternoon is still to come
        overbooking.set_allowance(grey, today, "afternoon", 2, grey.user)
        held = (Appointment.select().where(Appointment.doctor == grey, Appointment.date == today,
                                           Appointment.time >= dt.time(14),
                                           Appointment.status == "booked")
                .order_by(Appointment.time).first())
        extra = next((p for p in patients[6:] if not Appointment.select().where(
            Appointment.patient == p, Appointment.date == today).exists()), None)
        if held and extra and dt.datetime.combine(today, held.time) > now:
            overbooking.overbook(extra, grey, today, held.time, "Chest infection, worse today",
                                 "Urgent: cannot wait until tomorrow", desk)
    for days_ago, who, action in ((3, grey.user, "read"), (10, house.user, "read"),
                                  (10, house.user, "export:pdf")):
        AuditLog.create(user=who, action=action, patient=anna, object_type="history",
                        object_id=anna.id, created_at=_stored(now - dt.timedelta(days=days_ago)))


def _stored(wall: dt.datetime) -> dt.datetime:
    """A clinic wall-clock time as timestamps are stored: naive UTC."""
    return clinic_instant(wall.date(), wall.time()).replace(tzinfo=None)


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
