"""The Redis cache: the directory, free slots and dashboard counts are served from it, every
change shows on the very next request, and without Redis every page still works."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter

import pytest
import redis

import tasks
from hms import cache, scheduling
from hms.accounts import set_active
from hms.clock import clinic_today
from hms.db import db
from hms.models import Appointment, Doctor, DoctorAvailability, User, WorkingHours
from hms.scheduling import week_start
from support import PASSWORD, csrf_token, free_port, make_app, statements

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}
SLOT_LINK = re.compile(r'\?slot=(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})"')
MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


# --- helpers ----------------------------------------------------------------------------------

def signed_in(app, username: str):
    """A browser of its own, logged in as this persona."""
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page.text),
                                           "username": username, "password": PASSWORD})
    assert response.status_code == 303
    return client


def token(client, path: str = "/") -> str:
    return csrf_token(client.get(path, follow_redirects=True).text)


def key(day: dt.date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}"


def picker(client, doctor_id: int, day: dt.date) -> list[str]:
    """The times the slot picker offers on a day, as slot keys."""
    response = client.get(f"/doctors/{doctor_id}?date={day.isoformat()}", headers=HTMX)
    assert response.status_code == 200
    return SLOT_LINK.findall(response.text)


def soonest(client, doctor_id: int) -> list[str]:
    """The soonest free times on the doctor's page."""
    page = client.get(f"/doctors/{doctor_id}")
    assert page.status_code == 200
    return SLOT_LINK.findall(page.text.split("Pick a day")[0])


def book(client, doctor_id: int, slot: str):
    page = client.get(f"/appointments/book/{doctor_id}?slot={slot}")
    return client.post(f"/appointments/book/{doctor_id}", data={
        "csrf_token": csrf_token(page.text), "slot": slot, "reason": "Check-up"})


def booked_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def tile(page: str, label: str) -> int:
    """The number on a dashboard tile."""
    return int(re.search(rf"<strong>(\d+)</strong> {label}<", page).group(1))


def status_count(page: str, status: str) -> int:
    """A row of the admin dashboard's appointments-by-status table."""
    return int(re.search(rf">{status}</a></td><td>(\d+)</td>", page).group(1))


def redis_keys(app, redis_url: str, pattern: str) -> list[bytes]:
    """This site's keys in Redis matching the pattern after the site prefix."""
    prefix = app.extensions["hms_cache"].prefix
    return redis.Redis.from_url(redis_url).keys(f"{prefix}:{pattern}")


def generation(app, redis_url: str, namespace: str) -> int:
    prefix = app.extensions["hms_cache"].prefix
    return int(redis.Redis.from_url(redis_url).get(f"{prefix}:gen:{namespace}") or 0)


@pytest.fixture
def computed(monkeypatch) -> Counter:
    """How often each doctor's free slots were computed from the database."""
    calls: Counter = Counter()
    real = scheduling.free_slots

    def counting(doctor, *args, **kwargs):
        calls[doctor.id] += 1
        return real(doctor, *args, **kwargs)

    monkeypatch.setattr(scheduling, "free_slots", counting)
    return calls


@pytest.fixture
def one(people) -> int:
    return people.doctor("dr.one").id


@pytest.fixture
def two(people) -> int:
    return people.doctor("dr.two").id


@pytest.fixture
def pat1(app):
    return signed_in(app, "pat.one")


@pytest.fixture
def pat2(app):
    return signed_in(app, "pat.two")


@pytest.fixture
def dr1(app):
    return signed_in(app, "dr.one")


@pytest.fixture
def admin(app):
    return signed_in(app, "admin")


# --- the cache is really used -----------------------------------------------------------------

def test_free_slots_are_computed_once_then_served_from_redis(app, redis_url, diary, one, pat1,
                                                            pat2, computed):
    assert picker(pat1, one, diary) == [key(diary, t) for t in MORNING]
    assert soonest(pat1, one) == [key(diary, t) for t in MORNING]
    assert picker(pat2, one, diary + dt.timedelta(days=1))[0] == key(diary + dt.timedelta(1),
                                                                      "09:00")
    assert computed == {one: 1}  # one list per doctor and day serves every page and patient
    assert len(redis_keys(app, redis_url, f"slots:{one}:*")) == 1


