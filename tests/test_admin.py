"""The admin console: every screen for admins only, and what each change does."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms.models import Appointment, AuditLog, Department, Doctor, DoctorAvailability, Patient, User
from support import csrf_token

HTMX = {"HX-Request": "true"}
PAGES = ["/admin/", "/admin/doctors", "/admin/doctors/new", "/admin/departments",
         "/admin/patients", "/admin/patients/new", "/admin/staff", "/admin/search?q=a",
         "/admin/appointments", "/admin/audit"]


@pytest.fixture
def admin(client, auth):
    auth.login("admin")
    return client


def token(client) -> str:
    return csrf_token(client.get("/admin/staff").text)


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_are_for_admins_only(client, auth, url):
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for username in ("dr.one", "pat.one", "desk"):
        auth.login(username)
        assert client.get(url).status_code == 403, username
        auth.logout()
    auth.login("admin")
    assert client.get(url).status_code == 200


def test_admin_posts_are_for_admins_only(client, auth, people):
    auth.login("desk")
    page = client.get("/desk/")
    doctor = people.doctor("dr.one")
    response = client.post(f"/admin/doctors/{doctor.id}/deactivate",
                           data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 403
    assert User.get_by_id(doctor.user_id).is_active


# --- doctors ----------------------------------------------------------------------------------

def new_doctor(admin, **fields):
    page = admin.get("/admin/doctors/new")
    dept = Department.get(Department.name == "Cardiology").id
    data = {"csrf_token": csrf_token(page.text), "full_name": "Dr Cy Three",
            "department": str(dept), "experience_years": "4", "about": "Echo.",
            "username": "dr.three", "email": "three@test.example"}
    return admin.post("/admin/doctors/new", data=data | fields)


def test_create_doctor_invites_them_to_choose_their_own_password(admin, client, auth,
                                                                  worker_app, inbox):
    response = new_doctor(admin)
    assert response.status_code == 201
    code = re.search(r'<p class="code"><strong>([^<]+)</strong>', response.text).group(1)
    doctor = Doctor.get(Doctor.full_name == "Dr Cy Three")
    assert doctor.user.role == "doctor" and doctor.department.name == "Cardiology"
    assert doctor.user.password_hash is None  # nobody but the doctor ever knows it
    assert code not in admin.get(f"/admin/doctors/{doctor.id}").text  # never shown again
    [mail] = inbox.messages
    assert mail["To"] == "three@test.example" and code in mail.get_body(("plain",)).get_content()
    auth.logout()
    page = client.get("/account/password")
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(page.text), "code": code.lower().replace("-", " "),
        "password": "echo-and-sound-7", "confirm": "echo-and-sound-7"})
    assert response.status_code == 303 and response.headers["Location"] == "/doctor/"
    auth.logout()
    assert auth.login("dr.three", "echo-and-sound-7").headers["Location"] == "/doctor/"


@pytest.mark.parametrize("fields, error", [
    ({"username": "dr.one"}, "username"), ({"email": "one@test.example"}, "email"),
    ({"email": "nope"}, "email"), ({"experience_years": "80"}, "experience_years"),
    ({"full_name": ""}, "full_name"),
    ({"department": "999"}, "department"),
])
def test_create_doctor_refuses_bad_input_and_saves_nothing(admin, fields, error):
    response = new_doctor(admin, **fields)
    assert response.status_code == 422 and f'id="{error}-error"' in response.text
    assert not Doctor.select().where(Doctor.full_name == "Dr Cy Three").exists()
    assert not User.select().where(User.username == "dr.three").exists()


def test_two_doctors_cannot_share_a_name(admin, people):
    """Patients and the desk choose a doctor by name: a second "Dr Ada One" (in any case) is
    refused beside the field, on creating and on editing; saving one's own name is fine."""
    response = new_doctor(admin, full_name="dr ada one")
    assert response.status_code == 422 and 'id="full_name-error"' in response.text
    assert "Another doctor has this name" in response.text
    assert not User.select().where(User.username == "dr.three").exists()
    two = people.doctor("dr.two")
    page = admin.get(f"/admin/doctors/{two.id}/edit")
    form = {"csrf_token": csrf_token(page.text), "department": str(two.department_id),
            "experience_years": "3", "about": ""}
    taken = admin.post(f"/admin/doctors/{two.id}/edit", data=form | {"full_name": "Dr Ada One"})
    assert taken.status_code == 422 and "Another doctor has this name" in taken.text
    kept = admin.post(f"/admin/doctors/{two.id}/edit", data=form | {"full_name": "Dr Bo Two"})
    assert kept.status_code == 303
    assert Doctor.get_by_id(two.id).full_name == "Dr Bo Two"


