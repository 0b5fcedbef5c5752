"""Take the README's tour screenshots from a running HMS with its demo hospital.

    bash scripts/run.sh                          # in one terminal
    .venv/bin/python scripts/screenshots.py      # in another: writes docs/tour/*.png

Options: --url (default http://127.0.0.1:5000), --out (default docs/tour), --width and
--height of the window (default 1280 x 800). Each shot is what that role sees first on a
clinic screen, after the clicks a person would make; Chromium is Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

PASSWORD = "demo-pass-123"  # the demo hospital's (hms/demo.py), printed by scripts/run.sh


def patient(tab: Page, shot) -> None:
    shot("patient-home", "/")
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Find a doctor").click()
    tab.locator("#doctor-list a[href^='/doctors/']").first.click()
    expect(tab.locator("#slot-picker")).to_be_visible()
    shot("patient-book")
    shot("patient-history", "/me/history")


def doctor(tab: Page, shot) -> None:
    shot("doctor-today", "/doctor/")
    record = tab.get_by_role("link", name="Record treatment")
    if record.count():
        record.first.click()
        expect(tab.get_by_label("Diagnosis")).to_be_visible()
        shot("doctor-treatment")
    shot("doctor-availability", "/availability/")
    shot("doctor-recalls", "/recalls/")


def desk(tab: Page, shot) -> None:
    # The receptionist lands on the desk. Farid books here only now (three missed visits),
    # and Dr Grey's afternoon may take a patient or two over its slots.
    tab.get_by_label("Patient: name, phone or number").fill("Farid")
    tab.locator("#patient-results").get_by_role("link", name=re.compile("Farid")).first.click()
    tab.get_by_label("or the doctor").select_option(label="Dr Meredith Grey (General Medicine)")
    tab.get_by_role("button", name="Show free times").last.click()
    expect(tab.locator("#slot-picker")).to_be_visible()
    shot("desk-booking")
    shot("desk-waitlist", "/waitlist/")


def admin(tab: Page, shot) -> None:
    shot("admin-dashboard", "/admin/")
    shot("admin-doctors", "/admin/doctors")
    shot("admin-analytics", "/admin/analytics")


TOUR = {"anna": patient, "dr.grey": doctor, "desk": desk, "admin": admin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--out", default="docs/tour")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    base, out = args.url.rstrip("/"), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"])
        for username, walk in TOUR.items():
            context = browser.new_context(viewport={"width": args.width, "height": args.height})
            tab = context.new_page()
            tab.set_default_timeout(15_000)
            tab.goto(f"{base}/login")
            tab.get_by_label("Username").fill(username)
            tab.get_by_label("Password").fill(PASSWORD)
            tab.get_by_role("button", name="Log in").click()
            expect(tab.get_by_role("button", name="Log out")).to_be_visible()

            def shot(name: str, path: str | None = None, tab: Page = tab) -> None:
                if path:
                    tab.goto(base + path)
                tab.wait_for_load_state("networkidle")
                tab.screenshot(path=out / f"{name}.png")
                print(out / f"{name}.png")

            walk(tab, shot)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