def test_directory_is_served_from_redis(pat1):
    with statements() as first:
        assert "Dr Ada One" in pat1.get("/doctors/").text
    assert any('"doctor"' in sql for sql in first)
    with statements() as second:
        page = pat1.get("/doctors/").text
        found = pat1.get("/doctors/?q=ADA", headers=HTMX).text
    assert "Dr Ada One" in page and "Cardiology" in page and "Dermatology" in page
    assert "Dr Ada One" in found and "Dr Bo Two" not in found
    assert not [sql for sql in second if '"doctor"' in sql or '"department"' in sql]


def test_dashboard_counts_are_served_from_redis(app, redis_url, admin, dr1):
    with statements() as first:
        admin.get("/admin/")
    with statements() as second:
        page = admin.get("/admin/").text
    assert any("GROUP BY" in sql for sql in first)
    assert not any("GROUP BY" in sql for sql in second)
    assert tile(page, "Active doctors") == 2 and tile(page, "Active patients") == 2
    with statements() as first:
        dr1.get("/doctor/")
    with statements() as second:
        dr1.get("/doctor/")
    assert any("COUNT" in sql for sql in first)  # the week, the later ones, the 30 days
    assert not any("COUNT" in sql for sql in second)
    assert redis_keys(app, redis_url, "stats:*")


# --- every change shows on the very next request ----------------------------------------------

def test_booking_hides_the_slot_on_the_next_request(diary, one, pat1, pat2):
    nine = key(diary, "09:00")
    assert nine in picker(pat2, one, diary) and nine in soonest(pat2, one)
    booked_id(book(pat1, one, nine))
    assert nine not in picker(pat2, one, diary) and nine not in soonest(pat2, one)
    assert nine not in picker(pat1, one, diary)


def test_cancelling_frees_the_slot_on_the_next_request(diary, one, pat1, pat2):
    nine = key(diary, "09:00")
    appt = booked_id(book(pat1, one, nine))
    assert nine not in picker(pat2, one, diary) and nine not in soonest(pat2, one)
    response = pat1.post(f"/appointments/{appt}/cancel", data={
        "csrf_token": token(pat1, f"/appointments/{appt}"), "reason": "Feeling better"})
    assert response.status_code == 303
    assert nine in picker(pat2, one, diary) and nine in soonest(pat2, one)


def test_rescheduling_moves_the_free_slot_on_the_next_request(diary, one, pat1, pat2):
    nine, ten = key(diary, "09:00"), key(diary, "10:00")
    appt = booked_id(book(pat1, one, nine))
    assert picker(pat2, one, diary) == [key(diary, t) for t in MORNING if t != "09:00"]
    response = pat1.post(f"/appointments/{appt}/reschedule", data={
        "csrf_token": token(pat1, f"/appointments/{appt}/reschedule"), "slot": ten})
    assert response.status_code == 303
    assert picker(pat2, one, diary) == [key(diary, t) for t in MORNING if t != "10:00"]
    assert soonest(pat2, one)[:2] == [nine, key(diary, "09:30")]


def test_status_change_to_cancelled_frees_the_slot_on_the_next_request(app, people, diary, one,
                                                                      pat2, dr1):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=one, date=diary,
                              time=dt.time(9), reason="Rash")
    assert key(diary, "09:00") not in picker(pat2, one, diary)
    response = dr1.post(f"/appointments/{appt.id}/status", data={
        "csrf_token": token(dr1), "action": "cancel", "reason": "Doctor unwell"})
    assert response.status_code == 303
    assert key(diary, "09:00") in picker(pat2, one, diary)


def test_status_change_updates_the_admin_counts_on_the_next_request(app, people, admin):
    with app.app_context():
        today = clinic_today()
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=today, time=dt.time(0), reason="Headache")
    page = admin.get("/admin/").text
    assert (status_count(page, "booked"), status_count(page, "checked in")) == (1, 0)
    desk = signed_in(app, "desk")
    response = desk.post(f"/appointments/{appt.id}/status", data={
        "csrf_token": token(desk), "action": "check_in"})
    assert response.status_code == 303
    page = admin.get("/admin/").text
    assert (status_count(page, "booked"), status_count(page, "checked in")) == (0, 1)