def test_a_new_doctor_is_led_to_their_weekly_hours_and_bookable_after(admin, people):
    """A new doctor has no hours, so nobody can book them: their page says so and links to
    the weekly plan, which the admin sets for them; then they have free times."""
    from hms.models import DoctorAvailability, WorkingHours

    created = new_doctor(admin)
    doctor = Doctor.get(Doctor.full_name == "Dr Cy Three")
    plan_url = f"/availability/plan/{doctor.id}"
    assert "No working hours yet" in created.text and f'href="{plan_url}"' in created.text
    page = admin.get(plan_url)
    assert page.status_code == 200 and "Dr Cy Three" in page.text
    assert f'action="{plan_url}"' in page.text
    saved = admin.post(plan_url, data={"csrf_token": csrf_token(page.text),
                                       "d0_start1": "09:00", "d0_end1": "12:00"})
    assert saved.status_code == 303 and saved.headers["Location"] == f"/admin/doctors/{doctor.id}"
    assert WorkingHours.select().where(WorkingHours.doctor == doctor).count() == 1
    assert DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).exists()
    assert "No working hours yet" not in admin.get(f"/admin/doctors/{doctor.id}").text


def test_another_doctors_hours_refuse_an_unknown_doctor_and_bad_times(admin, people):
    from hms.models import WorkingHours

    assert admin.get("/availability/plan/999999").status_code == 404
    two = people.doctor("dr.two")
    page = admin.get(f"/availability/plan/{two.id}")
    before = WorkingHours.select().where(WorkingHours.doctor == two).count()
    refused = admin.post(f"/availability/plan/{two.id}", data={
        "csrf_token": csrf_token(page.text), "d0_start1": "12:00", "d0_end1": "09:00"})
    assert refused.status_code == 422 and 'id="d0-error"' in refused.text
    assert WorkingHours.select().where(WorkingHours.doctor == two).count() == before


@pytest.mark.parametrize("username", ["desk", "dr.one", "pat.one"])
def test_only_admins_set_another_doctors_hours(client, auth, people, username):
    auth.login(username)
    assert client.get(f"/availability/plan/{people.doctor('dr.two').id}").status_code == 403


def test_list_and_search_doctors(admin, people):
    page = admin.get("/admin/doctors").text
    assert "Dr Ada One" in page and "Dr Bo Two" in page
    found = admin.get("/admin/doctors?q=ada", headers=HTMX)
    assert found.text.startswith('<section id="doctor-list"') and "Dr Bo Two" not in found.text
    dept = people.doctor("dr.two").department_id
    assert "Dr Ada One" not in admin.get(f"/admin/doctors?department={dept}").text


def test_edit_doctor(admin, people):
    doctor = people.doctor("dr.one")
    page = admin.get(f"/admin/doctors/{doctor.id}/edit")
    response = admin.post(f"/admin/doctors/{doctor.id}/edit", data={
        "csrf_token": csrf_token(page.text), "full_name": "Dr Ada Renamed",
        "department": str(doctor.department_id), "experience_years": "9", "about": "x"})
    assert response.status_code == 303
    assert Doctor.get_by_id(doctor.id).full_name == "Dr Ada Renamed"


@pytest.fixture
def booked(people, diary):
    """Pat One's appointment with Dr One tomorrow at 09:00."""
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="Palpitations")


def test_deactivated_doctor_cannot_log_in_nor_be_booked_and_their_patients_are_listed(
        admin, client, auth, people, booked, diary):
    doctor = people.doctor("dr.one")
    response = admin.post(f"/admin/doctors/{doctor.id}/deactivate",
                          data={"csrf_token": token(admin)})
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).text
    assert "deactivated" in page and f'id="future-{booked.id}"' in page
    assert AuditLog.get(AuditLog.action == "deactivate").object_id == doctor.id
    auth.logout()
    assert "deactivated" in auth.login("dr.one").text
    auth.login("pat.two")
    assert "Dr Ada One" not in client.get("/doctors/").text
    assert client.get(f"/doctors/{doctor.id}").status_code == 404


