"""Analytics, the hospital's monthly report and the doctor's statistics and activity reports,
on screen and as PDFs; the SVG charts they are drawn with."""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import re
import shutil
import subprocess

import pytest

from hms.charts import bar_chart, daily_chart, nice_ceiling
from hms.clock import clinic_today
from hms.models import Appointment, Department, Treatment
from hms.pdf import StaticOnlyFetcher, render_pdf
from hms.stats import doctor_activity, hospital_summary, utc_bounds
from support import csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}
ADMIN_PAGES = ["/admin/analytics", "/admin/reports/monthly", "/admin/reports/monthly.pdf"]
DOCTOR_PAGES = ["/doctor/stats", "/doctor/report", "/doctor/report.pdf"]
# A fixed month in the past: Monday 10 March 2025 starts a week; the clocks went forward on
# Sunday 30 March, so the month ends at 23:00 UTC on the 31st.
MARCH = dt.date(2025, 3, 1)
WEEK = dt.date(2025, 3, 10)


def pdf_text(data: bytes) -> str:
    """The text of a PDF, laid out in rows, as poppler's pdftotext extracts it."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed: run scripts/test.sh, which installs it")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True, timeout=30)
    return done.stdout.decode()


def row(label: str, *cells: object) -> str:
    """A table row as the report templates write it."""
    return f"<tr><td>{label}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def count(label: str, n: int) -> str:
    """A row of a doctor's activity table."""
    return f'<tr><th scope="row">{label}</th><td>{n}</td></tr>'