def test_booking_and_cancelling_update_both_dashboards_on_the_next_request(diary, one, pat1,
                                                                          admin, dr1):
    assert status_count(admin.get("/admin/").text, "booked") == 0
    assert tile(dr1.get("/doctor/").text, "Upcoming") == 0
    appt = booked_id(book(pat1, one, key(diary, "09:00")))
    assert status_count(admin.get("/admin/").text, "booked") == 1
    assert tile(dr1.get("/doctor/").text, "Upcoming") == 1
    pat1.post(f"/appointments/{appt}/cancel", data={
        "csrf_token": token(pat1, f"/appointments/{appt}"), "reason": ""})
    page = admin.get("/admin/").text
    assert (status_count(page, "booked"), status_count(page, "cancelled")) == (0, 1)
    assert tile(dr1.get("/doctor/").text, "Upcoming") == 0


def test_toggling_a_slot_shows_on_the_next_request(diary, one, pat1, dr1):
    assert key(diary, "09:00") in picker(pat1, one, diary)
    grid = token(dr1, f"/availability/?week={diary.isoformat()}")
    for change in (f"close {key(diary, '09:00')}", f"open {key(diary, '14:00')}"):
        response = dr1.post("/availability/slot", headers=HTMX,
                            data={"csrf_token": grid, "slot": change})
        assert response.status_code == 200
    offered = picker(pat1, one, diary)
    assert key(diary, "09:00") not in offered and key(diary, "14:00") in offered


def test_bulk_actions_show_on_the_next_request(diary, one, pat1, dr1):
    assert picker(pat1, one, diary)
    grid = token(dr1, f"/availability/?week={diary.isoformat()}")
    dr1.post("/availability/bulk", data={"csrf_token": grid, "week": diary.isoformat(),
                                         "action": f"close day {diary.isoformat()}"})
    assert picker(pat1, one, diary) == []
    dr1.post("/availability/bulk", data={"csrf_token": grid, "week": diary.isoformat(),
                                         "action": "open afternoons"})
    assert key(diary, "12:00") in picker(pat1, one, diary)


def test_copying_last_week_shows_on_the_next_request(diary, one, pat1, dr1):
    source = week_start(diary) + dt.timedelta(days=7)
    target = source + dt.timedelta(days=7)
    DoctorAvailability.insert_many([
        {"doctor": one, "date": source + dt.timedelta(days=d), "time_slot": dt.time(15),
         "is_available": True} for d in range(7)]).execute()
    wednesday = target + dt.timedelta(days=2)
    assert key(wednesday, "15:00") not in picker(pat1, one, wednesday)
    response = dr1.post("/availability/bulk", data={
        "csrf_token": token(dr1, "/availability/"), "week": target.isoformat(),
        "action": "copy previous"})
    assert response.status_code == 303
    assert key(wednesday, "15:00") in picker(pat1, one, wednesday)


def test_saving_a_weekly_plan_shows_on_the_next_request(diary, one, pat1, dr1):
    day = diary + dt.timedelta(days=9)  # past the diary: no slots yet
    assert picker(pat1, one, day) == []
    wd = day.weekday()
    response = dr1.post("/availability/plan", data={
        "csrf_token": token(dr1, "/availability/plan"),
        f"d{wd}_start1": "14:00", f"d{wd}_end1": "15:00"})
    assert response.status_code == 303
    assert picker(pat1, one, day) == [key(day, "14:00"), key(day, "14:30")]


def test_hourly_job_shows_on_the_next_request(app, diary, one, pat1):
    day = diary + dt.timedelta(days=9)
    WorkingHours.create(doctor=one, weekday=day.weekday(), start_time=dt.time(13),
                        end_time=dt.time(14))
    assert picker(pat1, one, day) == []
    tasks.app = app
    try:
        assert tasks.open_planned_slots.call_local() > 0
    finally:
        tasks.app = None
    assert picker(pat1, one, day) == [key(day, "13:00"), key(day, "13:30")]