def test_reassign_a_deactivated_doctors_appointment_to_a_colleague(admin, people, booked,
                                                                   diary):
    one, two = people.doctor("dr.one"), people.doctor("dr.two")
    admin.post(f"/admin/doctors/{one.id}/deactivate", data={"csrf_token": token(admin)})
    response = admin.post(f"/admin/appointments/{booked.id}/reassign",
                          data={"csrf_token": token(admin), "doctor": str(two.id)})
    assert response.status_code == 303
    moved = Appointment.get(Appointment.rescheduled_from == booked.id)
    assert (moved.doctor.id, moved.date, moved.time, moved.status) == \
        (two.id, diary, dt.time(9), "booked")
    assert Appointment.get_by_id(booked.id).status == "rescheduled"


def test_reassign_is_refused_when_the_colleague_is_not_free(admin, people, booked, diary):
    two = people.doctor("dr.two")
    DoctorAvailability.update(is_available=False).where(
        DoctorAvailability.doctor == two, DoctorAvailability.date == diary).execute()
    response = admin.post(f"/admin/appointments/{booked.id}/reassign",
                          data={"csrf_token": token(admin), "doctor": str(two.id)},
                          follow_redirects=True)
    assert "does not see patients at that time" in response.text
    assert Appointment.get_by_id(booked.id).status == "booked"