class Visits:
    """Appointments made straight in the database, each at its own time of day so that the
    one-live-appointment-per-slot indexes never object."""

    def __init__(self, people):
        self.people = people
        self.clock = 0

    def add(self, doctor: str, day: dt.date, status: str, patient: str = "pat.one"
            ) -> Appointment:
        self.clock += 1
        return Appointment.create(
            patient=self.people.patient(patient), doctor=self.people.doctor(doctor), date=day,
            time=dt.time(self.clock // 60, self.clock % 60), status=status)


@pytest.fixture
def visits(people) -> Visits:
    return Visits(people)


@pytest.fixture
def today(app) -> dt.date:
    with app.app_context():
        return clinic_today()


@pytest.fixture
def recent(visits, today):
    """The last 30 days: Dr One 3 completed, 1 no-show, 1 cancelled, 1 booked today, 1
    rescheduled; Dr Two 1 completed, 1 checked in. Outside them: one 30 days ago and one
    tomorrow (Dr Two)."""
    for status, days_ago in [("completed", 1), ("completed", 1), ("completed", 29),
                             ("no_show", 2), ("cancelled", 3), ("booked", 0),
                             ("rescheduled", 4)]:
        visits.add("dr.one", today - dt.timedelta(days=days_ago), status)
    visits.add("dr.two", today - dt.timedelta(days=1), "completed", "pat.two")
    visits.add("dr.two", today, "checked_in", "pat.two")
    visits.add("dr.two", today - dt.timedelta(days=30), "completed", "pat.two")
    visits.add("dr.two", today + dt.timedelta(days=1), "booked", "pat.two")


def treatment(visit: Appointment, author: str, people, created_at: dt.datetime,
              follow_up: dt.date | None = None) -> Treatment:
    return Treatment.create(appointment=visit, author=people.user(author), diagnosis="Flu",
                            created_at=created_at, follow_up_date=follow_up)


@pytest.fixture
def march(visits, people):
    """Dr One in March 2025. In the week of 10 March: 2 completed, 1 cancelled, 1 no-show,
    1 booked, 1 rescheduled; 2 treatments written, and follow-ups due for 2 patients (Pat One
    asked back twice for the same day). Elsewhere in March: 1 completed (the 3rd), a
    treatment written at 23:30 UTC on 31 March, which is already 1 April at the clinic, and a
    follow-up due on 25 March. Dr Two: 1 completed in the week, with a treatment."""
    completed = visits.add("dr.one", WEEK, "completed")
    other = visits.add("dr.one", WEEK + dt.timedelta(days=1), "completed", "pat.two")
    visits.add("dr.one", WEEK + dt.timedelta(days=2), "cancelled")
    visits.add("dr.one", WEEK + dt.timedelta(days=3), "no_show")
    visits.add("dr.one", WEEK + dt.timedelta(days=6), "booked")
    visits.add("dr.one", WEEK + dt.timedelta(days=4), "rescheduled")
    early = visits.add("dr.one", dt.date(2025, 3, 3), "completed")
    visits.add("dr.one", dt.date(2025, 2, 28), "completed")  # February
    theirs = visits.add("dr.two", WEEK, "completed", "pat.two")
    noon = dt.datetime(2025, 3, 10, 12)
    treatment(completed, "dr.one", people, noon, follow_up=dt.date(2025, 3, 14))
    treatment(completed, "dr.one", people, noon, follow_up=dt.date(2025, 3, 14))
    treatment(other, "dr.one", people, dt.datetime(2025, 3, 11, 9),
              follow_up=dt.date(2025, 3, 16))
    treatment(early, "dr.one", people, dt.datetime(2025, 3, 31, 23, 30),
              follow_up=dt.date(2025, 3, 25))
    treatment(theirs, "dr.two", people, noon, follow_up=dt.date(2025, 3, 12))


# --- who may see what -------------------------------------------------------------------------

@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("username", ["dr.one", "pat.one", "desk"])
def test_analytics_and_monthly_reports_are_for_admins_only(client, auth, url, username):
    auth.login(username)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", DOCTOR_PAGES)
@pytest.mark.parametrize("username", ["admin", "pat.one", "desk"])
def test_doctor_statistics_are_for_doctors_only(client, auth, url, username):
    auth.login(username)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ADMIN_PAGES + DOCTOR_PAGES)
def test_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_reports_are_read_only(client, auth):
    auth.login("admin")
    token = csrf_token(client.get("/admin/analytics").text)
    response = client.post("/admin/analytics", data={"csrf_token": token})
    assert response.status_code == 405


def test_dashboards_link_to_the_reports(client, auth):
    auth.login("admin")
    page = client.get("/admin/").text
    assert 'href="/admin/analytics"' in page and 'href="/admin/reports/monthly"' in page
    auth.logout()
    auth.login("dr.one")
    page = client.get("/doctor/").text
    assert 'href="/doctor/stats"' in page and 'href="/doctor/report"' in page


# --- analytics --------------------------------------------------------------------------------

def test_analytics_is_counted_at_most_once_a_minute(app, client, auth, recent, visits, today,
                                                    frozen_clock):
    auth.login("admin")
    page = client.get("/admin/analytics").text
    assert "<strong>7</strong> Appointments" in page and "Figures as of" in page
    visits.add("dr.two", today, "booked", "pat.two")
    assert "<strong>7</strong> Appointments" in client.get("/admin/analytics").text
    frozen_clock.shift(dt.timedelta(minutes=1))
    with app.app_context():  # the window may have moved to the next day: count it afresh
        now = clinic_today()
        held = Appointment.select().where(
            Appointment.date.between(now - dt.timedelta(days=29), now),
            Appointment.status.in_(("booked", "checked_in", "completed", "no_show"))).count()
    assert held in (8, 7)  # today's new booking counts; a new day drops a month-old visit
    assert f"<strong>{held}</strong> Appointments" in client.get("/admin/analytics").text


def test_analytics_counts_the_last_30_days(client, auth, recent, today):
    auth.login("admin")
    page = client.get("/admin/analytics").text
    # Held a slot in the period: Dr One 3 completed + no-show + booked, Dr Two 2.
    assert "<strong>7</strong> Appointments" in page
    assert "<strong>4</strong> Completed" in page and "<strong>1</strong> No-shows" in page
    for status, n in [("booked", 1), ("checked in", 1), ("completed", 4), ("no show", 1),
                      ("cancelled", 1), ("rescheduled", 1)]:
        assert row(status, n) in page
    assert row("Cardiology", 5) in page and row("Dermatology", 2) in page
    assert page.index(row("Cardiology", 5)) < page.index(row("Dermatology", 2))
    assert row("Dr Ada One", "Cardiology", 5, 3, 1) in page
    assert page.index("<td>Dr Ada One</td>") < page.index("<td>Dr Bo Two</td>")
    # Outcomes: 4 completed, 1 no-show, 1 cancelled.
    assert row("Completed", 4, "66.7%") in page and row("No-show", 1, "16.7%") in page
    assert row("Cancelled", 1, "16.7%") in page
    assert "<strong>66.7%</strong> Completion rate" in page
    yesterday = today - dt.timedelta(days=1)
    assert f"<small>{yesterday:%-d %b}</small> <strong>3</strong>" in page
    assert f"<small>{today:%-d %b}</small> <strong>2</strong>" in page
    first = today - dt.timedelta(days=29)
    assert f"<small>{first:%-d %b}</small> <strong>1</strong>" in page  # Dr One's completed
    assert "completed ÷ (completed + no-shows + cancelled)" in page  # the rate is defined


def test_analytics_charts_are_accessible_svg_and_the_page_stays_small(client, auth, recent):
    auth.login("admin")
    response = client.get("/admin/analytics", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 12_000
    page = gzip.decompress(response.data).decode()
    assert page.count('<svg class="chart"') == 5
    assert page.count('role="img"') == 5 and page.count("<table") >= 5
    assert '<title>Appointments per day</title>' in page
    assert 'aria-label="Busiest doctors by appointments"' in page
    assert "<script" not in page.replace('<script src="/static/htmx.min.js', "")


def test_analytics_with_no_appointments_says_so(client, auth):
    auth.login("admin")
    page = client.get("/admin/analytics").text
    assert "<strong>—</strong> Completion rate" in page
    assert "No appointment in this period has an outcome yet." in page
    assert "No appointments in this period." in page


def test_summary_busiest_doctors_are_the_top_ten_by_appointments(app, people, visits, today):
    for _ in range(2):
        visits.add("dr.two", today, "booked", "pat.two")
    visits.add("dr.one", today, "booked")
    with app.app_context():
        busiest = hospital_summary(today, today)["busiest"]
    assert [(d["name"], d["appointments"]) for d in busiest] == [("Dr Bo Two", 2),
                                                                 ("Dr Ada One", 1)]


# --- the monthly report -----------------------------------------------------------------------

def test_monthly_report_shows_the_month_asked_for(client, auth, march):
    auth.login("admin")
    page = client.get("/admin/reports/monthly?month=2025-03").text
    assert "<h2>March 2025</h2>" in page
    # Dr One: 3 completed, a no-show and a booked (a cancelled and a rescheduled apart); Dr
    # Two: 1 completed.
    assert "<strong>6</strong> Appointments" in page and "<strong>4</strong> Completed" in page
    assert row("Dr Ada One", "Cardiology", 5, 3, 1) in page
    assert row("Dr Bo Two", "Dermatology", 1, 1, 0) in page
    # Written in March at the clinic: 4 (the one at 23:30 UTC on the 31st is April's).
    assert "<strong>4</strong> Treatments written" in page
    assert 'value="2025-03"' in page
    assert 'href="/admin/reports/monthly.pdf?month=2025-03" download' in page
    assert 'href="/admin/reports/monthly?month=2025-02"' in page
    assert 'href="/admin/reports/monthly?month=2025-04"' in page


def test_monthly_report_defaults_to_the_last_complete_month(client, auth, today):
    auth.login("admin")
    last_month = (today.replace(day=1) - dt.timedelta(days=1))
    page = client.get("/admin/reports/monthly").text
    assert f"<h2>{last_month:%B %Y}</h2>" in page
    # The current month is offered (month to date), the one after it is not.
    assert f'month={today:%Y-%m}"' in page
    current = client.get(f"/admin/reports/monthly?month={today:%Y-%m}").text
    assert "(month to date)" in current and "→</a>" not in current


def test_month_picker_swaps_only_the_report_for_htmx(client, auth, march):
    auth.login("admin")
    response = client.get("/admin/reports/monthly?month=2025-03", headers=HTMX)
    assert response.status_code == 200
    assert response.text.startswith('<section id="monthly-report"')
    assert "<html" not in response.text and "<h2>March 2025</h2>" in response.text
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/admin/reports/monthly?month=2025-03")
    assert "<html" in full.text and 'hx-target="#monthly-report"' in full.text


@pytest.mark.parametrize("month, message", [
    ("2025-13", "Give the month as YYYY-MM"),
    ("2025-3", "Give the month as YYYY-MM"),
    ("March", "Give the month as YYYY-MM"),
    ("1999-12", "from 2000 on"),
    ("9" * 500, "Give the month as YYYY-MM"),
    ("next", "has not begun yet"),
])
@pytest.mark.parametrize("url", ["/admin/reports/monthly", "/admin/reports/monthly.pdf"])
def test_a_bad_month_is_refused_beside_the_picker(client, auth, today, url, month, message):
    if month == "next":
        month = f"{(today.replace(day=28) + dt.timedelta(days=5)):%Y-%m}"
    auth.login("admin")
    response = client.get(url, query_string={"month": month})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert 'id="month-error"' in response.text and message in response.text
    assert 'aria-invalid="true"' in response.text
    fragment = client.get(url, query_string={"month": month}, headers=HTMX)
    assert fragment.status_code == 422 and fragment.text.startswith('<section id="monthly')


def test_monthly_report_pdf(client, auth, march):
    auth.login("admin")
    response = client.get("/admin/reports/monthly.pdf?month=2025-03")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="hms-monthly-report-2025-03.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    assert "Monthly report: March 2025" in text and "HMS General Hospital" in text
    assert re.search(r"Dr Ada One\s+Cardiology\s+5\s+3\s+1", text)
    assert re.search(r"Completed\s+4\s+66\.7%", text)  # of 4 + 1 no-show + 1 cancelled
    assert re.search(r"Cardiology\s+5", text) and "Download PDF" not in text
    # Charts beside their tables: a month like this is two pages, the second headed with the
    # report's title (the first has it as its heading).
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 2, len(pages)
    assert pages[1].lstrip().startswith("Monthly report: March 2025")


# --- the doctor's statistics and activity report -------------------------------------------

def test_doctor_activity_for_a_week_and_a_month(app, people, march):
    with app.app_context():
        week = doctor_activity(people.doctor("dr.one"), WEEK, WEEK + dt.timedelta(days=6))
        month = doctor_activity(people.doctor("dr.one"), MARCH, dt.date(2025, 3, 31))
    assert week["counts"] == {"appointments": 4, "completed": 2, "cancelled": 1, "no_show": 1,
                              "open": 1, "treatments": 3, "follow_ups": 2,
                              "late_cancelled": 0, "overbooked": 0}
    assert week["label"] == "Week of 10 March 2025" and week["doctor_name"] == "Dr Ada One"
    assert week["rates"]["completion"] == 0.5 and week["rates"]["no_show"] == 0.25
    assert week["per_day"][0] == (WEEK, 1) and len(week["per_day"]) == 7
    assert month["counts"] == {"appointments": 5, "completed": 3, "cancelled": 1, "no_show": 1,
                               "open": 1, "treatments": 3, "follow_ups": 3,
                               "late_cancelled": 0, "overbooked": 0}
    assert month["label"] == "March 2025" and len(month["per_day"]) == 31


def test_the_clinic_day_bounds_follow_daylight_saving(app):
    with app.app_context():
        assert utc_bounds(MARCH, dt.date(2025, 3, 31)) == (dt.datetime(2025, 3, 1),
                                                           dt.datetime(2025, 3, 31, 23))
        assert utc_bounds(dt.date(2025, 7, 1), dt.date(2025, 7, 1)) == (
            dt.datetime(2025, 6, 30, 23), dt.datetime(2025, 7, 1, 23))


def test_doctor_weekly_report_on_screen(client, auth, march):
    auth.login("dr.one")
    page = client.get("/doctor/report?period=week&start=2025-03-12").text
    assert "<h2>Week of 10 March 2025</h2>" in page
    for label, n in [("Appointments", 4), ("Completed", 2), ("Cancelled", 1), ("No-shows", 1),
                     ("Still booked or checked in", 1), ("Treatments written", 3),
                     ("Follow-ups due", 2)]:
        assert count(label, n) in page
    assert "Dr Bo Two" not in page
    assert 'href="/doctor/report?period=week&amp;start=2025-03-09"' in page
    assert 'href="/doctor/report?period=week&amp;start=2025-03-17"' in page
    assert 'href="/doctor/report.pdf?period=week&amp;start=2025-03-10" download' in page


def test_doctor_monthly_report_on_screen(client, auth, march):
    auth.login("dr.one")
    page = client.get("/doctor/report?period=month&start=2025-03-31").text
    assert "<h2>March 2025</h2>" in page
    assert count("Appointments", 5) in page and count("Completed", 3) in page
    assert count("Treatments written", 3) in page and count("Follow-ups due", 3) in page


def test_each_doctor_sees_only_their_own_numbers(client, auth, march):
    auth.login("dr.two")
    page = client.get("/doctor/report?period=week&start=2025-03-10").text
    assert "Dr Bo Two, Dermatology" in page and "Dr Ada One" not in page
    assert count("Appointments", 1) in page and count("Treatments written", 1) in page
    assert count("Follow-ups due", 1) in page


def test_doctor_report_defaults_to_this_week(client, auth, today):
    auth.login("dr.one")
    monday = today - dt.timedelta(days=today.weekday())
    page = client.get("/doctor/report").text
    assert f"<h2>Week of {monday.day} {monday:%B %Y}</h2>" in page
    assert f'value="{today.isoformat()}"' in page


def test_doctor_report_form_swaps_only_the_report_for_htmx(client, auth, march):
    auth.login("dr.one")
    fragment = client.get("/doctor/report?period=month&start=2025-03-01", headers=HTMX)
    assert fragment.text.startswith('<section id="doctor-report"') and "<html" not in fragment.text
    assert count("Appointments", 5) in fragment.text


@pytest.mark.parametrize("query, field, message", [
    ({"period": "year"}, "period", "Choose a week or a month."),
    ({"start": "2025-02-30"}, "start", "Give a day as YYYY-MM-DD"),
    ({"start": "soon"}, "start", "Give a day as YYYY-MM-DD"),
    ({"start": "1999-12-31"}, "start", "from 2000 on"),
    ({"start": "9999-12-31"}, "start", "within the next year"),
    ({"start": "2025-03-10" * 100}, "start", "Give a day as YYYY-MM-DD"),
])
@pytest.mark.parametrize("url", ["/doctor/report", "/doctor/report.pdf"])
def test_bad_period_or_day_is_refused_beside_the_field(client, auth, url, query, field,
                                                       message):
    auth.login("dr.one")
    response = client.get(url, query_string=query)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert f'id="{field}-error">' in response.text and message in response.text


def test_doctor_report_pdf(client, auth, march):
    auth.login("dr.one")
    response = client.get("/doctor/report.pdf?period=week&start=2025-03-14")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="hms-activity-week-2025-03-10.pdf"'
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    assert "Activity report: Week of 10 March 2025" in text
    assert "Dr Ada One, Cardiology" in text and "Dr Bo Two" not in text
    for label, n in [("Appointments", 4), ("Completed", 2), ("Cancelled", 1), ("No-shows", 1),
                     ("Treatments written", 3), ("Follow-ups due", 2)]:
        assert re.search(rf"^\s*{label}\s+{n}\s*$", text, re.M), label


def test_doctor_statistics_for_the_last_30_days(client, auth, recent):
    auth.login("dr.one")
    page = client.get("/doctor/stats").text
    assert count("Appointments", 5) in page and count("Completed", 3) in page
    assert count("No-shows", 1) in page and count("Cancelled", 1) in page
    assert "<strong>60.0%</strong> Completion rate" in page
    assert "<strong>20.0%</strong> No-show rate" in page
    assert "Dr Bo Two" not in page and page.count('<svg class="chart"') == 3
    fragment = client.get("/doctor/stats", headers=HTMX).text
    assert fragment.startswith('<div id="activity"')


def test_report_pdf_renders_without_a_request_for_background_mail(app, people, march,
                                                                 caplog):
    caplog.set_level(logging.WARNING)
    with app.app_context():
        report = doctor_activity(people.doctor("dr.one"), MARCH, dt.date(2025, 3, 31))
        data = render_pdf("pdf/doctor_report.html", report=report)
    assert data.startswith(b"%PDF-") and "Activity report: March 2025" in pdf_text(data)
    assert caplog.records == []  # WeasyPrint understood every rule of the print stylesheet


def test_pdfs_may_load_only_the_apps_own_static_files(app):
    fetcher = StaticOnlyFetcher(app.static_folder)
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/hostname")
    with pytest.raises(ValueError):
        fetcher.fetch(f"file://{app.static_folder}/../schema.sql")
    with pytest.raises(ValueError):
        fetcher.fetch("http://127.0.0.1:9/secret")
    response = fetcher.fetch(f"file://{app.static_folder}/app.css")
    try:
        assert response.read().startswith(b"/* HMS")
    finally:
        response.close()


# --- charts -----------------------------------------------------------------------------------

def test_bar_chart_is_named_scaled_and_escapes_labels():
    svg = bar_chart(["<b>Cardio</b>", "Dermatology"], [4, 2], 'Busy "doctors"')
    assert svg.startswith('<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ')
    assert 'role="img" aria-label="Busy &#34;doctors&#34;"' in svg
    assert "<title>Busy &#34;doctors&#34;</title>" in svg
    assert "&lt;b&gt;Cardio&lt;/b&gt;" in svg and "<b>" not in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths == [200.0, 100.0]  # the longest bar fills the plot
    assert "script" not in svg and "width=\"100%\"" not in svg


def test_bar_chart_shows_percentages_against_a_fixed_top():
    svg = bar_chart(["Completed"], [50.0], "Outcomes", suffix="%", max_value=100)
    assert ">50.0%</text>" in svg and 'width="100.0"' in svg


def test_daily_chart_has_a_column_per_day_and_labels_the_mondays():
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=n) for n in range(31)]
    svg = daily_chart(days, [n % 3 for n in range(31)], "Per day")
    assert svg.count("<rect") == 31 and "<title>Mon 3 Mar: 2</title>" in svg
    assert ">3 Mar</text>" in svg and ">31 Mar</text>" in svg and ">4 Mar</text>" not in svg
    week = daily_chart(days[9:16], [1] * 7, "Week")
    assert ">Mon 10</text>" in week and ">Sun 16</text>" in week


