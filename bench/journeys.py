"""Three journeys in Chromium on a slow clinic link: `python bench/journeys.py PATH`.

PATH is a hospital made by bench/generate.py. It is served as bench/load.py serves it (a copy,
gunicorn as scripts/run.sh starts it, a private Redis), and Debian's Chromium, driven by
Playwright, has its network held by DevTools to 400 ms latency and 400 kbit/s each way. Each
journey runs twice in one browser profile: cold (an empty cache) and then warm (the cache of
the first run). Requests and bytes are those that crossed the network (tests/browser/wire.py:
cache hits are not counted); time runs from the journey's first request to the last screen
shown. The bare route (`/bench-bare`, one word) is loaded in the same run under the same
link, and each time is also given as a multiple of it.

- patient: the login page, log in, the doctor under "Book again", the soonest free time,
  a reason and "Book appointment"; logged out between the runs (not counted).
- desk walk-in: the desk screen, the walk-in's name typed into the search (one search after
  the typing pauses), the walk-in form it offers filled in, "Register and pick", the first
  free slot tomorrow in the first specialization, a reason and "Book".
- doctor: the day's list, "Check in" on a patient booked today (inserted before the run),
  "Record treatment", the form filled in and saved, then "Complete" on the appointment's page.

`--press MS` holds each click's button down that long, as a person's press does (about 100 ms):
the likely next views' links ask for their page on the press (htmx's preload extension), forms
on the release. By default a click is instant, as in the measurements of issue 15.

The desk and the doctor are logged in before each run (by a request of the browser profile,
which fetches nothing else): a clinic's staff log in once a day, not for each patient.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from load import Server  # noqa: E402 - bench/ is not a package
from screens import PASSWORD  # noqa: E402
from wire import Wire  # noqa: E402

from support import csrf_token  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LINK = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}
PATIENT, DESK, DOCTOR = "patient.000002", "desk1", "dr.0001"
PRESS_MS = 0  # how long each click holds the button down: --press


def slow_tab(context):
    page = context.new_page()
    page.set_default_timeout(60_000)
    wire = Wire(page)
    wire.cdp.send("Network.emulateNetworkConditions", LINK)
    return page, wire


def log_in_quietly(context, base: str, username: str) -> None:
    """Log the browser profile in through the form, by request: no page, no static file."""
    form = context.request.get(f"{base}/login")
    answer = context.request.post(f"{base}/login", form={
        "csrf_token": csrf_token(form.text()), "username": username, "password": PASSWORD})
    if not answer.ok or answer.url.endswith("/login"):
        raise RuntimeError(f"{username} could not log in: {answer.status} {answer.text()[:300]}")


def until(page, css: str, text: str = "") -> None:
    """Wait until the element is on the screen (with the text), checked at every frame:
    Playwright's expect() polls at 100, 250, 500 and 1000 ms, and would add that to each step."""
    page.wait_for_function(
        "([css, text]) => { const e = document.querySelector(css);"
        " return !!e && e.getClientRects().length > 0 && e.textContent.includes(text); }",
        arg=[css, text], polling="raf")


