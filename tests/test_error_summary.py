"""A refused form opens with GOV.UK's error summary: every fault, in the page's order, each a
link to its box, and nothing saved."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms.clock import clinic_today
from hms.models import Appointment, Department, Doctor, Patient, Treatment, User
from support import csrf_token

# (who, the form's page, what is typed: blanks and bad values)
FORMS = [
    (None, "/register", {"full_name": "Ola Nordmann", "dob": "tomorrow", "email": "no",
                         "username": "a", "password": "pw", "confirm": "other"}),
    ("pat.one", "/me/profile", {"full_name": "", "phone": "x", "dob": "", "height_cm": "tall"}),
    ("dr.one", "/doctor/profile", {"full_name": "", "experience_years": "many"}),
    ("admin", "/admin/doctors/new", {"experience_years": "-1", "email": "no"}),
    ("admin", "/admin/patients/new", {"phone": "x", "email": "no", "weight_kg": "heavy"}),
    ("admin", "/admin/staff", {"role": "nobody", "username": "a b", "email": ""}),
    ("admin", "/admin/departments", {"name": ""}),
    ("pat.one", "/account/password/change", {"current": "", "password": "pw", "confirm": "x"}),
    (None, "/account/password", {"code": "", "password": "", "confirm": "x"}),
    (None, "/account/forgot", {"email": "not an address"}),
]


def summary_and_boxes(html: str) -> tuple[list[str], list[str]]:
    """The summary's links, and the ids of the boxes marked invalid, both in the page's order."""
    summary = html.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    links = re.findall(r'<a href="#([^"]+)">', summary)
    boxes = re.findall(r'<(?:input|select|textarea)\b[^>]*\baria-invalid="true"[^>]*>', html)
    return links, [re.search(r'\bid="([^"]+)"', box).group(1) for box in boxes]


@pytest.mark.parametrize("who, path, typed", FORMS, ids=[f[1] for f in FORMS])
def test_a_refused_form_summarises_its_faults_in_page_order(client, auth, people, who, path,
                                                           typed):
    if who:
        auth.login(who)
    counts = [model.select().count() for model in (User, Patient, Doctor, Department)]
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(path, data={"csrf_token": csrf_token(page.text), **typed})
    assert response.status_code == 422
    assert "There is a problem" in response.text and "autofocus" in response.text
    links, boxes = summary_and_boxes(response.text)
    assert len(links) >= 1 and links == boxes
    assert [model.select().count() for model in (User, Patient, Doctor, Department)] == counts


def test_the_login_summary_says_what_is_wrong_without_a_link(client, people):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page.text),
                                           "username": "pat.one", "password": "wrong one"})
    assert response.status_code in (401, 422)
    summary = response.text.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Wrong username or password." in summary and "<a " not in summary


def test_a_refused_treatment_links_each_fault_to_its_first_box(app, client, auth, people):
    with app.app_context():
        yesterday = clinic_today() - dt.timedelta(days=1)
    visit = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                               date=yesterday, time=dt.time(9), status="checked_in")
    auth.login("dr.one")
    path = f"/appointments/{visit.id}/treatments/new"
    page = client.get(path)
    response = client.post(path, data={
        "csrf_token": csrf_token(page.text), "diagnosis": "", "visit_type": "routine",
        "med_name": ["Amoxicillin", "Ibuprofen"], "med_dose": ["500 mg", "200 mg"],
        "med_frequency": ["3x daily", ""], "med_days": ["7", "five"], "save": "1"})
    assert response.status_code == 422
    links, boxes = summary_and_boxes(response.text)
    assert links == ["diagnosis", "med-1-frequency"]
    assert boxes == ["diagnosis", "med-1-frequency", "med-1-days"]
    assert "Medicine 2: " in response.text and Treatment.select().count() == 0
