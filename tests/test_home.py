"""Landing pages per role, and who may see an appointment."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms.models import Appointment, Doctor, Reminder, User, WorkingHours
from support import csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

PAGES = {"/admin/": {"admin"}, "/doctor/": {"dr.one"}, "/me/": {"pat.one"},
         "/desk/": {"desk", "admin"}}


@pytest.fixture
def today(app):
    with app.app_context():
        from hms.clock import clinic_today

        return clinic_today()


@pytest.fixture
def visits(people, today):
    """Pat One with Dr One today at 09:00 and Pat Two with Dr Two today at 10:00."""
    one = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                             date=today, time=dt.time(9), reason="Chest pain")
    two = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.two"),
                             date=today, time=dt.time(10), reason="Rash")
    return one, two


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("username", ["admin", "dr.one", "pat.one", "desk"])
def test_each_landing_page_is_for_its_roles_only(client, auth, page, username):
    auth.login(username)
    response = client.get(page)
    assert response.status_code == (200 if username in PAGES[page] else 403)


def test_doctor_sees_only_their_own_day(client, auth, visits):
    auth.login("dr.one")
    page = client.get("/doctor/").text
    assert "Pat One" in page and "Chest pain" in page
    assert "Pat Two" not in page


def test_desk_sees_every_doctors_day_in_time_order(client, auth, visits):
    auth.login("desk")
    page = client.get("/desk/").text
    assert page.index("Pat One") < page.index("Pat Two")
    assert "Dr Ada One" in page and "Dr Bo Two" in page


def test_patient_sees_upcoming_appointments_but_not_cancelled_ones(client, auth, people,
                                                                  tomorrow):
    one = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                             date=tomorrow, time=dt.time(9), reason="Chest pain")
    auth.login("pat.one")
    assert "Dr Ada One" in client.get("/me/").text
    Appointment.update(status="cancelled").where(Appointment.id == one.id).execute()
    assert "You have no upcoming appointments." in client.get("/me/").text


def test_patient_home_offers_their_last_doctors_to_book_again(client, auth, people, today):
    def book_again(page: str) -> list[str]:
        section = page.split('id="again-title"')[1].split("</section>")[0] \
            if 'id="again-title"' in page else ""
        return re.findall(r'<a href="/doctors/(\d+)">([^<]+)</a>', section)

    one, two = people.doctor("dr.one"), people.doctor("dr.two")
    auth.login("pat.one")
    assert book_again(client.get("/me/").text) == []  # no visit yet: the directory only
    Appointment.create(patient=people.patient("pat.one"), doctor=one,
                       date=today - dt.timedelta(days=30), time=dt.time(9), reason="Check-up")
    Appointment.create(patient=people.patient("pat.one"), doctor=two,
                       date=today - dt.timedelta(days=2), time=dt.time(9), reason="Rash")
    Appointment.create(patient=people.patient("pat.two"), doctor=one,
                       date=today - dt.timedelta(days=1), time=dt.time(9), reason="Cough")
    assert book_again(client.get("/me/").text) == [(str(two.id), "Dr Bo Two"),
                                                    (str(one.id), "Dr Ada One")]
    auth.logout()
    auth.login("admin")
    page = client.get(f"/admin/doctors/{two.id}")
    client.post(f"/admin/doctors/{two.id}/deactivate", data={"csrf_token": csrf_token(page.text)})
    assert not User.get_by_id(two.user_id).is_active
    auth.logout()
    auth.login("pat.one")
    assert book_again(client.get("/me/").text) == [(str(one.id), "Dr Ada One")]


def test_admin_dashboard_counts_people_and_todays_load(client, auth, visits):
    auth.login("admin")
    page = client.get("/admin/").text
    assert "<strong>2</strong> Active doctors" in page.replace("\n", "")
    assert "<strong>2</strong> Appointments today" in page


def test_the_admin_dashboard_opens_on_what_needs_attention(client, auth, people, visits,
                                                           today):
    """Each item says what is wrong and links to where it is put right; when all is well the
    section is not there."""
    one, two = people.doctor("dr.one"), people.doctor("dr.two")

    def attention() -> str:
        page = client.get("/admin/").text
        if "Needs your attention" not in page:
            return ""
        assert page.index("Needs your attention") < page.index("Active doctors")  # first
        return page.split('<section class="attention"')[1].split("</section>")[0]

    auth.login("admin")
    shown = attention()  # the personas' doctors have no working hours
    assert f'<a href="/availability/plan/{one.id}">Dr Ada One has no working hours' in shown
    assert f'<a href="/availability/plan/{two.id}">Dr Bo Two has no working hours' in shown
    for doctor in (one, two):
        WorkingHours.create(doctor=doctor, weekday=0, start_time=dt.time(9),
                            end_time=dt.time(12))
    assert attention() == ""

    User.update(is_active=False).where(User.id == one.user_id).execute()  # Pat One at 09:00
    Reminder.create(appointment=visits[1], status="failed", due_at=dt.datetime(2030, 1, 1),
                    expires_at=dt.datetime(2030, 1, 1), message_id="<x@hms.invalid>")
    shown = attention()
    assert '<a href="/admin/jobs">1 background job failed or may not have arrived' in shown
    assert f'<a href="/admin/doctors/{one.id}">Dr Ada One is deactivated with appointments' \
        in shown
    assert "no working hours" not in shown  # a deactivated doctor needs none
    visits[0].status = "cancelled"
    visits[0].save()
    Reminder.update(status="sent").execute()
    assert attention() == ""


def test_admin_dashboard_shows_the_ten_busiest_doctors_of_today(client, auth, people, today):
    department = people.doctor("dr.one").department_id
    patients = [people.patient("pat.one"), people.patient("pat.two")]
    made = 0
    for n in range(12):  # doctor n has n + 1 appointments today, each at its own time
        user = User.create(username=f"dr.load{n}", role="doctor")
        doctor = Doctor.create(user=user, full_name=f"Dr Load {n:02d}", department=department)
        for _ in range(n + 1):
            Appointment.create(patient=patients[made % 2], doctor=doctor, date=today,
                               time=dt.time(made // 6, made % 6 * 10))
            made += 1
    auth.login("admin")
    page = client.get("/admin/").text
    shown = re.findall(r">Dr Load (\d\d)</a>", page)
    assert shown == [f"{n:02d}" for n in range(11, 1, -1)]  # the busiest first
    assert "2 more doctors with appointments today" in page
    assert f"<strong>{sum(range(1, 13))}</strong> Appointments today" in page
    assert "<strong>14</strong> Active doctors" in page.replace("\n", "")


@pytest.mark.parametrize("username, which, status", [
    ("pat.one", 0, 200), ("pat.one", 1, 404),    # another patient's appointment is 404
    ("dr.one", 0, 200), ("dr.one", 1, 404),      # another doctor's patient is 404
    ("desk", 1, 200), ("admin", 1, 200),
])
def test_appointment_is_shown_to_its_owners_and_the_front_desk(
        client, auth, visits, username, which, status):
    auth.login(username)
    response = client.get(f"/appointments/{visits[which].id}")
    assert response.status_code == status
    if status == 200:
        assert visits[which].reason in response.text


def test_appointment_detail_fragment_for_htmx(client, auth, visits):
    auth.login("pat.one")
    response = client.get(f"/appointments/{visits[0].id}", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert "Chest pain" in response.text


def test_missing_appointment_is_404(client, auth):
    auth.login("admin")
    assert client.get("/appointments/999").status_code == 404