def test_charts_of_nothing_say_so():
    assert "Nothing to show" in bar_chart([], [], "Busiest doctors")
    assert "Nothing to show" in daily_chart([], [], "Per day")


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 51, 100)] == [1, 1, 5, 10, 20, 100, 100]


def test_department_counts_include_quiet_specializations(app, people, visits, today):
    Department.create(name="Neurology")
    visits.add("dr.one", today, "booked")
    with app.app_context():
        pairs = hospital_summary(today, today)["by_department"]
    assert pairs == [("Cardiology", 1), ("Dermatology", 0), ("Neurology", 0)]


def test_doctor_dashboard_shows_their_last_30_days_in_the_page(client, auth, recent, today):
    """In figures, in the page's one request (the charts are a link away); the day list's
    own refreshes (htmx) carry only the list."""
    auth.login("dr.one")
    page = client.get("/doctor/").text
    stats = page.split('<section id="my-stats"')[1].split("</section>")[0]
    assert "The last 30 days" in stats and "hx-get" not in stats
    assert "<strong>5</strong> Appointments" in stats  # 3 completed, a no-show, one booked
    assert "<strong>60.0%</strong> Completion rate" in stats  # of the 5 with an outcome
    assert "<strong>20.0%</strong> No-show rate" in stats
    assert 'href="/doctor/stats"' in stats
    assert "<strong>0</strong> Treatments written" in stats
    fragment = client.get("/doctor/", headers={"HX-Request": "true"}).text
    assert fragment.startswith('<section id="day-list"') and "my-stats" not in fragment

    # The figures are cached (the next page fills the cache again after the check-in); a
    # treatment written counts at once.
    visit = Appointment.get(Appointment.status == "booked", Appointment.date == today)
    token = csrf_token(client.get(f"/appointments/{visit.id}").text)
    client.post(f"/appointments/{visit.id}/status",
                data={"csrf_token": token, "action": "check_in"})
    assert "<strong>0</strong> Treatments written" in client.get("/doctor/").text  # (cached)
    saved = client.post(f"/appointments/{visit.id}/treatments/new",
                        data={"csrf_token": token, "diagnosis": "Flu", "visit_type": "first"})
    assert saved.status_code == 303
    page = client.get("/doctor/").text
    assert "<strong>1</strong> Treatments written" in page.split('<section id="my-stats"')[1]
