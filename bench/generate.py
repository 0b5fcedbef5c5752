"""Build a generated hospital for benchmarks: `python bench/generate.py PATH [--size full|tenth]`.

The database is created from schema.sql (through `hms init-db`'s code), then filled in bulk with
plain SQL in one transaction per table, so every CHECK, foreign key and unique index of the
schema judges every row. "Today" is the clinic's today on the one clock (hms/clock.py).

What it holds, at full size (the 1/10 size divides doctors, patients and appointments by 10):
- 200 doctors in 12 specializations, 100,000 patients, an admin and two receptionists;
- each doctor's diary: weekdays 09:00-17:00 in 30-minute slots from two years back to four
  weeks ahead (about 1.7 million availability rows), a few slots closed;
- about a million appointments in those slots: past ones completed, cancelled, no-shows or
  rescheduled (linked to the appointment that replaced them), today's booked or checked in,
  future ones booked; a treatment with medicines for most completed visits;
- known logins, all with the password `bench-pass-123`: `admin`, `desk1`, `dr.0001` ...,
  `patient.000001` ... ; `patient.000001` has a history of 300 visits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-123"
# (doctors, patients, appointments); "small" is for tests/test_scale.py.
SIZES = {"full": (200, 100_000, 1_000_000), "tenth": (20, 10_000, 100_000),
         "small": (20, 500, 4_000)}
SPECIALIZATIONS = ["Cardiology", "Dermatology", "Endocrinology", "Gastroenterology",
                   "General practice", "Neurology", "Obstetrics", "Oncology", "Ophthalmology",
                   "Orthopaedics", "Paediatrics", "Psychiatry"]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemi",
         "Liam", "Maya", "Noor", "Owen", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar",
         "Vera", "Wen", "Yusuf", "Zoe"]
LAST = ["Adams", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iqbal",
        "Jones", "Khan", "Lopez", "Murphy", "Nowak", "Okafor", "Patel", "Quinn", "Rossi",
        "Singh", "Taylor", "Usman", "Varga", "Walsh", "Xu", "Young", "Zielinski"]
REASONS = ["Check-up", "Chest pain", "Follow-up", "Rash", "Headache", "Back pain", "Cough",
           "Blood pressure", "Results", "Dizziness", ""]
DIAGNOSES = ["Hypertension", "Eczema", "Migraine", "Viral infection", "Lumbar strain",
             "Type 2 diabetes", "Asthma", "Anxiety", "Gastritis", "Healthy"]
MEDICINES = [("Amoxicillin", "500 mg", "3x daily", 7), ("Ibuprofen", "400 mg", "as needed", 5),
             ("Lisinopril", "10 mg", "once daily", 30), ("Metformin", "500 mg", "2x daily", 90),
             ("Salbutamol", "100 mcg", "as needed", 30), ("Omeprazole", "20 mg", "once daily", 28)]
SLOTS = [dt.time(h, m) for h in range(9, 17) for m in (0, 30)]  # 16 a day
SLOT_TEXT = {t: t.isoformat() for t in SLOTS}
PAST_DAYS, AHEAD_DAYS = 730, 28
LONG_HISTORY = 300


def build(path: Path, size: str, seed: int = 7, **config):
    """Create the hospital at path (which must not exist); returns the app on it and the row
    counts."""
    from hms import create_app
    from hms.accounts import hash_password
    from hms.clock import clinic_instant, clinic_today, utc_now
    from hms.db import BACKFILLS, init_schema

    if path.exists():
        raise SystemExit(f"{path} exists: give a new file")
    app = create_app({"DATABASE": str(path.resolve()), "SECRET_KEY": "bench",
                      "INSTANCE_PATH": str(path.resolve().parent / "instance"), **config})
    with app.app_context():
        init_schema()
        today, now = clinic_today(), utc_now()
        password = hash_password(PASSWORD)  # one scrypt hash, shared: hashing is slow on purpose

        def stamp(day: dt.date, at: dt.time) -> str:
            return clinic_instant(day, at).strftime("%Y-%m-%d %H:%M:%S")

        rng = random.Random(seed)
        doctors, patients, appointments = SIZES[size]
        con = sqlite3.connect(path)
        con.execute("PRAGMA foreign_keys = ON")
        try:
            # The derived tables (search indexes, tallies, the daily rollup) are made once at
            # the end, as init-db makes them for an older database, rather than by a trigger
            # per inserted row.
            for table in BACKFILLS:
                for (trigger,) in con.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
                        (f"{table}_%",)).fetchall():
                    con.execute(f'DROP TRIGGER "{trigger}"')
                con.execute(f'DROP TABLE "{table}"')
            counts = _fill(con, rng, today, now, stamp, password, doctors, patients, appointments)
            con.commit()
        finally:
            con.close()
        init_schema()  # the derived tables and their triggers again, filled; then ANALYZE
    return app, counts


def _fill(con, rng, today, now, stamp, password, n_doctors, n_patients, n_appointments):
    created = (now - dt.timedelta(days=PAST_DAYS + 30)).strftime("%Y-%m-%d %H:%M:%S")
    con.executemany("INSERT INTO department (id, name) VALUES (?, ?)",
                    list(enumerate(SPECIALIZATIONS, 1)))
    staff = [("admin", "admin"), ("desk1", "receptionist"), ("desk2", "receptionist")]
    users = [(i, name, f"{name}@bench.example", password, role, 1, created)
             for i, (name, role) in enumerate(staff, 1)]
    doctor_rows, patient_rows = [], []
    for d in range(1, n_doctors + 1):
        uid = len(users) + 1
        users.append((uid, f"dr.{d:04d}", f"dr.{d:04d}@bench.example", password, "doctor", 1,
                      created))
        doctor_rows.append((d, uid, f"Dr {rng.choice(FIRST)} {rng.choice(LAST)}",
                            (d - 1) % len(SPECIALIZATIONS) + 1, rng.randint(1, 35)))
    for p in range(1, n_patients + 1):
        uid = len(users) + 1
        joined = now - dt.timedelta(days=rng.randint(0, PAST_DAYS + 30),
                                    minutes=rng.randint(0, 1439))
        users.append((uid, f"patient.{p:06d}", f"patient.{p:06d}@bench.example", password,
                      "patient", 1, joined.strftime("%Y-%m-%d %H:%M:%S")))
        patient_rows.append((p, uid, f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                             rng.choice(("female", "male", "other")),
                             dt.date(rng.randint(1935, 2020), rng.randint(1, 12),
                                     rng.randint(1, 28)).isoformat(),
                             f"+44 7{p:09d}"))
    con.executemany("INSERT INTO users (id, username, email, password_hash, role, is_active, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", users)
    con.executemany("INSERT INTO doctor (id, user_id, full_name, department_id, "
                    "experience_years) VALUES (?, ?, ?, ?, ?)", doctor_rows)
    con.executemany("INSERT INTO patient (id, user_id, full_name, gender, dob, phone) "
                    "VALUES (?, ?, ?, ?, ?, ?)", patient_rows)
    con.executemany("INSERT INTO working_hours (doctor_id, weekday, start_time, end_time) "
                    "VALUES (?, ?, '09:00:00', '17:00:00')",
                    [(d, w) for d in range(1, n_doctors + 1) for w in range(5)])

    days = [today + dt.timedelta(days=i) for i in range(-PAST_DAYS, AHEAD_DAYS + 1)]
    workdays = [day for day in days if day.weekday() < 5]
    per_doctor_day = n_appointments / (n_doctors * len(workdays))
    doctor_user = {d[0]: d[1] for d in doctor_rows}
    availability, appts, treatments = [], [], []
    long_history = iter(sorted(rng.sample(range(len(workdays) - AHEAD_DAYS), LONG_HISTORY)))
    next_long = next(long_history)
    for index, day in enumerate(workdays):
        taken_by_patients: set[tuple[int, dt.time]] = set()
        iso = day.isoformat()
        for doctor in range(1, n_doctors + 1):
            closed = rng.random() < 0.02
            availability += [(doctor, iso, SLOT_TEXT[t], 0 if closed else 1) for t in SLOTS]
            if closed:
                continue
            want = min(len(SLOTS), int(per_doctor_day) + (rng.random() < per_doctor_day % 1))
            if doctor == 1 and 0 <= next_long <= index:
                want = max(want, 1)  # a visit of the long history is due
            for at in rng.sample(SLOTS, want):
                patient = rng.randint(2, n_patients)
                if doctor == 1 and 0 <= next_long <= index:  # the long history, with Dr 0001
                    patient, next_long = 1, next(long_history, -1)
                if (patient, at) in taken_by_patients:
                    continue
                taken_by_patients.add((patient, at))
                appts.append(_appointment(rng, len(appts) + 1, patient, doctor, day, at, today,
                                          stamp, doctor_user))
                if appts[-1][5] == "completed" and rng.random() < 0.8:
                    treatments.append(_treatment(rng, len(appts), doctor_user[doctor], day,
                                                 at, stamp))
    con.executemany("INSERT INTO doctor_availability (doctor_id, date, time_slot, is_available)"
                    " VALUES (?, ?, ?, ?)", availability)
    con.executemany("INSERT INTO appointment (id, patient_id, doctor_id, date, time, status, "
                    "reason, created_at, booked_by_id, cancelled_at, cancelled_by_id, "
                    "cancel_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", appts)
    moved = _reschedules(con, rng, appts, today)
    con.executemany("INSERT INTO treatment (appointment_id, author_id, diagnosis, prescription,"
                    " visit_type, follow_up_date, medicines_json, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", treatments)
    # One patient in a hundred waits for an earlier time: with a doctor, or any doctor of the
    # doctor's specialization, from the coming week on (the sweep offers them what frees).
    waiting = []
    for n, patient in enumerate(rng.sample(range(2, n_patients + 1), n_patients // 100)):
        doctor = rng.choice(doctor_rows)
        first = today + dt.timedelta(days=rng.randint(0, 7))
        waiting.append((patient, doctor[3], doctor[0] if n % 2 else None, first.isoformat(),
                        (first + dt.timedelta(days=rng.randint(7, 21))).isoformat(),
                        rng.choice(("any", "morning", "afternoon")), "Earlier if possible",
                        created))
    con.executemany("INSERT INTO waitlist_entry (patient_id, department_id, doctor_id, "
                    "first_day, last_day, part_of_day, reason, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", waiting)
    return {"doctors": n_doctors, "patients": n_patients, "appointments": len(appts) + moved,
            "treatments": len(treatments), "availability": len(availability),
            "waiting": len(waiting)}


def _appointment(rng, id_, patient, doctor, day, at, today, stamp, doctor_user):
    booked = day - dt.timedelta(days=rng.randint(1, 40))
    created = stamp(booked, dt.time(rng.randint(8, 19), rng.choice((0, 15, 30, 45))))
    if day < today:
        status = rng.choices(("completed", "cancelled", "no_show"), (85, 10, 5))[0]
    elif day == today:
        status = rng.choice(("booked", "checked_in"))
    else:
        status = "booked"
    cancelled = status == "cancelled"
    return (id_, patient, doctor, day.isoformat(), SLOT_TEXT[at], status,
            rng.choice(REASONS), created, None,
            stamp(day - dt.timedelta(days=1), dt.time(12)) if cancelled else None,
            doctor_user[doctor] if cancelled else None,
            "Patient asked" if cancelled else None)


def _reschedules(con, rng, appts, today) -> int:
    """Move about 2% of past completed visits one week earlier to an old, rescheduled one: the
    old appointment (status rescheduled) is inserted at a free slot and linked from the visit."""
    taken = {(a[2], a[3], a[4]) for a in appts}
    patient_taken = {(a[1], a[3], a[4]) for a in appts}
    rows, links = [], []
    next_id = len(appts) + 1
    for appt in rng.sample(appts, len(appts) // 50):
        if appt[5] != "completed":
            continue
        earlier = (dt.date.fromisoformat(appt[3]) - dt.timedelta(days=7)).isoformat()
        if (appt[2], earlier, appt[4]) in taken or (appt[1], earlier, appt[4]) in patient_taken:
            continue
        taken.add((appt[2], earlier, appt[4]))
        rows.append((next_id, appt[1], appt[2], earlier, appt[4], "rescheduled", appt[6],
                     appt[7], None, appt[7], None, None))
        links.append((next_id, appt[0]))
        next_id += 1
    con.executemany("INSERT INTO appointment (id, patient_id, doctor_id, date, time, status, "
                    "reason, created_at, booked_by_id, cancelled_at, cancelled_by_id, "
                    "cancel_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.executemany("UPDATE appointment SET rescheduled_from_id = ? WHERE id = ?", links)
    return len(rows)


def _treatment(rng, appointment_id, author, day, at, stamp):
    medicines = [dict(zip(("name", "dose", "frequency", "days"), m, strict=True))
                 for m in rng.sample(MEDICINES, rng.randint(0, 3))]
    follow_up = (day + dt.timedelta(days=rng.choice((14, 28, 90)))).isoformat() \
        if rng.random() < 0.3 else None
    written = (dt.datetime.combine(day, at) + dt.timedelta(minutes=25)).time()
    return (appointment_id, author, rng.choice(DIAGNOSES), "As discussed",
            rng.choice(("first", "follow_up", "routine", "emergency")), follow_up,
            json.dumps(medicines), stamp(day, written))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    _, counts = build(args.path, args.size, args.seed)
    print(", ".join(f"{v:,} {k}" for k, v in counts.items()),
          f"in {time.monotonic() - started:.0f} s ->", args.path)


if __name__ == "__main__":
    main()
