"""Time every hot screen on a generated hospital, one client, in-process:
`python bench/screens.py PATH [--runs 30]` after `python bench/generate.py PATH`.

Each screen is requested through Flask's test client as its user (logged in through the real
form), warmed once, then timed `--runs` times; the table gives p50 and p99 in milliseconds,
the SQL queries one request runs, the gzipped size, and the p50 as a ratio to a bare route
(`/bench-bare`, a view that returns a word) measured in the same run. It
measures the application and the database, not a server: the load benchmark (wrk under the
production server) is the next step of issue 11. Redis is used when `HMS_REDIS_URL` answers.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PASSWORD = "bench-pass-123"
HX = {"HX-Request": "true"}


def screens(day: str) -> list[tuple[str, str, str, dict]]:
    """(name, login, URL, headers) for each screen of the issue's table."""
    return [
        ("doctor's my patients", "dr.0001", "/patients/", {}),
        ("a patient's history, as their doctor", "dr.0001", "/patients/1", {}),
        ("admin analytics", "admin", "/admin/analytics", {}),
        ("admin search by phone (swap)", "admin", "/admin/search?q=7000004242", HX),
        ("patient's own history", "patient.000001", "/me/history", {}),
        ("desk search by name (swap)", "desk1", "/desk/patients?q=Grace", HX),
        ("past schedule, page 1", "dr.0001", "/appointments/schedule?when=past", {}),
        ("past schedule, a deep page", "dr.0001", "/appointments/schedule?when=past&page=100",
         {}),
        ("admin dashboard", "admin", "/admin/", {}),
        ("doctor's day", "dr.0001", "/doctor/", {}),
        ("patient home", "patient.000002", "/me/", {}),
        # A doctor's name, as a patient types it: one match in either hospital ("Ada" matched
        # none of the 1/10 hospital's 20 doctors and 16 of the full one's 200).
        ("directory search (swap)", "patient.000002", "/doctors/?q=Kemi+Evans", HX),
        ("doctor page", "patient.000002", "/doctors/1", {}),
        ("slot picker (swap)", "patient.000002", f"/doctors/1?date={day}", HX),
        # Issue 17's screens.
        ("desk with a patient and doctor picked", "desk1",
         f"/desk/?patient=2&doctor=1&date={day}", {}),
        ("waitlist, one specialization", "desk1", "/waitlist/?department=1", {}),
        ("doctor's waitlist", "dr.0001", "/waitlist/", {}),
        ("doctor's open recalls", "dr.0001", "/recalls/", {}),
        ("doctor's overdue recalls", "dr.0001", "/recalls/?state=overdue", {}),
        ("admin's overdue recalls, all doctors", "admin", "/recalls/?state=overdue", {}),
        ("patient's record access", "patient.000001", "/me/access", {}),
        ("doctor's monthly report", "dr.0001", f"/doctor/report?period=month&start={day}", {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--encoding", default="gzip", choices=("gzip", "br"),
                        help="what the client accepts: gzip (as the earlier tables) or br "
                             "(what Chromium is sent)")
    args = parser.parse_args()

    from peewee import SqliteDatabase

    from hms import create_app
    from hms.clock import clinic_today
    from support import csrf_token

    app = create_app({"DATABASE": str(args.path.resolve()), "SECRET_KEY": "bench",
                      "INSTANCE_PATH": str(args.path.resolve().parent / "instance"),
                      "REDIS_URL": os.environ.get("HMS_REDIS_URL", "redis://127.0.0.1:1/0")})

    @app.get("/bench-bare")
    def bare_route():
        return "ok"

    queries = []
    real_execute = SqliteDatabase.execute_sql

    def counting(self, sql, params=None, *a, **k):
        queries.append(sql)
        return real_execute(self, sql, params, *a, **k)

    SqliteDatabase.execute_sql = counting
    with app.app_context():
        day = (clinic_today()).isoformat()
    clients = {}

    def client_for(login: str):
        if login not in clients:
            client = app.test_client()
            page = client.get("/login")
            client.post("/login", data={"csrf_token": csrf_token(page.text), "username": login,
                                        "password": PASSWORD})
            clients[login] = client
        return clients[login]

    def timed(client, url, headers):
        samples = []
        client.get(url, headers=headers)  # warm: caches, SQLite's page cache
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(url, headers={**headers, "Accept-Encoding": args.encoding})
            samples.append((time.perf_counter() - started) * 1000)
        return samples, response

    bare_samples, _ = timed(app.test_client(), "/bench-bare", {})
    bare = statistics.median(bare_samples)
    print(f"bare route p50 {bare:.2f} ms, {args.runs} runs per screen\n")
    print(f"| screen | status | p50 ms | p99 ms | queries | {args.encoding} | p50 / bare |")
    print("| --- | --: | --: | --: | --: | --: | --: |")
    for name, login, url, headers in screens(day):
        client = client_for(login)
        samples, response = timed(client, url, headers)
        queries.clear()
        client.get(url, headers=headers)
        body = response.data if response.headers.get("Content-Encoding") == args.encoding \
            else gzip.compress(response.data)
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        print(f"| {name} | {response.status_code} | {statistics.median(samples):.1f} | "
              f"{p99:.1f} | {len(queries)} | {len(body) / 1024:.1f} KB | "
              f"{statistics.median(samples) / bare:.1f}x |")


if __name__ == "__main__":
    main()