def test_profile_edit_shows_in_the_directory_on_the_next_request(people, pat1, dr1):
    assert "Dr Ada One" in pat1.get("/doctors/").text
    dept = people.doctor("dr.two").department_id
    response = dr1.post("/doctor/profile", data={
        "csrf_token": token(dr1, "/doctor/profile"), "full_name": "Dr Ada Newname",
        "department": str(dept), "experience_years": "12", "about": ""})
    assert response.status_code == 303
    page = pat1.get("/doctors/").text
    assert "Dr Ada Newname" in page and "Dr Ada One" not in page and "12 yrs" in page
    assert "Dr Ada Newname" in pat1.get(f"/doctors/?department={dept}").text


def test_deactivating_a_doctor_shows_on_the_next_request(people, diary, one, pat1, admin):
    assert "Dr Ada One" in pat1.get("/doctors/").text and picker(pat1, one, diary)
    assert tile(admin.get("/admin/").text, "Active doctors") == 2
    response = admin.post(f"/admin/doctors/{one}/deactivate",
                          data={"csrf_token": token(admin, f"/admin/doctors/{one}")})
    assert response.status_code == 303
    assert "Dr Ada One" not in pat1.get("/doctors/").text
    assert pat1.get(f"/doctors/{one}").status_code == 404
    assert tile(admin.get("/admin/").text, "Active doctors") == 1
    admin.post(f"/admin/doctors/{one}/reactivate",
               data={"csrf_token": token(admin, f"/admin/doctors/{one}")})
    assert "Dr Ada One" in pat1.get("/doctors/").text
    assert tile(admin.get("/admin/").text, "Active doctors") == 2


def test_doctor_changed_helper_refreshes_everything_about_that_doctor(app, people, diary, one,
                                                                     pat1, admin):
    """The contract the admin screens rely on: change the rows, then call the helper."""
    assert "Dr Ada One" in pat1.get("/doctors/").text
    assert tile(admin.get("/admin/").text, "Active doctors") == 2
    set_active(User.get_by_id(people.doctor("dr.one").user_id), False)
    with app.app_context():
        cache.doctor_changed(one)
    assert "Dr Ada One" not in pat1.get("/doctors/").text
    assert tile(admin.get("/admin/").text, "Active doctors") == 1


def test_new_specialization_shows_on_the_next_request(pat1, admin):
    assert "Neurology" not in pat1.get("/doctors/").text
    response = admin.post("/admin/departments", data={
        "csrf_token": token(admin, "/admin/departments"), "name": "Neurology",
        "description": ""})
    assert response.status_code == 303
    assert "Neurology" in pat1.get("/doctors/").text


# --- what the cache must never get wrong ------------------------------------------------------

def test_one_doctors_change_leaves_other_doctors_slots_cached(app, redis_url, diary, one, two,
                                                             pat1, dr1, computed):
    picker(pat1, one, diary), picker(pat1, two, diary)
    dr1.post("/availability/slot", headers=HTMX, data={
        "csrf_token": token(dr1, "/availability/"), "slot": f"close {key(diary, '09:00')}"})
    assert key(diary, "09:00") not in picker(pat1, one, diary)
    assert key(diary, "09:00") in picker(pat1, two, diary)
    assert computed == {one: 2, two: 1}
    assert generation(app, redis_url, f"slots:{one}") == 1
    assert generation(app, redis_url, f"slots:{two}") == 0


def test_patient_filter_applies_to_the_cached_slots(people, diary, one, two, pat1, pat2,
                                                    computed):
    """Pat One holds 09:00 with Dr Two, so Dr One's 09:00 is not offered to her; others see it."""
    Appointment.create(patient=people.patient("pat.one"), doctor=two, date=diary,
                       time=dt.time(9), reason="Rash")
    assert key(diary, "09:00") in picker(pat2, one, diary)
    assert key(diary, "09:00") not in picker(pat1, one, diary)
    assert key(diary, "09:00") not in soonest(pat1, one)
    booked_id(book(pat1, two, key(diary, "10:00")))  # changes Dr Two, not Dr One's list
    assert picker(pat1, one, diary) == [key(diary, t) for t in MORNING[1:] if t != "10:00"]
    assert key(diary, "10:00") in picker(pat2, one, diary)
    assert computed[one] == 1


