"""Guards for hospital scale (issue 11), on a small hospital made by bench/generate.py: the hot
screens read through indexes, never by scanning a table that grows with history, and run a
number of queries that does not grow with the rows they show."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import time_machine

from hms.db import db
from instants import DEFAULT
from support import csrf_token

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import generate  # noqa: E402 - bench/ is not a package

# SQLite's query plans, on a hospital bench/generate.py writes as a SQLite file.
pytestmark = pytest.mark.sqlite_only

HX = {"HX-Request": "true"}
GROWING = {"appointment", "treatment", "patient", "users", "phone_search"}

# (login, URL, headers) of the screens people use all day; all of them read by index.
HOT = [
    ("dr.0001", "/patients/1", {}),  # a 300-visit history, as the patient's doctor
    ("patient.000001", "/me/history", {}),
    ("dr.0001", "/appointments/schedule?when=past", {}),
    ("dr.0001", "/appointments/schedule?when=upcoming", {}),
    ("dr.0001", "/doctor/", {}),
    ("dr.0001", "/patients/", {}),
    ("patient.000002", "/me/", {}),
    ("patient.000002", "/appointments/", {}),
    ("patient.000002", "/doctors/1", {}),
    ("desk1", "/desk/patients?q=Grace", HX),
    ("desk1", "/desk/patients?q=7000000042", HX),
    ("desk1", "/desk/patients?q=%2B44%207000%20000042", HX),  # "+44 7000 000042"
    ("dr.0001", "/patients/?q=7000", {}),
    ("desk1", "/desk/", {}),
    ("admin", "/admin/", {}),
    ("admin", "/admin/analytics", {}),
    ("admin", "/admin/reports/monthly", {}),
    ("dr.0001", "/doctor/stats", {}),
    ("admin", "/admin/search?q=7000000042", HX),
    ("admin", "/admin/search?q=patient.00004", HX),
    ("admin", "/admin/search?q=Grace", HX),
    ("admin", "/admin/patients?q=Grace", {}),
    ("admin", "/admin/patients?q=7000000042", {}),
    ("admin", "/admin/patients?q=patient.00004", {}),
]


@pytest.fixture(scope="module")
def hospital(tmp_path_factory, redis_url):
    """A small generated hospital (20 doctors, 500 patients, about 4,000 appointments over two
    years), with every SQL statement its requests run recorded, values included."""
    path = tmp_path_factory.mktemp("hospital") / "hospital.sqlite3"
    with time_machine.travel(DEFAULT.moment, tick=False):
        app, _ = generate.build(path, "small", REDIS_URL=redis_url, TESTING=True)
    statements: list[str] = []

    @app.before_request
    def _trace() -> None:
        db.connection().set_trace_callback(statements.append)

    app.statements = statements
    return app


def visit(app, login: str, url: str, headers: dict) -> list[str]:
    """The SELECT statements one request for url runs, as that user."""
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"csrf_token": csrf_token(page.text), "username": login,
                                "password": generate.PASSWORD})
    app.statements.clear()
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return [s for s in app.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def full_scans(sql: str) -> list[str]:
    """The growing tables a statement reads whole, from SQLite's own query plan."""
    aliases = {alias: table for table, alias in re.findall(r'"(\w+)" AS "(\w+)"', sql)}
    aliases |= {t: t for t in GROWING}
    plan = db.execute_sql(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    scans = []
    for *_, detail in plan:
        match = re.match(r"SCAN (\w+)", detail)
        if match and aliases.get(match.group(1)) in GROWING:
            scans.append(f"{aliases[match.group(1)]}: {detail}")
    return scans


@pytest.mark.parametrize("login, url, headers", HOT, ids=[u for _, u, _ in HOT])
def test_hot_screens_never_scan_a_table_that_grows(hospital, login, url, headers):
    statements = visit(hospital, login, url, headers)
    with hospital.app_context(), db.connection_context():
        found = [f"{scans} in {sql}" for sql in statements if (scans := full_scans(sql))]
    assert not found, "\n".join(found)


def test_the_scan_guard_can_fail(hospital):
    with hospital.app_context(), db.connection_context():
        assert full_scans('SELECT "t1"."id" FROM "appointment" AS "t1" WHERE "t1"."reason" = '
                          "'x'") == ["appointment: SCAN t1"]


@pytest.mark.parametrize("short_view, long_view", [
    # The same screen for a patient with one visit and for one with 300.
    (("dr.0001", "/patients/{few}"), ("dr.0001", "/patients/1")),
    (("patient.{few:06d}", "/me/history"), ("patient.000001", "/me/history")),
])
def test_a_history_costs_the_same_queries_however_long_it_is(hospital, short_view, long_view):
    with hospital.app_context(), db.connection_context():
        few = db.execute_sql(
            "SELECT patient_id FROM appointment WHERE doctor_id = 1 AND patient_id != 1 "
            "GROUP BY patient_id HAVING count(*) = 1 LIMIT 1").fetchone()[0]
        visits = db.execute_sql("SELECT count(*) FROM appointment WHERE patient_id = 1"
                                ).fetchone()[0]
    assert visits >= 300
    login, url = short_view
    short = visit(hospital, login.format(few=few), url.format(few=few), {})
    long = visit(hospital, *long_view, {})
    assert len(long) == len(short), (len(short), len(long))


def test_a_kept_pdf_is_found_by_index_in_three_queries(hospital):
    """history_digest runs on every PDF download, before any kept PDF is found: it must read
    the 300-visit history by index, in a fixed number of queries."""
    from hms.exporting import history_digest
    from hms.models import Patient

    with hospital.test_request_context(), db.connection_context():
        patient = Patient.get_by_id(1)
        hospital.statements.clear()
        db.connection().set_trace_callback(hospital.statements.append)
        history_digest(patient)
        statements = list(hospital.statements)
        assert len(statements) == 3
        assert not [s for s in statements if full_scans(s)], statements
