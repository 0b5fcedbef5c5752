"""Treatment records, patients' histories, profiles, and the audit trail of staff reads."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from hms.models import Appointment, AuditLog, Doctor, Patient, Treatment
from support import csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}


def treatment_form(client, visit, **fields):
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    data = {"csrf_token": csrf_token(page.text), "diagnosis": "Bronchitis",
            "visit_type": "first", "prescription": "Rest", "follow_up_date": "",
            "med_name": ["Amoxicillin", "Paracetamol"], "med_dose": ["500 mg", "1 g"],
            "med_frequency": ["3x daily", "as needed"], "med_days": ["7", "5"], "save": "1"}
    return client.post(f"/appointments/{visit.id}/treatments/new", data=data | fields)


def test_doctor_records_a_treatment_with_medicines(client, auth, people, visit):
    auth.login("dr.one")
    follow_up = (visit.date + dt.timedelta(days=14)).isoformat()
    response = treatment_form(client, visit, follow_up_date=follow_up)
    assert response.status_code == 303
    treatment = Treatment.get(Treatment.appointment == visit.id)
    assert treatment.diagnosis == "Bronchitis" and treatment.author.username == "dr.one"
    assert [m["name"] for m in json.loads(treatment.medicines_json)] == \
        ["Amoxicillin", "Paracetamol"]
    assert treatment.follow_up_date.isoformat() == follow_up
    assert AuditLog.get(AuditLog.object_type == "treatment").action == "create"
    detail = client.get(response.headers["Location"]).text
    assert "Bronchitis" in detail and "Amoxicillin" in detail and "Dr Ada One" in detail


def test_several_treatments_per_visit_each_with_author_and_time(client, auth, visit):
    auth.login("dr.one")
    treatment_form(client, visit)
    treatment_form(client, visit, diagnosis="Asthma")
    assert Treatment.select().where(Treatment.appointment == visit.id).count() == 2
    page = client.get(f"/appointments/{visit.id}").text
    assert page.count("written by Dr Ada One, ") == 2
    assert client.get(f"/patients/{visit.patient_id}").text.count("written by Dr Ada One, ") == 2


@pytest.mark.parametrize("fields, error, message", [
    ({"diagnosis": ""}, "diagnosis", "Enter the diagnosis."),
    ({"follow_up_date": "2000-01-01"}, "follow_up_date", "cannot be before the visit"),
    ({"follow_up_date": "someday"}, "follow_up_date", "as a date"),
    ({"visit_type": "spa"}, "visit_type", "Choose the type of visit."),
    ({"med_days": ["7", "zero"]}, "med_1", "number of days"),
    ({"med_name": ["", "Paracetamol"]}, "med_0", "Name the medicine"),
    ({"med_dose": ["", "1 g"]}, "med_0", "Give the dose"),
])
def test_bad_treatment_input_keeps_what_was_typed_and_saves_nothing(
        client, auth, visit, fields, error, message):
    auth.login("dr.one")
    response = treatment_form(client, visit, **fields)
    assert response.status_code == 422
    assert f'id="{error}-error">' in response.text and message in response.text
    assert 'value="Paracetamol"' in response.text  # typed rows come back
    assert Treatment.select().count() == 0 and AuditLog.select().count() == 0


def test_a_medicine_row_marks_and_says_each_box_at_fault_and_no_other(client, auth, visit):
    """The dose given, how often blank and the days in words: those two boxes are marked and
    both faults said; the name and the dose are not marked."""
    auth.login("dr.one")
    response = treatment_form(client, visit, med_name=["Amoxicillin"], med_dose=["500 mg"],
                              med_frequency=[""], med_days=["five"])
    assert response.status_code == 422
    marked = re.findall(r'name="med_(\w+)"[^>]*aria-invalid="true"', response.text)
    assert marked == ["frequency", "days"]
    assert "Say how often it is taken. Give the number of days, from 1 to 365." \
        in response.text
    assert "placeholder=" not in response.text  # grey examples read as typed values
    assert Treatment.select().count() == 0


def test_medicine_rows_are_added_and_removed_by_htmx_and_plain_posts(client, auth, visit):
    auth.login("dr.one")
    added = treatment_form(client, visit, save=None, add_medicine="1")  # without JS
    assert added.status_code == 200 and added.text.count('name="med_name"') == 3
    fragment = client.post(f"/appointments/{visit.id}/treatments/new", headers=HTMX, data={
        "csrf_token": csrf_token(added.text), "diagnosis": "Typed", "visit_type": "first",
        "med_name": ["A", "B"], "med_dose": ["1", "2"], "med_frequency": ["x", "y"],
        "med_days": ["1", "2"], "remove_medicine": "0"})
    assert fragment.text.startswith('<form id="treatment-form"')
    assert 'value="A"' not in fragment.text and 'value="B"' in fragment.text
    assert ">Typed</textarea>" in fragment.text
    assert Treatment.select().count() == 0


def test_empty_medicine_rows_are_ignored(client, auth, visit):
    auth.login("dr.one")
    treatment_form(client, visit, med_name=["", ""], med_dose=["", ""], med_frequency=["", ""],
                   med_days=["", ""])
    assert json.loads(Treatment.get().medicines_json) == []


def test_only_the_visits_own_doctor_writes_treatments(client, auth, visit):
    auth.login("dr.two")
    assert client.get(f"/appointments/{visit.id}/treatments/new").status_code == 404
    auth.logout()
    auth.login("pat.one")
    assert client.get(f"/appointments/{visit.id}/treatments/new").status_code == 403


def test_no_treatment_before_check_in(client, auth, visit):
    Appointment.update(status="booked").where(Appointment.id == visit.id).execute()
    auth.login("dr.one")
    response = treatment_form(client, visit)
    assert response.status_code == 409 and "once the patient has checked in" in response.text
    assert Treatment.select().count() == 0


# --- patients and histories -------------------------------------------------------------------

def test_my_patients_lists_and_searches_the_doctors_patients(client, auth, visit):
    auth.login("dr.one")
    page = client.get("/patients/").text
    assert "Pat One" in page and "Pat Two" not in page  # Pat Two never saw Dr One
    found = client.get("/patients/?q=0001", headers=HTMX)  # by phone
    assert found.text.startswith('<section id="patient-list"') and "Pat One" in found.text
    assert "Pat One" not in client.get("/patients/?q=nobody").text


def test_my_patients_come_25_a_page_with_the_total(client, auth, people, visit):
    from hms.models import User

    for n in range(29):  # Pat One and 29 more, each with one visit to Dr One
        user = User.create(username=f"many{n:02d}", role="patient")
        patient = Patient.create(user=user, full_name=f"Zed {n:02d}", gender="other",
                                 dob=dt.date(1990, 1, 1), phone=f"+44 2000 0000{n:02d}")
        Appointment.create(patient=patient, doctor=people.doctor("dr.one"), date=visit.date,
                           time=dt.time(10 + n // 3, 20 * (n % 3)), status="completed")
    auth.login("dr.one")
    first = client.get("/patients/").text
    assert "30 patients, page 1." in first and first.count("<tr><td>") == 25
    assert "Pat One" in first and "Zed 23" in first and "Zed 24" not in first  # by name
    # Each row: number, name, age, phone, visits with this doctor, the latest visit's date.
    assert f"<td>+44 2000 000000</td><td>1</td><td>{visit.date}</td>" in first
    assert 'href="/patients/?page=2"' in first
    second = client.get("/patients/?page=2").text
    assert second.count("<tr><td>") == 5 and "Zed 28" in second and "Pat One" not in second
    assert "Next" not in second and 'href="/patients/?page=1"' in second


def test_a_long_history_comes_20_visits_a_page_newest_first(client, auth, people, visit):
    for n in range(1, 25):  # 25 visits in all, a day apart
        Appointment.create(patient=visit.patient_id, doctor=visit.doctor_id, status="completed",
                           date=visit.date - dt.timedelta(days=n), time=dt.time(9),
                           reason=f"Visit {n:02d}")
    auth.login("dr.one")
    first = client.get(f"/patients/{visit.patient_id}").text
    assert first.count("<article>") == 20 and "Cough" in first and "Visit 19" in first
    assert "Visit 20" not in first and f'href="/patients/{visit.patient_id}?page=2"' in first
    second = client.get(f"/patients/{visit.patient_id}?page=2").text
    assert second.count("<article>") == 5 and "Visit 24" in second and "Next" not in second
    auth.logout()
    auth.login("pat.one")
    assert client.get("/me/history").text.count("<article>") == 20
    assert client.get("/me/history?page=2").text.count("<article>") == 5
    assert client.get("/me/history.csv").text.count("Visit ") == 24  # downloads hold them all


def test_history_across_doctors_for_a_doctor_who_saw_the_patient(client, auth, people, visit):
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.two"),
                       date=visit.date - dt.timedelta(days=30), time=dt.time(10),
                       status="completed", reason="Eczema")
    auth.login("dr.one")
    page = client.get(f"/patients/{visit.patient_id}")
    assert page.status_code == 200
    assert page.text.index("Cough") < page.text.index("Eczema")  # newest first
    assert "Dr Bo Two" in page.text  # continuity of care: other doctors' visits too
    log = AuditLog.get(AuditLog.object_type == "history")
    assert (log.user.username, log.patient_id, log.action) == ("dr.one", visit.patient_id,
                                                               "read")


def test_history_is_404_for_a_doctor_who_never_saw_the_patient(client, auth, visit):
    auth.login("dr.two")
    assert client.get(f"/patients/{visit.patient_id}").status_code == 404
    assert AuditLog.select().count() == 0


def test_a_later_page_of_a_history_is_as_private_as_the_first(client, auth, visit):
    auth.login("dr.two")  # never saw Pat One
    assert client.get(f"/patients/{visit.patient_id}?page=2").status_code == 404
    auth.logout()
    auth.login("desk")
    assert client.get(f"/patients/{visit.patient_id}?page=2").status_code == 403
    assert client.get("/me/history?page=2").status_code == 403
    assert AuditLog.select().count() == 0


@pytest.mark.parametrize("page", ["abc", "0", "-3", "1e9", "²", "99999999999"])
def test_odd_page_numbers_give_a_page_never_an_error(client, auth, visit, page):
    auth.login("dr.one")
    for url in (f"/patients/{visit.patient_id}?page={page}", f"/patients/?page={page}"):
        response = client.get(url)
        assert response.status_code == 200, url
    # Anything that is not a page number reads as the first page; a page past the end is empty.
    first = client.get(f"/patients/{visit.patient_id}?page={page}").text
    assert ("Cough" in first) == (page != "99999999999")


@pytest.mark.parametrize("username, status", [("pat.one", 403), ("desk", 403), ("admin", 200)])
def test_history_page_for_other_roles(client, auth, visit, username, status):
    auth.login(username)
    assert client.get(f"/patients/{visit.patient_id}").status_code == status


def test_patient_sees_own_history_newest_first_with_medicines(client, auth, visit):
    auth.login("dr.one")
    treatment_form(client, visit, follow_up_date=(visit.date + dt.timedelta(days=7)).isoformat())
    auth.logout()
    auth.login("pat.one")
    page = client.get("/me/history").text
    assert "Bronchitis" in page and "Amoxicillin" in page and "Follow-up" in page
    assert "Print" in page


def test_a_patient_never_sees_another_patients_history(client, auth, visit):
    auth.login("pat.two")
    assert "Cough" not in client.get("/me/history").text
    assert client.get(f"/appointments/{visit.id}").status_code == 404


def test_front_desk_sees_appointments_but_not_treatments(client, auth, visit):
    auth.login("dr.one")
    treatment_form(client, visit)
    auth.logout()
    auth.login("desk")
    page = client.get(f"/appointments/{visit.id}")
    assert page.status_code == 200 and "Bronchitis" not in page.text


def test_staff_reading_a_treatment_is_audited(client, auth, visit):
    auth.login("dr.one")
    treatment_form(client, visit)
    client.get(f"/appointments/{visit.id}")
    log = AuditLog.get(AuditLog.action == "read treatments")
    assert (log.object_type, log.object_id, log.user.username) == ("appointment", visit.id,
                                                                   "dr.one")


# --- profiles ---------------------------------------------------------------------------------

PROFILE = {"full_name": "Pat One", "gender": "female", "dob": "1980-05-17",
           "phone": "+44 1000 000001", "address": "1 Lane", "height_cm": "168",
           "weight_kg": "60", "blood_group": "A+", "is_disabled": "y"}


def test_patient_edits_own_profile(client, auth, people):
    auth.login("pat.one")
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={"csrf_token": csrf_token(page.text), **PROFILE})
    assert response.status_code == 303
    me = Patient.get_by_id(people.patient("pat.one").id)
    assert (me.height_cm, me.weight_kg, me.blood_group, me.is_disabled) == (168, 60, "A+", True)
    assert 'value="168.0"' in client.get("/me/profile").text
    assert AuditLog.get().action == "update"


@pytest.mark.parametrize("field, value, message", [
    ("height_cm", "900", "between 30 and 260"),
    ("weight_kg", "0", "between 1 and 400"),
    ("dob", "2999-01-01", "must be in the past"),
    ("blood_group", "C+", "Not a valid choice"),
    ("phone", "phone", "Enter a phone number"),
])
def test_bad_profile_values_are_refused_beside_the_field(client, auth, people, field, value,
                                                         message):
    auth.login("pat.one")
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={
        "csrf_token": csrf_token(page.text), **PROFILE, field: value})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text and message in response.text
    assert Patient.get_by_id(people.patient("pat.one").id).blood_group is None  # unchanged


def test_doctor_edits_own_profile(client, auth, people):
    auth.login("dr.one")
    page = client.get("/doctor/profile")
    dept = people.doctor("dr.two").department_id
    response = client.post("/doctor/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Dr Ada One-Smith",
        "department": str(dept), "experience_years": "12", "about": "Hearts."})
    assert response.status_code == 303
    me = Doctor.get_by_id(people.doctor("dr.one").id)
    assert (me.full_name, me.department_id, me.experience_years, me.about) == \
        ("Dr Ada One-Smith", dept, 12, "Hearts.")


@pytest.mark.parametrize("fields, error", [
    ({"experience_years": "99"}, "experience_years"),
    ({"experience_years": "many"}, "experience_years"),
    ({"department": "999"}, "department"),
    ({"full_name": ""}, "full_name"),
])
def test_bad_doctor_profile_values_are_refused(client, auth, people, fields, error):
    auth.login("dr.one")
    page = client.get("/doctor/profile")
    response = client.post("/doctor/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Dr X", "department": "1",
        "experience_years": "3", "about": "", **fields})
    assert response.status_code == 422 and f'id="{error}-error"' in response.text
    assert Doctor.get_by_id(people.doctor("dr.one").id).full_name == "Dr Ada One"


@pytest.mark.parametrize("url, username", [("/me/profile", "dr.one"), ("/me/history", "desk"),
                                           ("/doctor/profile", "pat.one"),
                                           ("/patients/", "pat.one")])
def test_profiles_and_records_are_for_their_roles_only(client, auth, url, username):
    auth.login(username)
    assert client.get(url).status_code == 403