def test_cancel_a_deactivated_doctors_appointment(admin, people, booked):
    response = admin.post(f"/appointments/{booked.id}/status", data={
        "csrf_token": token(admin), "action": "cancel", "reason": "Doctor unavailable",
        "next": f"/admin/doctors/{booked.doctor_id}"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/doctors/{booked.doctor_id}"
    assert Appointment.get_by_id(booked.id).status == "cancelled"


def test_reactivate_brings_a_doctor_back(admin, auth, people):
    doctor = people.doctor("dr.one")
    admin.post(f"/admin/doctors/{doctor.id}/deactivate", data={"csrf_token": token(admin)})
    admin.post(f"/admin/doctors/{doctor.id}/reactivate", data={"csrf_token": token(admin)})
    assert User.get_by_id(doctor.user_id).is_active
    auth.logout()
    assert auth.login("dr.one").status_code == 303


def test_delete_only_a_doctor_without_appointments(admin, people, booked):
    one, two = people.doctor("dr.one"), people.doctor("dr.two")
    refused = admin.post(f"/admin/doctors/{one.id}/delete", data={"csrf_token": token(admin)},
                         follow_redirects=True)
    assert "deactivate them instead" in refused.text and Doctor.get_or_none(id=one.id)
    response = admin.post(f"/admin/doctors/{two.id}/delete", data={"csrf_token": token(admin)})
    assert response.status_code == 303
    assert Doctor.get_or_none(id=two.id) is None
    assert not User.select().where(User.username == "dr.two").exists()
    assert not DoctorAvailability.select().where(DoctorAvailability.doctor == two.id).exists()


def test_missing_doctor_is_404(admin):
    assert admin.get("/admin/doctors/999").status_code == 404
    assert admin.post("/admin/doctors/999/deactivate",
                      data={"csrf_token": token(admin)}).status_code == 404


# --- departments ------------------------------------------------------------------------------

def test_departments_are_added_and_removed_only_when_empty(admin, people):
    page = admin.get("/admin/departments")
    added = admin.post("/admin/departments", data={"csrf_token": csrf_token(page.text),
                                                   "name": "Neurology", "description": ""})
    assert added.status_code == 303
    dup = admin.post("/admin/departments", data={"csrf_token": csrf_token(page.text),
                                                 "name": "Neurology"})
    assert dup.status_code == 422 and "already exists" in dup.text
    neuro = Department.get(Department.name == "Neurology")
    admin.post(f"/admin/departments/{neuro.id}/delete", data={"csrf_token": token(admin)})
    assert Department.get_or_none(name="Neurology") is None
    busy = people.doctor("dr.one").department_id
    admin.post(f"/admin/departments/{busy}/delete", data={"csrf_token": token(admin)})
    assert Department.get_or_none(id=busy) is not None


# --- patients ---------------------------------------------------------------------------------

PATIENT = {"full_name": "Walk In", "gender": "other", "dob": "1970-01-01",
           "phone": "+44 2000 123456", "address": "", "height_cm": "", "weight_kg": "",
           "blood_group": "", "email": ""}


def test_register_a_patient_without_a_password_and_find_them_by_phone(admin):
    page = admin.get("/admin/patients/new")
    response = admin.post("/admin/patients/new",
                          data={"csrf_token": csrf_token(page.text), **PATIENT})
    assert response.status_code == 303
    patient = Patient.get(Patient.full_name == "Walk In")
    assert patient.user.password_hash is None and patient.user.username == f"patient-{patient.id}"
    found = admin.get("/admin/patients?q=123456", headers=HTMX)
    assert "Walk In" in found.text
    assert "Walk In" in admin.get("/admin/search?q=2000 123456").text
    assert "Walk In" in admin.get("/admin/patients?q=2000-123").text  # its digits, spaced anew
    assert "Walk In" not in admin.get("/admin/patients?q=2000-124").text


@pytest.mark.parametrize("field, value", [("dob", "2999-01-01"), ("phone", "x"),
                                          ("email", "pat2@test.example"), ("full_name", "")])
def test_patient_form_refuses_bad_input(admin, field, value):
    page = admin.get("/admin/patients/new")
    response = admin.post("/admin/patients/new", data={
        "csrf_token": csrf_token(page.text), **PATIENT, field: value})
    assert response.status_code == 422 and f'id="{field}-error"' in response.text
    assert not Patient.select().where(Patient.full_name == "Walk In").exists()


def test_edit_patient_and_audit(admin, people):
    patient = people.patient("pat.one")
    page = admin.get(f"/admin/patients/{patient.id}/edit")
    assert 'value="pat1@test.example"' in page.text
    response = admin.post(f"/admin/patients/{patient.id}/edit", data={
        "csrf_token": csrf_token(page.text), **PATIENT, "full_name": "Pat Renamed",
        "email": "pat1@test.example"})
    assert response.status_code == 303
    assert Patient.get_by_id(patient.id).full_name == "Pat Renamed"
    assert AuditLog.get(AuditLog.action == "update").patient_id == patient.id


def test_deactivated_patient_cannot_log_in(admin, auth, people):
    patient = people.patient("pat.one")
    admin.post(f"/admin/patients/{patient.id}/deactivate", data={"csrf_token": token(admin)})
    auth.logout()
    assert "deactivated" in auth.login("pat.one").text


# --- staff ------------------------------------------------------------------------------------

def test_create_a_receptionist_and_deactivate_them_but_never_yourself(admin, auth, people):
    page = admin.get("/admin/staff")
    response = admin.post("/admin/staff", data={
        "csrf_token": csrf_token(page.text), "role": "receptionist", "username": "desk2",
        "email": "desk2@test.example"})
    assert response.status_code == 201 and "Choose your password" in response.text
    desk2 = User.get(User.username == "desk2")
    assert desk2.role == "receptionist" and desk2.password_hash is None
    admin.post(f"/admin/staff/{desk2.id}/deactivate", data={"csrf_token": token(admin)})
    assert not User.get_by_id(desk2.id).is_active
    me = people.user("admin")
    refused = admin.post(f"/admin/staff/{me.id}/deactivate", data={"csrf_token": token(admin)},
                         follow_redirects=True)
    assert "cannot deactivate your own account" in refused.text
    assert User.get_by_id(me.id).is_active


def test_staff_pages_do_not_touch_doctors_or_patients(admin, people):
    doctor_user = people.user("dr.one")
    assert admin.post(f"/admin/staff/{doctor_user.id}/deactivate",
                      data={"csrf_token": token(admin)}).status_code == 404


# --- search, appointments, audit --------------------------------------------------------------

@pytest.mark.parametrize("q, expected", [("Cardiology", "Dr Ada One"), ("two@test", "Dr Bo Two"),
                                        ("1000 000002", "Pat Two"), ("desk", "desk")])
def test_one_search_box_finds_doctors_patients_and_staff(admin, q, expected):
    response = admin.get(f"/admin/search?q={q}", headers=HTMX)
    assert response.text.startswith('<section id="search-results"')
    assert expected in response.text


def test_search_by_patient_number(admin, people):
    patient = people.patient("pat.two")
    assert "Pat Two" in admin.get(f"/admin/search?q={patient.id}").text


def test_all_appointments_filter_by_status_doctor_patient_and_dates(admin, people, booked,
                                                                    diary):
    old = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.two"),
                             date=diary - dt.timedelta(days=10), time=dt.time(9),
                             status="completed", reason="Old")
    everything = admin.get("/admin/appointments").text
    assert f"appt-{booked.id}" in everything and f"appt-{old.id}" in everything
    by_status = admin.get("/admin/appointments?status=completed", headers=HTMX).text
    assert by_status.startswith('<section id="admin-appointments"')
    assert f"appt-{old.id}" in by_status and f"appt-{booked.id}" not in by_status
    by_doctor = admin.get(f"/admin/appointments?doctor={booked.doctor_id}").text
    assert f"appt-{old.id}" not in by_doctor
    by_patient = admin.get(f"/admin/appointments?patient={old.patient_id}").text
    assert f"appt-{booked.id}" not in by_patient
    in_range = admin.get(f"/admin/appointments?from={diary.isoformat()}&to={diary.isoformat()}")
    assert f"appt-{old.id}" not in in_range.text and f"appt-{booked.id}" in in_range.text
    assert admin.get("/admin/appointments?from=junk&status=junk").status_code == 200


def test_all_appointments_name_the_day_of_todays_rows_too(admin, people):
    """Among rows of other dates, a row of today says so; a time alone reads as any day."""
    from hms.clock import clinic_today

    with admin.application.app_context():
        today = clinic_today()
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    now = Appointment.create(patient=patient, doctor=doctor, date=today, time=dt.time(23, 30),
                             reason="Now")
    later = Appointment.create(patient=patient, doctor=doctor, date=today + dt.timedelta(days=3),
                               time=dt.time(9), reason="Later")
    page = admin.get("/admin/appointments").text
    assert f'/appointments/{now.id}">Today 23:30</a>' in page
    assert f'/appointments/{later.id}">{later.date:%a %-d %b} 09:00</a>' in page


def test_admin_changes_status_in_place_with_the_same_rules(admin, booked):
    early = admin.post(f"/appointments/{booked.id}/status", headers=HTMX, data={
        "csrf_token": token(admin), "action": "no_show"})
    assert early.status_code == 409 and "once the appointment time has passed" in early.text
    cancel = admin.post(f"/appointments/{booked.id}/status", headers=HTMX, data={
        "csrf_token": token(admin), "action": "cancel", "reason": "Clinic closed"})
    assert cancel.status_code == 200 and "cancelled" in cancel.text


def test_audit_log_filters_by_user_and_patient(admin, client, auth, people, booked):
    auth.logout()
    auth.login("dr.one")
    client.get(f"/patients/{booked.patient_id}")  # a doctor reads the history
    auth.logout()
    auth.login("admin")
    log = admin.get(f"/admin/audit?user={people.user('dr.one').id}").text
    assert "dr.one (doctor)" in log and "history" in log and "Pat One" in log
    other = admin.get(f"/admin/audit?patient={people.patient('pat.two').id}", headers=HTMX)
    assert other.text.startswith('<section id="audit"') and "Nothing recorded." in other.text


def test_pages_are_paginated(admin, people, diary):
    for i in range(30):
        Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.two"),
                           date=diary - dt.timedelta(days=i + 2), time=dt.time(9),
                           status="completed", reason=f"v{i}")
    first = admin.get("/admin/appointments").text
    assert first.count('id="appt-') == 25 and "Next →" in first
    assert admin.get("/admin/appointments?page=2").text.count('id="appt-') == 5



