"""Status changes at the visit: who may make which, when, in place and plainly."""

from __future__ import annotations

import datetime as dt

import pytest

from hms.clock import clinic_now
from hms.models import Appointment, AuditLog
from support import csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}


@pytest.fixture
def now(app) -> dt.datetime:
    with app.app_context():
        return clinic_now()


@pytest.fixture
def today_visit(people, now):
    """Pat One with Dr One today, at midnight: already begun, whatever the hour now."""
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=now.date(), time=dt.time(0), reason="Headache")


@pytest.fixture
def later_visit(people, diary):
    """Pat Two with Dr One tomorrow at 09:00."""
    return Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="Rash")


def post_status(client, appt, action, reason="", listed=None, back=None, **headers):
    token = csrf_token(client.get("/", follow_redirects=True).text)
    data = {"csrf_token": token, "action": action, "reason": reason}
    if listed is not None:
        data["list"] = listed
    if back is not None:
        data["next"] = back
    return client.post(f"/appointments/{appt.id}/status", headers=headers, data=data)


def status_of(appt) -> str:
    return Appointment.get_by_id(appt.id).status


def test_doctor_dashboard_highlights_the_next_patient_and_counts(client, auth, today_visit,
                                                                 later_visit):
    auth.login("dr.one")
    page = client.get("/doctor/").text
    assert f'<tr id="appt-{today_visit.id}" class="next"' in page
    assert "<strong>1</strong> Today" in page and "<strong>1</strong> Upcoming" in page
    assert "Headache" in page and "Pat One" in page


def test_check_in_then_complete_swaps_the_row(client, auth, today_visit):
    auth.login("dr.one")
    row = post_status(client, today_visit, "check_in", **HTMX)
    assert row.status_code == 200
    assert row.headers["HX-Trigger"] == "appointment-changed"  # the day's list refreshes
    assert row.text.startswith(f'<tr id="appt-{today_visit.id}"') and "<html" not in row.text
    assert "checked in" in row.text and 'value="complete"' in row.text
    assert status_of(today_visit) == "checked_in"
    assert post_status(client, today_visit, "complete", **HTMX).status_code == 200
    assert status_of(today_visit) == "completed"
    actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
    assert actions == ["status:checked_in", "status:completed"]


def test_plain_post_redirects_back_with_a_message(client, auth, today_visit):
    auth.login("dr.one")
    response = post_status(client, today_visit, "check_in")
    assert response.status_code == 303
    assert "Pat One: checked in." in client.get(response.headers["Location"]).text


@pytest.mark.parametrize("start, action, message", [
    ("completed", "no_show", "cannot be changed to no show"),
    ("booked", "complete", "cannot be changed to completed"),
    ("cancelled", "check_in", "cannot be changed to checked in"),
    ("booked", "teleport", "Unknown action"),
])
def test_invalid_transitions_are_refused_with_409(client, auth, today_visit, start, action,
                                                 message):
    Appointment.update(status=start).where(Appointment.id == today_visit.id).execute()
    auth.login("dr.one")
    response = post_status(client, today_visit, action, **HTMX)
    assert response.status_code == 409 and message in response.text
    assert status_of(today_visit) == start


def test_timing_rules(client, auth, later_visit):
    auth.login("dr.one")
    early = post_status(client, later_visit, "check_in", **HTMX)
    assert early.status_code == 409 and "on the day of their appointment" in early.text
    too_soon = post_status(client, later_visit, "no_show", **HTMX)
    assert too_soon.status_code == 409 and "once the appointment time has passed" in too_soon.text
    assert status_of(later_visit) == "booked"


def test_cancel_needs_a_reason_and_records_it(client, auth, people, later_visit):
    auth.login("dr.one")
    assert post_status(client, later_visit, "cancel", **HTMX).status_code == 409
    assert post_status(client, later_visit, "cancel", "Doctor ill", **HTMX).status_code == 200
    appt = Appointment.get_by_id(later_visit.id)
    assert (appt.status, appt.cancel_reason, appt.cancelled_by.username) == \
        ("cancelled", "Doctor ill", "dr.one")


def test_no_show_once_the_time_has_passed(client, auth, today_visit):
    auth.login("dr.one")
    assert post_status(client, today_visit, "no_show", **HTMX).status_code == 200
    assert status_of(today_visit) == "no_show"


def test_only_the_appointments_own_doctor_may_change_it(client, auth, today_visit):
    auth.login("dr.two")
    assert post_status(client, today_visit, "check_in").status_code == 404
    assert status_of(today_visit) == "booked"


def test_patients_cannot_change_status(client, auth, today_visit):
    auth.login("pat.one")
    assert post_status(client, today_visit, "check_in").status_code == 403


def test_front_desk_checks_in_but_does_not_complete(client, auth, today_visit):
    auth.login("desk")
    assert post_status(client, today_visit, "check_in", **HTMX).status_code == 200
    refused = post_status(client, today_visit, "complete", **HTMX)
    assert refused.status_code == 409 and "cannot complete" in refused.text
    assert status_of(today_visit) == "checked_in"


def test_status_change_is_post_only(client, auth, today_visit):
    auth.login("dr.one")
    assert client.get(f"/appointments/{today_visit.id}/status").status_code == 405


