"""Measure what a slow clinic terminal downloads: each main page and swap, as Brotli (what
Chromium is sent) and gzip.

Builds a throwaway demo hospital, logs in as each role through the real forms and prints a
Markdown table (paste it into bench/BENCHMARKS.md). Run: .venv/bin/python bench/page_weights.py
It needs no Redis: the cache falls back to computing (with one warning).
"""

from __future__ import annotations

import re
import tempfile

from hms import create_app
from hms.db import db, init_schema
from hms.demo import DEMO_PASSWORD, seed_demo
from hms.models import Doctor

HTMX = {"HX-Request": "true"}


def token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                          "REDIS_URL": "redis://127.0.0.1:1/0"})
        with app.app_context():
            init_schema()
            with db.connection_context():
                seed_demo()
                doctor = Doctor.get(Doctor.full_name == "Dr Gregory House")
        rows = []

        def size(client, url: str, headers: dict | None, encoding: str) -> tuple[int, int]:
            # As sent: answers under 500 bytes go uncompressed (Flask-Compress's minimum).
            with client.get(url, headers={**(headers or {}), "Accept-Encoding": encoding}) as r:
                return r.status_code, len(r.data)

        def measure(client, label: str, url: str, headers: dict | None = None) -> None:
            status, raw = size(client, url, headers, "")
            rows.append((label, url, status, raw, size(client, url, headers, "br")[1],
                         size(client, url, headers, "gzip")[1]))

        for username, pages in {
            "anna": [("Patient home", "/me/", None), ("Find a doctor", "/doctors/", None),
                     ("Directory search (swap)", "/doctors/?q=hou", HTMX),
                     ("Doctor page with picker", f"/doctors/{doctor.id}", None),
                     ("Slot picker (swap)", f"/doctors/{doctor.id}", HTMX),
                     ("My appointments", "/appointments/", None),
                     ("Medical history", "/me/history", None),
                     ("Join the waitlist", f"/waitlist/join?doctor={doctor.id}", None),
                     ("Who has seen my record", "/me/access", None)],
            "dr.grey": [("Doctor's day", "/doctor/", None),
                        ("Day list (swap)", "/doctor/", HTMX),
                        ("Availability grid", "/availability/", None),
                        ("Statistics", "/doctor/stats", None),
                        ("Recalls", "/recalls/", None),
                        ("Overbooking", "/availability/overbook", None)],
            "desk": [("Front desk", "/desk/", None),
                     ("Desk, patient and doctor picked", f"/desk/?patient=1&doctor={doctor.id}",
                      None),
                     ("Waitlist", "/waitlist/", None)],
            "admin": [("Admin dashboard", "/admin/", None),
                      ("Analytics", "/admin/analytics", None),
                      ("Monthly report", "/admin/reports/monthly", None),
                      ("All appointments", "/admin/appointments", None)],
        }.items():
            client = app.test_client()
            login = client.get("/login")
            client.post("/login", data={"csrf_token": token(login.text), "username": username,
                                        "password": DEMO_PASSWORD})
            for label, url, headers in pages:
                measure(client, label, url, headers)
        anonymous = app.test_client()
        measure(anonymous, "Log in", "/login")
        for asset in ("app.css", "htmx.min.js"):
            measure(anonymous, f"static/{asset}", f"/static/{asset}")

    print("| page | URL | status | bytes | Brotli | gzip |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, url, status, raw, br, gz in rows:
        print(f"| {label} | `{url}` | {status} | {raw:,} | {br:,} | {gz:,} |")


if __name__ == "__main__":
    main()