def test_times_that_pass_drop_out_of_the_cached_slots(app, monkeypatch, one, pat1, computed):
    with app.app_context():
        today = clinic_today()
    DoctorAvailability.insert_many([
        {"doctor": one, "date": today, "time_slot": dt.datetime.strptime(t, "%H:%M").time(),
         "is_available": True} for t in MORNING]).execute()
    monkeypatch.setattr(scheduling, "clinic_now", lambda: dt.datetime.combine(today, dt.time(8)))
    assert picker(pat1, one, today) == [key(today, t) for t in MORNING]
    monkeypatch.setattr(scheduling, "clinic_now",
                        lambda: dt.datetime.combine(today, dt.time(9, 0, 1)))
    assert picker(pat1, one, today) == [key(today, t) for t in MORNING[1:]]
    assert soonest(pat1, one)[0] == key(today, "09:30")
    assert computed == {one: 1}


def test_invalidation_inside_a_transaction_is_repeated_once_it_is_over(app, redis_url):
    with app.app_context():
        with db.atomic():
            cache.invalidate("directory")
            assert generation(app, redis_url, "directory") == 1
        assert generation(app, redis_url, "directory") == 1
    assert generation(app, redis_url, "directory") == 2  # after the app context ended


def test_sites_sharing_a_redis_keep_their_values_apart(tmp_path, redis_url):
    a = make_app(tmp_path / "a", redis_url)
    b = make_app(tmp_path / "b", redis_url)
    web = make_app(tmp_path / "a", redis_url)  # the worker beside the web process: same site
    prefixes = [x.extensions["hms_cache"].prefix for x in (a, b, web)]
    assert prefixes[0] != prefixes[1] and prefixes[0] == prefixes[2]


# --- when Redis is away -----------------------------------------------------------------------

def test_invalidation_missed_during_a_redis_blip_is_sent_before_the_next_read(
        app, monkeypatch, caplog, diary, one, pat1, pat2):
    monkeypatch.setattr(cache, "RETRY_AFTER", 0)
    site = app.extensions["hms_cache"]
    nine = key(diary, "09:00")
    assert nine in picker(pat2, one, diary)
    real, site.client = site.client, redis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.3, socket_connect_timeout=0.3)
    try:
        booked_id(book(pat1, one, nine))  # its invalidation cannot reach Redis
    finally:
        site.client = real
    assert f"slots:{one}" in site.unsent
    assert nine not in picker(pat2, one, diary)
    assert not site.unsent
    assert any(r.name == "hms.cache" and r.levelno == logging.WARNING for r in caplog.records)


def test_without_redis_every_page_still_works(tmp_path, database, caplog):
    app = make_app(tmp_path, f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
                   DATABASE=database)
    try:
        with app.app_context():
            tomorrow = clinic_today() + dt.timedelta(days=1)
        doctor = Doctor.select().join(User).where(User.username == "dr.one").get()
        DoctorAvailability.insert_many([
            {"doctor": doctor, "date": tomorrow,
             "time_slot": dt.datetime.strptime(t, "%H:%M").time(), "is_available": True}
            for t in MORNING]).execute()
        caplog.set_level(logging.WARNING, logger="hms.cache")
        patient, dr, boss = (signed_in(app, u) for u in ("pat.one", "dr.one", "admin"))
        nine = key(tomorrow, "09:00")

        assert "Dr Ada One" in patient.get("/doctors/").text
        assert "Dr Ada One" in patient.get("/doctors/?q=ada", headers=HTMX).text
        assert nine in soonest(patient, doctor.id) and nine in picker(patient, doctor.id,
                                                                       tomorrow)
        appt = booked_id(book(patient, doctor.id, nine))
        assert nine not in picker(patient, doctor.id, tomorrow)
        assert patient.post(f"/appointments/{appt}/cancel", data={
            "csrf_token": token(patient, f"/appointments/{appt}"),
            "reason": ""}).status_code == 303
        assert nine in picker(patient, doctor.id, tomorrow)

        assert boss.get("/admin/").status_code == 200
        assert tile(dr.get("/doctor/").text, "Upcoming") == 0
        response = dr.post("/availability/slot", headers=HTMX, data={
            "csrf_token": token(dr, "/availability/"), "slot": f"close {nine}"})
        assert response.status_code == 200
        assert nine not in picker(patient, doctor.id, tomorrow)
        assert any(r.name == "hms.cache" and r.levelno == logging.WARNING
                   for r in caplog.records)
    finally:
        if not db.is_closed():
            db.close()