def test_dashboard_links_into_each_list(admin, people, booked):
    page = admin.get("/admin/").text
    assert 'href="/admin/doctors"' in page and 'href="/admin/patients"' in page
    assert 'href="/admin/appointments?status=booked"' in page


@pytest.mark.parametrize("form, fields, error", [
    ("/admin/doctors/new", {"full_name": "   "}, "full_name"),
    ("/admin/doctors/new", {"full_name": "Dr\x00Null"}, "full_name"),
])
def test_blank_or_invisible_names_are_refused(admin, form, fields, error):
    response = new_doctor(admin, **fields)
    assert response.status_code == 422 and f'id="{error}-error"' in response.text
    assert not User.select().where(User.username == "dr.three").exists()


def test_specialization_names_are_unique_whatever_the_case(admin):
    page = admin.get("/admin/departments")
    response = admin.post("/admin/departments", data={"csrf_token": csrf_token(page.text),
                                                      "name": " cardiology "})
    assert response.status_code == 422 and "already exists" in response.text
    blank = admin.post("/admin/departments", data={"csrf_token": csrf_token(page.text),
                                                   "name": "   "})
    assert blank.status_code == 422


def test_reassignment_is_audited(admin, people, booked):
    admin.post(f"/admin/appointments/{booked.id}/reassign",
               data={"csrf_token": token(admin), "doctor": str(people.doctor("dr.two").id)})
    assert AuditLog.get(AuditLog.action == "reassign").patient_id == booked.patient_id


