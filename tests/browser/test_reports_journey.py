"""Reports in the browser: an admin goes from the dashboard to the analytics and a month's
report and downloads its PDF; a doctor picks a month for their activity report."""

from __future__ import annotations

import datetime as dt

from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment


def add_visits(people) -> None:
    """Dr One saw Pat One three times in March 2025: two completed, one no-show."""
    for n, status in enumerate(["completed", "completed", "no_show"]):
        Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                           date=dt.date(2025, 3, 10 + n), time=dt.time(9), status=status)


def test_admin_reads_analytics_and_a_monthly_report(live_server, page, people):
    add_visits(people)
    log_in(page, live_server, "admin")
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics: the last 30 days")).to_be_visible()
    expect(page.get_by_role("img", name="Appointments per day")).to_be_visible()

    page.get_by_role("link", name="Monthly reports").click()
    expect(page.get_by_role("heading", name="Monthly report", exact=True)).to_be_visible()
    if page.js_enabled:
        mark_page(page)
    page.get_by_label("Month", exact=True).fill("2025-03")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="March 2025")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/admin/reports/monthly?month=2025-03")
    busiest = page.get_by_role("table", name="Busiest doctors (top 10)")
    expect(busiest.get_by_role("row", name="Dr Ada One Cardiology 3 2 1")).to_be_visible()
    if page.js_enabled:
        assert still_marked(page), "the month picker should swap the report, not reload"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "hms-monthly-report-2025-03.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_doctor_picks_a_month_for_their_activity_report(live_server, page, people):
    add_visits(people)
    log_in(page, live_server, "dr.one")
    page.get_by_role("link", name="Activity report").click()
    expect(page.get_by_role("heading", name="My activity report")).to_be_visible()
    page.get_by_label("Period").select_option("month")
    page.get_by_label("Including the day").fill("2025-03-20")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="March 2025", exact=True)).to_be_visible()
    counts = page.get_by_role("table", name="Activity")
    expect(counts.get_by_role("row", name="Completed")).to_have_text("Completed2")
    expect(counts.get_by_role("row", name="No-shows")).to_have_text("No-shows1")
    page.get_by_role("link", name="← Previous month").click()
    expect(page.get_by_role("heading", name="February 2025", exact=True)).to_be_visible()