def patient_journey(page, base: str, run: int) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(PATIENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click(delay=PRESS_MS)
    until(page, "section[aria-labelledby=again-title] a")
    page.locator("section[aria-labelledby=again-title] a").first.click(delay=PRESS_MS)
    until(page, "ul.slots a")
    page.locator("ul.slots a").first.click(delay=PRESS_MS)
    until(page, "#book-form")
    page.get_by_label("Reason for the visit").fill(f"Journey benchmark {run}")
    page.get_by_role("button", name="Book appointment").click(delay=PRESS_MS)
    until(page, "#messages", "Booked:")


def desk_journey(page, base: str, run: int) -> None:
    name = f"Walkin Bench{'ABCDEFGH'[run]}"
    page.goto(f"{base}/desk/")
    page.get_by_label("Patient: name, phone or number").click(delay=PRESS_MS)
    page.keyboard.type(name, delay=60)  # one search, once the typing pauses
    until(page, "#walk-in")
    walk_in = page.locator("#walk-in")
    walk_in.get_by_label("Phone").fill(f"0700 900 00{run}")
    walk_in.get_by_label("Gender").select_option(index=1)
    walk_in.get_by_label("Date of birth").fill("1980-05-17")
    walk_in.get_by_role("button", name="Register and pick").click(delay=PRESS_MS)
    until(page, ".picked", name)
    page.get_by_label("Which day").select_option("tomorrow")
    page.get_by_role("button", name="Find first free slot").click(delay=PRESS_MS)
    until(page, "#desk-book")
    page.get_by_label("Reason for the visit").fill("Walk-in, journey benchmark")
    page.get_by_role("button", name="Book (Enter)").click(delay=PRESS_MS)
    until(page, "#desk-booking.slip", name)


def doctor_journey(page, base: str, appointment_id: int) -> None:
    page.goto(f"{base}/doctor/")
    row = f"#appt-{appointment_id}"
    page.locator(row).get_by_role("button", name="Check in").click(delay=PRESS_MS)
    until(page, f"{row} .status", "checked in")
    page.locator(row).get_by_role("link", name="Record treatment").click(delay=PRESS_MS)
    until(page, "#treatment-form")
    page.get_by_label("Diagnosis").fill("Tension headache")
    page.get_by_label("Prescription").fill("Rest, fluids, paracetamol as needed")
    medicine = page.locator("#medicines .medicine").first
    for label, value in (("Name", "Paracetamol"), ("Dose", "500 mg"),
                         ("How often", "every 6 hours"), ("Days", "3")):
        medicine.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save treatment").click(delay=PRESS_MS)
    until(page, "#messages", "Treatment saved.")
    page.locator("section.appointment").get_by_role("button", name="Complete").click(delay=PRESS_MS)
    until(page, "section.appointment tr .status", "completed")


def todays_patients(database: Path, count: int) -> list[int]:
    """Appointments booked for today with the benchmark's doctor, at times nobody holds."""
    from hms import create_app
    from hms.clock import clinic_today
    from hms.models import Appointment, Doctor, Patient, User

    app = create_app({"DATABASE": str(database), "SECRET_KEY": "bench"})
    with app.app_context():
        today = clinic_today()
        doctor = Doctor.select().join(User).where(User.username == DOCTOR).get()
        held = {a.time for a in Appointment.select(Appointment.time).where(
            Appointment.doctor == doctor, Appointment.date == today)}
        free = [t for t in (dt.time(h, m) for h in range(24) for m in (0, 30)) if t not in held]
        patients = Patient.select().order_by(Patient.id.desc()).limit(count)
        return [Appointment.create(patient=p, doctor=doctor, date=today, time=t,
                                   reason="Headache", status="booked").id
                for p, t in zip(patients, free, strict=False)]


def measure(page, wire: Wire, journey) -> dict:
    start = wire.mark()
    began = time.perf_counter()
    try:
        journey()
    except Exception:
        page.screenshot(path="journey-failed.png")  # what the screen showed, for the reader
        print("failed at", page.url, "(journey-failed.png) after", wire.fetched(start),
              file=sys.stderr)
        raise
    seconds = time.perf_counter() - began
    fetched = wire.fetched(start)
    first = fetched[0].began if fetched else 0.0
    return {"requests": len(fetched), "bytes": sum(f.bytes for f in fetched),
            "static": sum(1 for f in fetched if "/static/" in f.url), "seconds": seconds,
            "urls": [f"{f!r}  {f.bytes} B, {f.ended - f.began:.2f} s, at {f.began - first:.2f} s"
                     for f in fetched]}


def bare_seconds(browser, base: str, runs: int = 5) -> float:
    context = browser.new_context()
    page, wire = slow_tab(context)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        page.goto(f"{base}/bench-bare")
        times.append(time.perf_counter() - began)
    context.close()
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--verbose", action="store_true", help="print each request")
    parser.add_argument("--press", type=int, default=0, metavar="MS",
                        help="hold each click's button down this long (default 0)")
    args = parser.parse_args()
    global PRESS_MS
    PRESS_MS = args.press
    from playwright.sync_api import sync_playwright

    server = Server(args.path)
    results: list[tuple[str, str, dict]] = []
    try:
        appointments = todays_patients(server.database, 2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"])
            bare = bare_seconds(browser, server.base)
            for name in ("patient booking", "desk walk-in", "doctor check-in → complete"):
                context = browser.new_context()
                page, wire = slow_tab(context)
                for run, cache in enumerate(("cold", "warm")):
                    if name == "patient booking":
                        journey = lambda: patient_journey(page, server.base, run)  # noqa: E731
                    elif name == "desk walk-in":
                        log_in_quietly(context, server.base, DESK)
                        journey = lambda: desk_journey(page, server.base, run)  # noqa: E731
                    else:
                        log_in_quietly(context, server.base, DOCTOR)
                        journey = lambda: doctor_journey(  # noqa: E731
                            page, server.base, appointments[run])
                    results.append((name, cache, measure(page, wire, journey)))
                    if name == "patient booking":
                        page.get_by_role("button", name="Log out").click()
                        page.wait_for_url("**/login")
                context.close()
            browser.close()
    finally:
        server.stop()

    print(f"400 ms latency, 400 kbit/s each way; clicks held {PRESS_MS} ms;"
          f" one bare request: {bare:.2f} s\n")
    print("| journey | cache | requests | static files | bytes | time | × bare request |")
    print("| --- | --- | --: | --: | --: | --: | --: |")
    for name, cache, r in results:
        print(f"| {name} | {cache} | {r['requests']} | {r['static']} | "
              f"{r['bytes'] / 1000:.1f} KB | {r['seconds']:.1f} s | {r['seconds'] / bare:.1f} |")
    if args.verbose:
        for name, cache, r in results:
            print(f"\n{name}, {cache}:", *r["urls"], sep="\n  ")


if __name__ == "__main__":
    main()