def test_schedule_lists_today_upcoming_and_past_with_status_filter(client, auth, people,
                                                                  today_visit, later_visit):
    old = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                             date=today_visit.date - dt.timedelta(days=3), time=dt.time(9),
                             status="completed", reason="Old")
    auth.login("dr.one")
    assert f"appt-{today_visit.id}" in client.get("/appointments/schedule").text
    upcoming = client.get("/appointments/schedule?when=upcoming").text
    assert f"appt-{later_visit.id}" in upcoming and f"appt-{today_visit.id}" not in upcoming
    past = client.get("/appointments/schedule?when=past&status=completed", headers=HTMX)
    assert past.text.startswith('<section id="schedule"') and f"appt-{old.id}" in past.text
    assert "appt-" not in client.get("/appointments/schedule?when=past&status=no_show").text
    assert client.get("/appointments/schedule?when=someday").status_code == 404
    assert client.get("/appointments/schedule?status=lost").status_code == 404


def test_schedule_is_paginated(client, auth, people, now):
    for i in range(30):
        Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                           date=now.date() - dt.timedelta(days=i + 1), time=dt.time(9),
                           status="completed", reason=f"Visit {i}")
    auth.login("dr.one")
    first = client.get("/appointments/schedule?when=past").text
    assert first.count('id="appt-') == 25 and "Next →" in first
    second = client.get("/appointments/schedule?when=past&page=2").text
    assert second.count('id="appt-') == 5 and "← Previous" in second


@pytest.mark.parametrize("username", ["pat.one", "desk", "admin"])
def test_schedule_is_for_doctors(client, auth, username):
    auth.login(username)
    assert client.get("/appointments/schedule").status_code == 403


def test_the_days_list_refreshes_itself_as_a_fragment(client, auth, today_visit):
    auth.login("dr.one")
    page = client.get("/doctor/").text
    assert 'hx-trigger="appointment-changed from:body"' in page
    fragment = client.get("/doctor/", headers=HTMX).text
    assert fragment.startswith('<section id="day-list"') and "<strong>1</strong> Today" in fragment


def test_a_change_in_the_days_list_answers_with_the_list_in_one_request(
        client, auth, today_visit, later_visit):
    """The doctor's rows name their list: a check-in answers with the list itself (the next
    patient and the counts moved on), instead of the row and then a second request for it."""
    auth.login("dr.one")
    page = client.get("/doctor/").text
    form = page.split(f'<tr id="appt-{today_visit.id}"')[1].split("</form>")[0]
    assert 'hx-target="closest [data-view]"' in form
    assert '<input type="hidden" name="list" value="/doctor/">' in form

    listed = post_status(client, today_visit, "check_in", listed="/doctor/", **HTMX)
    assert listed.status_code == 200 and "HX-Trigger" not in listed.headers
    assert listed.text.startswith('<section id="day-list"') and "<html" not in listed.text
    row = listed.text.split(f'<tr id="appt-{today_visit.id}"')[1].split("</tr>")[0]
    assert "checked in" in row and 'value="complete"' in row
    assert "<strong>1</strong> Today" in listed.text
    assert status_of(today_visit) == "checked_in"
    # Without JavaScript the same form still goes back to the page it came from.
    plain = post_status(client, today_visit, "complete", listed="/doctor/day-list",
                        back="/doctor/?from=list")
    assert plain.status_code == 303 and plain.location == "/doctor/?from=list"
    assert status_of(today_visit) == "completed"


def test_a_change_on_the_appointments_page_answers_with_the_whole_page_and_its_message(
        client, auth, today_visit):
    """On an appointment's page the row names that page: the answer is the page's section
    (its status and the row agree), with the message swapped into the live region."""
    auth.login("dr.one")
    detail = f"/appointments/{today_visit.id}"
    page = client.get(detail).text
    assert f'<input type="hidden" name="list" value="{detail}">' in page
    answer = post_status(client, today_visit, "check_in", listed=detail, **HTMX)
    assert answer.status_code == 200
    assert answer.text.startswith(f'<section id="appointment-{today_visit.id}"')
    section, messages = answer.text.split('<div hx-swap-oob="innerHTML:#messages">')
    assert section.count("checked in") == 2 and "booked" not in section
    assert "Pat One: checked in." in messages
    assert status_of(today_visit) == "checked_in"


@pytest.mark.parametrize("listed", ["https://example.com/", "/desk/queue", "/no/such/list",
                                    "/login"])
def test_a_list_the_doctor_cannot_open_gets_the_row(client, auth, today_visit, listed):
    """Another site, the desk's queue (not a doctor's), no page, a redirect: the change is
    made and answered with the row, never with someone else's page or an error page."""
    auth.login("dr.one")
    row = post_status(client, today_visit, "check_in", listed=listed, **HTMX)
    assert row.status_code == 200 and row.text.startswith(f'<tr id="appt-{today_visit.id}"')
    assert "checked in" in row.text and 'name="list"' not in row.text
    assert row.headers["HX-Trigger"] == "appointment-changed"
    assert status_of(today_visit) == "checked_in"


def test_a_refused_change_does_not_refresh_the_list(client, auth, today_visit):
    auth.login("dr.one")
    refused = post_status(client, today_visit, "complete", **HTMX)
    assert refused.status_code == 409 and "HX-Trigger" not in refused.headers
    # From the day's list, the refusal is swapped over its row, not over the whole list.
    refused = post_status(client, today_visit, "complete", listed="/doctor/", **HTMX)
    assert refused.status_code == 409
    assert refused.text.startswith(f'<tr id="appt-{today_visit.id}"')
    assert refused.headers["HX-Retarget"] == f"#appt-{today_visit.id}"
    assert refused.headers["HX-Reswap"] == "outerHTML" and "HX-Trigger" not in refused.headers
    # and the row still belongs to its list: the next change answers with the list again
    assert 'hx-target="closest [data-view]"' in refused.text
    assert '<input type="hidden" name="list" value="/doctor/">' in refused.text
    assert status_of(today_visit) == "booked"
