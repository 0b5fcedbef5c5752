"""What people type, wherever they type it: numbers in ASCII digits only, blank e-mails,
request sizes and the longest text each field takes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hms.models import Appointment, Doctor, Patient, Treatment, User
from support import csrf_token

HTMX = {"HX-Request": "true"}
# Superscript two and circled one pass str.isdigit() but int() refuses them; int() reads the
# Arabic-Indic three as 3. None of them is a number to HMS.
ODD_DIGITS = ["²", "①", "٣", "1²", "#٣"]


# --- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("q", ODD_DIGITS)
def test_odd_digits_in_the_desk_search_find_nothing_and_never_fail(client, auth, q):
    auth.login("desk")
    for response in (client.get("/desk/patients", query_string={"q": q}, headers=HTMX),
                     client.get("/desk/", query_string={"q": q})):
        assert response.status_code == 200
        assert "Pat One" not in response.text and "Pat Two" not in response.text


def test_the_desk_search_still_finds_a_patient_by_number(client, auth, people):
    auth.login("desk")
    number = people.patient("pat.two").id
    assert "Pat Two" in client.get("/desk/patients", query_string={"q": f"#{number}"},
                                   headers=HTMX).text


def test_arabic_indic_digits_are_not_read_as_a_patient_number(client, auth, people):
    auth.login("desk")
    number = people.patient("pat.two").id
    arabic = str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = client.get("/desk/patients", query_string={"q": arabic}, headers=HTMX)
    assert response.status_code == 200 and "Pat Two" not in response.text


@pytest.mark.parametrize("q", ODD_DIGITS)
def test_odd_digits_in_the_admin_search_never_fail(client, auth, q):
    auth.login("admin")
    for path in ("/admin/search", "/admin/patients", "/admin/doctors", "/admin/staff"):
        response = client.get(path, query_string={"q": q})
        assert response.status_code == 200, path


@pytest.mark.parametrize("q", ODD_DIGITS)
def test_odd_digits_in_the_doctors_patient_search_never_fail(client, auth, visit, q):
    auth.login("dr.one")
    response = client.get("/patients/", query_string={"q": q})
    assert response.status_code == 200 and "Pat One" not in response.text


@pytest.mark.parametrize("days", ["²", "①", "٣", "٣٠"])
def test_odd_digits_as_a_medicines_days_are_refused_beside_the_row(client, auth, visit, days):
    auth.login("dr.one")
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    response = client.post(f"/appointments/{visit.id}/treatments/new", data={
        "csrf_token": csrf_token(page.text), "diagnosis": "Bronchitis", "visit_type": "first",
        "med_name": "Amoxicillin", "med_dose": "500 mg", "med_frequency": "3x daily",
        "med_days": days, "save": "1"})
    assert response.status_code == 422
    assert "Give the number of days, from 1 to 365." in response.text
    assert Treatment.select().count() == 0


def test_a_medicines_days_in_ascii_digits_are_saved(client, auth, visit):
    auth.login("dr.one")
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    response = client.post(f"/appointments/{visit.id}/treatments/new", data={
        "csrf_token": csrf_token(page.text), "diagnosis": "Bronchitis", "visit_type": "first",
        "med_name": "Amoxicillin", "med_dose": "500 mg", "med_frequency": "3x daily",
        "med_days": " 7 ", "save": "1"})
    assert response.status_code == 303
    assert json.loads(Treatment.get().medicines_json)[0]["days"] == 7


@pytest.mark.parametrize("index", ["²", "٠"])
def test_odd_digits_removing_a_medicine_row_remove_nothing(client, auth, visit, index):
    auth.login("dr.one")
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    response = client.post(f"/appointments/{visit.id}/treatments/new", data={
        "csrf_token": csrf_token(page.text), "diagnosis": "x", "visit_type": "first",
        "med_name": "Kept", "med_dose": "1", "med_frequency": "1", "med_days": "1",
        "remove_medicine": index})
    assert response.status_code == 200 and 'value="Kept"' in response.text


@pytest.mark.parametrize("path", [
    "/admin/appointments?doctor={odd}", "/admin/appointments?patient={odd}",
    "/admin/audit?user={odd}", "/admin/doctors?department={odd}", "/admin/patients?page={odd}",
    "/desk/?patient={odd}", "/desk/queue?queue={odd}", "/doctors/?department={odd}",
    "/desk/first-free?department={odd}&patient={odd}",
])
@pytest.mark.parametrize("odd", ["²", "①", "٣"])
def test_odd_digits_in_an_id_like_query_argument_are_no_id(client, auth, path, odd):
    auth.login("admin")
    response = client.get(path.format(odd=odd))
    assert response.status_code == 200


def test_an_arabic_indic_patient_id_at_the_desk_picks_nobody(client, auth, people):
    auth.login("desk")
    number = str(people.patient("pat.one").id)
    arabic = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert "Patient: <strong>Pat One" in client.get(f"/desk/?patient={number}").text
    assert "Patient: <strong>Pat One" not in client.get(f"/desk/?patient={arabic}").text


@pytest.mark.parametrize("odd", ["²", "①", "٣"])
def test_odd_digits_in_an_id_in_the_path_are_not_found(client, auth, visit, odd):
    auth.login("dr.one")
    assert client.get(f"/appointments/{visit.id}").status_code == 200
    response = client.get(f"/appointments/{odd}")
    assert response.status_code == 404 and "There is nothing here" in response.text


@pytest.mark.parametrize("odd", ["²", "①", "٣"])
def test_odd_digits_in_dates_and_months_are_no_date(client, auth, odd):
    auth.login("dr.one")
    assert client.get(f"/doctor/report?month=2026-0{odd}").status_code in (200, 422)
    auth.logout()
    auth.login("admin")
    assert client.get(f"/admin/appointments?from=2026-11-2{odd}").status_code == 200


@pytest.mark.parametrize("field, value", [
    ("experience_years", "٣"), ("experience_years", "²"), ("experience_years", "①"),
    ("department", "٣"), ("department", "²"),
])
def test_odd_digits_in_a_doctors_profile_are_refused_beside_the_field(
        client, auth, people, field, value):
    auth.login("dr.one")
    page = client.get("/doctor/profile")
    response = client.post("/doctor/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Dr Changed", "about": "",
        "department": str(people.doctor("dr.one").department_id), "experience_years": "3",
        field: value})
    assert response.status_code == 422 and f'id="{field}-error"' in response.text
    assert Doctor.get_by_id(people.doctor("dr.one").id).full_name == "Dr Ada One"


@pytest.mark.parametrize("field, value", [
    ("height_cm", "١٧٠"), ("height_cm", "1⁷0"), ("weight_kg", "nan"), ("weight_kg", "6e1"),
    ("weight_kg", "٦٠"),
])
def test_odd_numbers_in_a_patients_profile_are_refused_beside_the_field(
        client, auth, people, field, value):
    auth.login("pat.one")
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Pat Changed", "gender": "female",
        "dob": "1980-05-17", "phone": "+44 1000 000001", "height_cm": "170",
        "weight_kg": "60", field: value})
    assert response.status_code == 422 and f'id="{field}-error"' in response.text
    assert "Enter a number, like 72 or 72.5." in response.text
    assert Patient.get_by_id(people.patient("pat.one").id).full_name == "Pat One"


def test_a_decimal_height_is_still_saved(client, auth, people):
    auth.login("pat.one")
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Pat One", "gender": "female",
        "dob": "1980-05-17", "phone": "+44 1000 000001", "height_cm": "170.5",
        "weight_kg": "", "blood_group": ""})
    assert response.status_code == 303, response.text
    assert Patient.get_by_id(people.patient("pat.one").id).height_cm == 170.5


def test_users_are_unchanged_by_all_of_this(app):
    assert User.select().count() == 6


# --- the blank e-mail -------------------------------------------------------------------------

NEW_PATIENT = {"full_name": "Walk In", "gender": "other", "dob": "2000-01-01",
               "phone": "+44 2000 123456", "address": "", "height_cm": "", "weight_kg": "",
               "blood_group": ""}


@pytest.mark.parametrize("blank", [" ", "   ", "\t", ""])
def test_a_blank_email_means_no_email_for_every_patient_the_admin_registers(
        client, auth, blank):
    auth.login("admin")
    for name in ("Walk In", "Walk Out"):
        page = client.get("/admin/patients/new")
        response = client.post("/admin/patients/new", data={
            "csrf_token": csrf_token(page.text), **NEW_PATIENT, "full_name": name,
            "email": blank})
        assert response.status_code == 303, response.text
    emails = [u.email for u in User.select().join(Patient).where(
        Patient.full_name.in_(["Walk In", "Walk Out"]))]
    assert emails == [None, None]


def test_editing_a_patients_email_to_blank_removes_it(client, auth, people):
    auth.login("admin")
    for patient in (people.patient("pat.one"), people.patient("pat.two")):
        page = client.get(f"/admin/patients/{patient.id}/edit")
        response = client.post(f"/admin/patients/{patient.id}/edit", data={
            "csrf_token": csrf_token(page.text), **NEW_PATIENT, "full_name": patient.full_name,
            "email": " "})
        assert response.status_code == 303
        assert User.get_by_id(patient.user_id).email is None
    edit = client.get(f"/admin/patients/{people.patient('pat.one').id}/edit").text
    assert 'value="None"' not in edit


def test_a_padded_email_is_kept_trimmed_and_still_unique(client, auth, people):
    auth.login("admin")
    page = client.get("/admin/patients/new")
    response = client.post("/admin/patients/new", data={
        "csrf_token": csrf_token(page.text), **NEW_PATIENT, "email": "  PAT2@test.example "})
    assert response.status_code == 422 and 'id="email-error"' in response.text
    page = client.get("/admin/patients/new")
    response = client.post("/admin/patients/new", data={
        "csrf_token": csrf_token(page.text), **NEW_PATIENT, "email": "  New@Test.example "})
    assert response.status_code == 303
    assert User.select().where(User.email == "new@test.example").exists()


# --- limits -----------------------------------------------------------------------------------

def test_a_50_mb_post_is_refused_with_413_and_a_clear_page(client, auth, people):
    auth.login("pat.one")
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Pat One", "address": "x" * 50_000_000})
    assert response.status_code == 413
    assert "<html" in response.text and "more than this form takes" in response.text
    assert Patient.get_by_id(people.patient("pat.one").id).address != "x"


def test_the_request_limit_is_a_setting(tmp_path, redis_url, monkeypatch):
    from hms.config import from_environment

    assert from_environment({"HMS_MAX_CONTENT_LENGTH": "1048576"}) == {
        "MAX_CONTENT_LENGTH": 1048576}


def test_an_overlong_address_is_refused_beside_the_field(client, auth, people):
    auth.login("pat.one")
    page = client.get("/me/profile")
    assert 'maxlength="500"' in page.text
    response = client.post("/me/profile", data={
        "csrf_token": csrf_token(page.text), "full_name": "Pat Changed", "gender": "female",
        "dob": "1980-05-17", "phone": "+44 1000 000001", "address": "a" * 501,
        "blood_group": ""})
    assert response.status_code == 422
    error = response.text.split('id="address-error">')[1].split("</p>")[0]
    assert error == "Use at most 500 characters."
    assert Patient.get_by_id(people.patient("pat.one").id).full_name == "Pat One"


@pytest.mark.parametrize("field, limit", [("diagnosis", 4000), ("notes", 4000),
                                          ("med_name", 200), ("med_dose", 200)])
def test_an_overlong_treatment_text_is_refused_beside_it(client, auth, visit, field, limit):
    auth.login("dr.one")
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    data = {"csrf_token": csrf_token(page.text), "diagnosis": "Bronchitis",
            "visit_type": "first", "med_name": "Amoxicillin", "med_dose": "500 mg",
            "med_frequency": "3x daily", "med_days": "7", "save": "1", field: "x" * (limit + 1)}
    response = client.post(f"/appointments/{visit.id}/treatments/new", data=data)
    assert response.status_code == 422
    error_id = "med_0" if field.startswith("med_") else field
    error = response.text.split(f'id="{error_id}-error">')[1].split("</p>")[0]
    assert error.startswith(f"Use at most {limit} characters")
    assert Treatment.select().count() == 0


def test_an_overlong_booking_reason_is_refused_beside_it(client, auth, people, diary):
    auth.login("pat.one")
    doctor = people.doctor("dr.one")
    slot = f"{diary.isoformat()}T09:00"
    page = client.get(f"/appointments/book/{doctor.id}?slot={slot}")
    response = client.post(f"/appointments/book/{doctor.id}", data={
        "csrf_token": csrf_token(page.text), "slot": slot, "reason": "r" * 501})
    assert response.status_code == 422
    assert '<p class="error" id="reason-error">Use at most 500 characters.</p>' in response.text
    assert Appointment.select().count() == 0


def test_an_overlong_cancellation_reason_is_refused_and_nothing_changes(client, auth, people,
                                                                       diary):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="Cough")
    auth.login("pat.one")
    page = client.get(f"/appointments/{appt.id}")
    response = client.post(f"/appointments/{appt.id}/cancel", data={
        "csrf_token": csrf_token(page.text), "reason": "r" * 501})
    assert response.status_code == 422 and "Use at most 500 characters" in response.text
    assert Appointment.get_by_id(appt.id).status == "booked"


def test_an_overlong_name_at_the_admin_is_refused_beside_it(client, auth):
    auth.login("admin")
    page = client.get("/admin/patients/new")
    response = client.post("/admin/patients/new", data={
        "csrf_token": csrf_token(page.text), **NEW_PATIENT, "full_name": "n" * 121,
        "email": ""})
    assert response.status_code == 422
    assert '<p class="error" id="full_name-error">Use at most 120 characters.</p>' in \
        response.text
    assert not Patient.select().where(Patient.full_name == "n" * 121).exists()
