"""A patient prepares a CSV of their history in the background: the progress widget shows while
the export waits in the queue, then the download link appears and the file opens with their
visits. The queue is held in memory and the test runs it, as the worker would, once the patient
has seen the widget waiting."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment, ExportJob, Treatment
from support import run_queued


def add_history(people) -> None:
    """Pat One saw Dr One in March (bronchitis, with a medicine) and cancelled a visit in May."""
    march = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                               date=dt.date(2025, 3, 10), time=dt.time(9), status="completed",
                               reason="Cough")
    Treatment.create(appointment=march, author=people.user("dr.one"), diagnosis="Bronchitis",
                     prescription="Rest", medicines_json=json.dumps(
                         [{"name": "Amoxicillin", "dose": "500 mg", "frequency": "3x daily",
                           "days": 7}]))
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.two"),
                       date=dt.date(2025, 5, 5), time=dt.time(11), status="cancelled",
                       reason="Rash")


def test_patient_prepares_and_downloads_a_csv_of_their_history(live_server, page, people,
                                                               queue):
    add_history(people)
    log_in(page, live_server, "pat.one")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="My medical history")).to_be_visible()
    if page.js_enabled:
        mark_page(page)

    page.get_by_role("button", name="Prepare a CSV export in the background").click()
    expect(page.get_by_text("Waiting to prepare the CSV export of Pat One's history")) \
        .to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "0")
    job = ExportJob.get()
    if page.js_enabled:
        expect(page.locator(f"#export-jobs > #export-{job.id}")).to_be_visible()
    else:
        expect(page).to_have_url(f"{live_server}/exports/{job.id}")

    run_queued(queue)  # the worker's turn; the page notices by itself (polling, or a refresh)
    link = page.get_by_role("link", name="Download the prepared CSV")
    expect(link).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_count(0)
    if page.js_enabled:
        assert still_marked(page), "the widget should update in place, not reload the page"

    with page.expect_download() as download:
        link.click()
    assert re.fullmatch(r"hms-history-\d+-\d{4}-\d\d-\d\d\.csv",
                        download.value.suggested_filename)
    with open(download.value.path(), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["Date", "Time", "Doctor", "Specialization", "Status", "Reason", "Diagnosis",
         "Prescription", "Medicines", "Follow-up"],
        ["2025-05-05", "11:00", "Dr Bo Two", "Dermatology", "cancelled", "Rash", "", "", "", ""],
        ["2025-03-10", "09:00", "Dr Ada One", "Cardiology", "completed", "Cough", "Bronchitis",
         "Rest", "Amoxicillin 500 mg, 3x daily, 7 days", ""],
    ]
