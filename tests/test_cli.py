"""The `hms` command: init-db, create-user and seed-demo, each safe to run twice."""

from __future__ import annotations

import datetime as dt

from werkzeug.security import check_password_hash

from hms.clock import clinic_today
from hms.models import Appointment, Doctor, DoctorAvailability, Patient, Treatment, User
from support import make_app


def test_init_db_can_run_twice(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "Database ready." in result.output


def test_create_user_makes_an_admin_who_can_log_in(runner, auth):
    result = runner.invoke(args=["create-user", "--role", "admin", "--username", "boss",
                                 "--email", "boss@test.example"],
                           input="a-long-secret\na-long-secret\n")
    assert result.exit_code == 0, result.output
    user = User.get(User.username == "boss")
    assert user.role == "admin" and check_password_hash(user.password_hash, "a-long-secret")
    assert auth.login("boss", "a-long-secret").headers["Location"] == "/admin/"


def test_create_user_makes_a_doctor_with_a_profile(runner):
    result = runner.invoke(args=["create-user", "--role", "doctor", "--username", "dr.new",
                                 "--email", "new@test.example", "--password", "long-enough",
                                 "--full-name", "Dr New", "--department", "Neurology"])
    assert result.exit_code == 0, result.output
    assert Doctor.get(Doctor.full_name == "Dr New").department.name == "Neurology"


def test_create_user_refuses_a_taken_username_and_short_password(runner):
    taken = runner.invoke(args=["create-user", "--role", "admin", "--username", "admin",
                                "--email", "x@test.example", "--password", "long-enough"])
    assert taken.exit_code != 0 and "already taken" in taken.output
    short = runner.invoke(args=["create-user", "--role", "admin", "--username", "newbie",
                                "--email", "y@test.example", "--password", "short"])
    assert short.exit_code != 0 and "10 characters" in short.output
    assert not User.select().where(User.username == "newbie").exists()


def test_create_user_cannot_create_patients_or_doctors_without_a_department(runner):
    result = runner.invoke(args=["create-user", "--role", "doctor", "--username", "dr.x",
                                 "--email", "x@test.example", "--password", "long-enough"])
    assert result.exit_code != 0 and "--department" in result.output
    assert runner.invoke(args=["create-user", "--role", "patient", "--username", "p",
                               "--email", "p@test.example", "--password", "long-enough"]
                         ).exit_code != 0


def test_seed_demo_fills_a_living_hospital_once(tmp_path, redis_url):
    app = make_app(tmp_path, redis_url)  # an empty database, without the personas
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "Demo data created." in first.output
    assert "anna (patient)" in first.output
    counts = [m.select().count() for m in (User, Doctor, Patient, Appointment, Treatment,
                                           DoctorAvailability)]
    assert Doctor.select().count() == 5 and Treatment.select().count() > 0
    assert Appointment.select().where(Appointment.status == "booked").count() > 0
    # A hospital that tells one story: every completed visit has its treatment, written after
    # it began; some no-shows and cancellations; weeks behind and days ahead of today; a day
    # under way today.
    with app.app_context():
        today = clinic_today()
    completed = Appointment.select().where(Appointment.status == "completed")
    assert Treatment.select().count() == completed.count() > 100
    for status in ("no_show", "cancelled", "checked_in"):
        assert Appointment.select().where(Appointment.status == status).exists(), status
    dates = [a.date for a in Appointment.select()]
    assert min(dates) <= today - dt.timedelta(days=21) and max(dates) >= today + dt.timedelta(7)
    assert Appointment.select().where(Appointment.date == today).count() >= 5
    cancelled = Appointment.get(Appointment.status == "cancelled")
    assert cancelled.cancelled_at and cancelled.cancelled_by_id
    # The loops have their stories too: visits with their times, automatic no-shows, late
    # cancellations, confirmations, recalls, two patients waiting (one offered a time), an
    # afternoon booked over, a patient who books at the desk only, reads on Anna's record.
    from hms.models import AuditLog, OverbookAllowance, Recall, SlotOffer, WaitlistEntry
    from hms.scheduling import desk_only

    done = Appointment.get(Appointment.status == "completed")
    assert done.checked_in_at <= done.started_at < done.ended_at
    for flag in (Appointment.no_show_auto, Appointment.late_cancel,
                 Appointment.confirmed_at.is_null(False), Appointment.overbook):
        assert Appointment.select().where(flag).exists(), flag
    assert Recall.select().count() > 10 and WaitlistEntry.select().count() == 2
    assert SlotOffer.select().count() >= 1 and OverbookAllowance.select().count() == 1
    assert AuditLog.select().where(AuditLog.patient == Patient.get(Patient.full_name ==
                                                                   "Anna Schmidt")).count() == 3
    with app.app_context():
        assert len(desk_only(Patient.get(Patient.full_name == "Farid Haddad"))) >= 3
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "demo data not added" in second.output
    assert [m.select().count() for m in (User, Doctor, Patient, Appointment, Treatment,
                                         DoctorAvailability)] == counts


def test_sweep_command_hands_due_work_to_the_queue(app, runner, people, diary, redis_url):
    import redis

    import tasks
    from hms.models import Appointment, Reminder, ReportSend

    tasks.huey.flush()
    app.config.update(REMINDER_DAYS_AHEAD=2)  # tomorrow's reminders are due
    visit = Appointment.create(patient=people.patient("pat.one"),
                               doctor=people.doctor("dr.one"), date=diary, time=dt.time(9),
                               reason="x")
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    reports = ReportSend.select().count()  # last month's, in the first week of a month
    assert result.output == (f"1 reminders, {reports} reports, 0 exports, 0 accounts, 0 offers, "
                             "0 recalls, 0 no-shows, 0 not handed out.\n")
    assert Reminder.get(Reminder.appointment == visit.id).status == "queued"
    assert redis.Redis.from_url(redis_url).llen("huey.redis.hms") == 1 + reports  # the queue
    tasks.huey.flush()