def test_audit_filter_offers_receptionists(admin, people):
    page = admin.get("/admin/audit").text
    assert f'<option value="{people.user("desk").id}">desk</option>' in page


def test_patient_view_shows_the_history_and_audits_the_read(admin, people, booked):
    page = admin.get(f"/admin/patients/{booked.patient_id}")
    assert "Palpitations" in page.text and "Dr Ada One" in page.text
    log = AuditLog.get(AuditLog.object_type == "history")
    assert (log.user.username, log.patient_id) == ("admin", booked.patient_id)


def test_rename_a_specialization(admin, people):
    dept = people.doctor("dr.one").department_id
    response = admin.post(f"/admin/departments/{dept}", data={
        "csrf_token": token(admin), "name": "Heart medicine", "description": "Hearts"})
    assert response.status_code == 303
    assert Department.get_by_id(dept).name == "Heart medicine"
    clash = admin.post(f"/admin/departments/{dept}", follow_redirects=True, data={
        "csrf_token": token(admin), "name": "dermatology"})
    assert "already exists" in clash.text
    assert Department.get_by_id(dept).name == "Heart medicine"


def test_a_username_taken_at_the_same_moment_is_a_message_not_a_500(admin, monkeypatch):
    from peewee import IntegrityError

    import hms.admin

    def taken(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: users.username")

    monkeypatch.setattr(hms.admin, "create_staff", taken)  # the race: check passed, insert lost
    page = admin.get("/admin/staff")
    response = admin.post("/admin/staff", data={
        "csrf_token": csrf_token(page.text), "role": "receptionist", "username": "desk3",
        "email": "desk3@test.example"})
    assert response.status_code == 422 and "just taken" in response.text


@pytest.mark.parametrize("what", ["doctor", "patient", "staff", "department", "delete"])
def test_a_destructive_form_without_javascript_asks_first_and_changes_nothing(admin, people,
                                                                             what):
    """A plain post marked ask=1 (the form's hidden field; htmx posts it empty after its own
    dialog) gets a page that asks, re-posting the form; nothing changes until Yes."""
    from hms.models import Department

    dept = Department.create(name="Empty ward")
    url = {"doctor": f"/admin/doctors/{people.doctor('dr.two').id}/deactivate",
           "patient": f"/admin/patients/{people.patient('pat.two').id}/deactivate",
           "staff": f"/admin/staff/{people.user('desk').id}/deactivate",
           "department": f"/admin/departments/{dept.id}/delete",
           "delete": f"/admin/doctors/{people.doctor('dr.two').id}/delete"}[what]
    asked = admin.post(url, data={"csrf_token": token(admin), "ask": "1"})
    assert asked.status_code == 200 and "No, go back" in asked.text
    assert f'<form method="post" action="{url}"' in asked.text
    assert 'name="ask"' not in asked.text and 'name="csrf_token"' in asked.text
    assert people.user("desk").is_active and people.doctor("dr.two").user.is_active
    assert people.patient("pat.two").user.is_active and Department.get_or_none(id=dept.id)
    # Yes (the page's form, without ask), or htmx after its own dialog (ask posted empty):
    # done at once.
    done = admin.post(url, headers=HTMX if what in ("staff", "department") else {},
                      data={"csrf_token": token(admin), "ask": ""})
    assert done.status_code in (200, 303) and "No, go back" not in done.text
    gone = {"doctor": lambda: not people.doctor("dr.two").user.is_active,
            "patient": lambda: not people.patient("pat.two").user.is_active,
            "staff": lambda: not people.user("desk").is_active,
            "department": lambda: Department.get_or_none(id=dept.id) is None,
            "delete": lambda: not Doctor.select().where(Doctor.full_name == "Dr Bo Two").exists()}
    assert gone[what]()


def test_the_admin_console_stays_marked_in_the_menu_on_each_of_its_pages(client, auth):
    auth.login("admin")
    for path, mark in [("/admin/", "page"), ("/admin/jobs", "true"),
                       ("/admin/analytics", "true")]:
        page = client.get(path).text
        menu = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
        assert f'aria-current="{mark}">Admin console</a>' in menu, path
        assert 'aria-current' not in menu.split("Admin console")[1], path  # the desk is not
