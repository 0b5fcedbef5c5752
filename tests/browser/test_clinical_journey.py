"""The clinical side: a doctor's day (check in, record a treatment, complete) and what the
patient then sees; a patient corrects their profile after a refused first try."""

from __future__ import annotations

import datetime as dt
import json
import re

from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.clock import clinic_today
from hms.models import Appointment, AuditLog, Patient, Treatment

REASON = "Persistent cough for three weeks"
DIAGNOSIS = "Acute bronchitis"
PRESCRIPTION = "Rest, fluids; review if fever persists"
FIRST = {"name": "Amoxicillin", "dose": "500 mg", "frequency": "three times daily", "days": "7"}
SECOND = {"name": "Salbutamol inhaler", "dose": "2 puffs", "frequency": "as needed",
          "days": "14"}
MEDICINE_LABELS = {"name": "Name", "dose": "Dose", "frequency": "How often", "days": "Days"}


def fill_medicine(row, values: dict[str, str]) -> None:
    for key, label in MEDICINE_LABELS.items():
        row.get_by_label(label).fill(values[key])


def expect_medicine(row, values: dict[str, str]) -> None:
    for key, label in MEDICINE_LABELS.items():
        expect(row.get_by_label(label)).to_have_value(values[key])


def test_a_doctors_day(app, live_server, js_page, browser, people, clinic_midday):
    page = js_page
    today = clinic_midday.date()
    # A slot time that has already begun today: the patient is here now.
    slot = dt.time(clinic_midday.hour, 30 if clinic_midday.minute >= 30 else 0)
    follow_up = today + dt.timedelta(days=14)
    patient, patient_user = people.patient("pat.one"), people.user("pat.one")
    doctor, doctor_user = people.doctor("dr.one"), people.user("dr.one")
    appt = Appointment.create(patient=patient, doctor=doctor, date=today, time=slot,
                              reason=REASON, booked_by=patient_user)

    # The doctor lands on today's list; the only patient waiting is highlighted as next.
    log_in(page, live_server, "dr.one")
    expect(page.get_by_role("heading", name="Today's appointments")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/doctor/")
    mark_page(page)
    row = page.locator(f"#appt-{appt.id}")
    cells = row.get_by_role("cell")
    expect(row).to_have_class("next")
    expect(row).to_have_attribute("aria-current", "true")
    expect(cells.nth(0)).to_have_text(f"{slot:%H:%M} Next")
    expect(cells.nth(1)).to_have_text("Pat One")
    expect(cells.nth(2)).to_have_text(str(patient.age_on(today)))
    expect(cells.nth(3)).to_have_text(REASON)
    expect(row.locator(".status")).to_have_text("booked")
    expect(row.get_by_role("link", name="Record treatment")).to_have_count(0)

    # Check in: only the row is swapped.
    row.get_by_role("button", name="Check in").click()
    expect(row.locator(".status")).to_have_text("checked in")
    expect(row.get_by_role("button", name="Check in")).to_have_count(0)
    expect(row.get_by_role("button", name="Complete")).to_be_visible()
    assert still_marked(page)
    assert Appointment.get_by_id(appt.id).status == "checked_in"

    # The treatment form.
    row.get_by_role("link", name="Record treatment").click()
    expect(page.get_by_role("heading", name="Treatment for Pat One")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/appointments/{appt.id}/treatments/new")
    form = page.locator("#treatment-form")
    page.get_by_label("Diagnosis").fill(DIAGNOSIS)
    page.get_by_label("Prescription").fill(PRESCRIPTION)
    page.get_by_label("Visit type").select_option("follow_up")
    page.get_by_label("Follow-up date (optional)").fill(follow_up.isoformat())
    medicines = form.locator("#medicines .medicine")
    expect(medicines).to_have_count(1)
    fill_medicine(medicines.nth(0), FIRST)

    # "Add a medicine" swaps the form with one row more, and keeps everything typed so far.
    page.get_by_role("button", name="Add a medicine").click()
    expect(medicines).to_have_count(2)
    expect_medicine(medicines.nth(0), FIRST)
    expect_medicine(medicines.nth(1), dict.fromkeys(FIRST, ""))
    expect(page.get_by_label("Diagnosis")).to_have_value(DIAGNOSIS)
    expect(page.get_by_label("Prescription")).to_have_value(PRESCRIPTION)
    expect(page.get_by_label("Visit type")).to_have_value("follow_up")
    expect(page.get_by_label("Follow-up date (optional)")).to_have_value(follow_up.isoformat())
    assert still_marked(page)
    assert not Treatment.select().exists()  # adding a row saves nothing

    fill_medicine(medicines.nth(1), SECOND)
    page.get_by_role("button", name="Save treatment").click()
    expect(page.locator("#messages")).to_have_text("Treatment saved.")
    expect(page.get_by_role("heading", name="Appointment details")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/appointments/{appt.id}")
    history = page.locator(f"#appointment-{appt.id} #history")
    expect(history).to_contain_text(f"Diagnosis: {DIAGNOSIS}")
    expect(history.locator("tbody tr")).to_have_count(2)

    # Complete the visit here, on its page: the whole page moves on (its status, the row,
    # the message), not the embedded row alone beside a stale "checked in" and "saved".
    detail = page.locator(f"#appointment-{appt.id}")
    detail.get_by_role("button", name="Complete").click()
    expect(page.locator("#messages")).to_have_text("Pat One: completed.")
    expect(detail.locator(".status")).to_have_text(["completed", "completed"])
    expect(detail).not_to_contain_text("checked in")
    expect(history).to_contain_text(f"Diagnosis: {DIAGNOSIS}")
    expect(page).to_have_url(f"{live_server}/appointments/{appt.id}")

    # Back on today's list, the visit is done.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    expect(page.get_by_role("heading", name="Today's appointments")).to_be_visible()
    expect(row.locator(".status")).to_have_text("completed")
    expect(row.get_by_role("button")).to_have_count(0)  # nothing more to do with this visit
    expect(row.get_by_role("link", name="Record treatment")).to_be_visible()
    # Check-in, treatment form, medicine row, save and complete: never a full page load.
    assert still_marked(page)

    # The database.
    assert Appointment.get_by_id(appt.id).status == "completed"
    treatment = Treatment.get(Treatment.appointment == appt)
    assert Treatment.select().count() == 1
    assert treatment.author_id == doctor_user.id
    assert treatment.diagnosis == DIAGNOSIS
    assert treatment.prescription == PRESCRIPTION
    assert treatment.visit_type == "follow_up"
    assert treatment.follow_up_date == follow_up
    assert json.loads(treatment.medicines_json) == [
        {**FIRST, "days": 7}, {**SECOND, "days": 14}]
    changes = [(a.user_id, a.action, a.patient_id, a.object_type, a.object_id)
               for a in AuditLog.select().where(~AuditLog.action.startswith("read"))
               .order_by(AuditLog.id)]
    assert changes == [
        (doctor_user.id, "status:checked_in", patient.id, "appointment", appt.id),
        (doctor_user.id, "create", patient.id, "treatment", treatment.id),
        (doctor_user.id, "status:completed", patient.id, "appointment", appt.id),
    ]
    with app.app_context():
        assert clinic_today() == today  # the whole visit happened on one clinic day

    # The patient, in a browser of their own, reads the visit in their history.
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        log_in(tab, live_server, "pat.one")
        tab.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
        expect(tab.get_by_role("heading", name="My medical history")).to_be_visible()
        expect(tab).to_have_url(f"{live_server}/me/history")
        visit = tab.locator("#history article")
        expect(visit).to_have_count(1)
        expect(visit.locator("h3")).to_contain_text(
            f"{today:%-d %B %Y}, {slot:%H:%M} · Dr Ada One (Cardiology)")
        expect(visit.locator(".status")).to_have_text("completed")
        expect(visit).to_contain_text(f"Diagnosis: {DIAGNOSIS}")
        expect(visit).to_contain_text(f"Prescription: {PRESCRIPTION}")
        expect(visit.locator("tbody tr td:first-child")).to_have_text(
            [FIRST["name"], SECOND["name"]])
        expect(visit).to_contain_text(f"Follow-up: {follow_up:%-d %B %Y}")
    finally:
        context.close()


def test_patient_edits_profile_bad_then_good(live_server, page, people):
    patient = people.patient("pat.one")
    before = dict(Patient.get_by_id(patient.id).__data__)
    future_dob = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    good_dob = dt.date(1981, 2, 3)

    log_in(page, live_server, "pat.one")
    if page.js_enabled:
        mark_page(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/me/profile")
    height, dob = page.get_by_label("Height (cm)"), page.get_by_label("Date of birth")
    blood = page.get_by_label("Blood group")
    expect(dob).to_have_value(before["dob"].isoformat())

    # A first try with two mistakes: refused (422) with a message beside each field.
    height.fill("900")
    dob.fill(future_dob)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url == f"{live_server}/me/profile") as answer:
        page.get_by_role("button", name="Save profile").click()
    assert answer.value.status == 422
    expect(page.locator("#height_cm-error")).to_have_text("Enter a height between 30 and 260 cm.")
    expect(page.locator("#dob-error")).to_have_text("The date of birth must be in the past.")
    expect(height).to_have_attribute("aria-invalid", "true")
    expect(height).to_have_attribute("aria-describedby", "height_cm-error")
    expect(dob).to_have_attribute("aria-invalid", "true")
    expect(dob).to_have_attribute("aria-describedby", "dob-error")
    expect(height).to_have_value("900")
    expect(dob).to_have_value(future_dob)
    expect(page.get_by_label("Full name")).to_have_value("Pat One")
    expect(page.locator("#messages")).to_have_text("")
    assert Patient.get_by_id(patient.id).__data__ == before
    assert not AuditLog.select().where(AuditLog.action == "update").exists()

    # Corrected, and a blood group chosen: saved.
    height.fill("172")
    dob.fill(good_dob.isoformat())
    blood.select_option("O+")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("#messages")).to_have_text("Your profile is saved.")
    expect(page).to_have_url(f"{live_server}/me/profile")
    expect(page.locator("#profile-form .error")).to_have_count(0)
    expect(height).to_have_value(re.compile(r"^172(\.0)?$"))  # the form shows floats as 172.0
    expect(dob).to_have_value(good_dob.isoformat())
    expect(blood).to_have_value("O+")

    after = Patient.get_by_id(patient.id)
    assert (after.height_cm, after.dob, after.blood_group) == (172.0, good_dob, "O+")
    unchanged = {k: v for k, v in after.__data__.items()
                 if k not in ("height_cm", "dob", "blood_group")}
    assert unchanged == {k: v for k, v in before.items()
                         if k not in ("height_cm", "dob", "blood_group")}
    assert AuditLog.select().where(AuditLog.action == "update", AuditLog.patient == patient,
                                   AuditLog.object_type == "patient").count() == 1
    if page.js_enabled:
        assert still_marked(page)  # the 422 and the save were both htmx swaps
