"""The one clock (hms/clock.py): nothing else reads the time, tests freeze it, and the clinic's
wall clock meets UTC and daylight saving time there."""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hms.clock import (
    clinic_instant,
    clinic_now,
    clinic_today,
    is_repeated,
    to_clinic,
    utc_now,
    wall_time_exists,
    zone_name,
)
from instants import DEFAULT, MATRIX, ZONE, at

ROOT = Path(__file__).resolve().parent.parent
CLOCK_MODULE = ROOT / "hms" / "clock.py"

# Calls that read the current time. `time.monotonic()` and `perf_counter()` measure durations
# (back-off, timeouts) and are allowed; they never decide what day or hour it is.
CLOCK_ATTRIBUTES = {"now", "utcnow", "today"}
TIME_FUNCTIONS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime"}
SQL_CLOCK = re.compile(r"CURRENT_(TIMESTAMP|DATE|TIME)|\b(date|time|datetime|julianday|"
                       r"strftime|unixepoch)\([^)]*'now'|\bnow\(\)", re.IGNORECASE)


def clock_reads(source: str) -> list[str]:
    """Where a Python source reads the current time: 'line: call'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name in CLOCK_ATTRIBUTES and owner_name in {"datetime", "date", "dt"}:
                found.append(f"{node.lineno}: {owner_name}.{name}()")
            elif name in TIME_FUNCTIONS and owner_name == "time" and not node.args:
                found.append(f"{node.lineno}: time.{name}()")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [f"{node.lineno}: from time import {a.name}" for a in node.names
                      if a.name in TIME_FUNCTIONS]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and SQL_CLOCK.search(node.value):
            found.append(f"{node.lineno}: SQL reads the database's clock")
    return found


def app_sources() -> list[Path]:
    return [*sorted((ROOT / "hms").glob("*.py")), ROOT / "tasks.py"]


def test_only_the_clock_module_reads_the_time():
    offenders = {str(path.relative_to(ROOT)): reads for path in app_sources()
                 if path != CLOCK_MODULE and (reads := clock_reads(path.read_text()))}
    assert offenders == {}
    assert not SQL_CLOCK.search((ROOT / "schema.sql").read_text()), \
        "schema.sql must not default to the database's clock"


@pytest.mark.parametrize("line", [
    "import datetime as dt\nx = dt.datetime.now(dt.UTC)",
    "from datetime import datetime\nx = datetime.utcnow()",
    "import datetime\nx = datetime.date.today()",
    "from datetime import date\nx = date.today()",
    "import time\nx = time.time()",
    "from time import time",
    "q = \"SELECT * FROM appointment WHERE date >= date('now')\"",
    "q = 'UPDATE job SET at = CURRENT_TIMESTAMP'",
])
def test_the_one_clock_rule_catches_each_way_of_reading_the_time(line):
    assert clock_reads(line), line


def test_the_one_clock_rule_allows_durations_and_conversions():
    assert clock_reads("import time, datetime as dt\na = time.monotonic()\n"
                       "b = dt.datetime.fromisoformat('2027-01-01')\nc = time.sleep(1)") == []


def test_the_rule_holds_for_the_clock_module_itself_only_by_exemption():
    assert clock_reads(CLOCK_MODULE.read_text())  # it is the one place that reads the time


# --- the frozen clock --------------------------------------------------------------------------

def test_tests_run_at_the_stated_instant_and_the_clock_stands_still(app):
    with app.app_context():
        first = clinic_now()
        assert first == DEFAULT.moment.replace(tzinfo=None) == clinic_now()
        assert utc_now() == DEFAULT.moment.astimezone(dt.UTC).replace(tzinfo=None)
        assert clinic_today() == dt.date(2027, 6, 15) and clinic_today().weekday() == 1


def test_a_test_can_move_the_clock(app, frozen_clock):
    frozen_clock.move_to(at(2027, 1, 1, 0, 0))
    with app.app_context():
        assert clinic_now() == dt.datetime(2027, 1, 1)


@pytest.mark.calendar
def test_the_clinic_clock_reads_each_instant_of_the_matrix(app, request):
    instant = request.node.callspec.params["frozen_clock"]
    with app.app_context():
        wall = instant.moment.replace(tzinfo=None, fold=0)
        if instant.moment.fold:  # the second pass through the repeated hour: see hms/clock.py
            assert wall < clinic_now() < dt.datetime(2027, 10, 31, 2)
        else:
            assert clinic_now() == wall
        assert clinic_today() == instant.moment.date()
        assert to_clinic(utc_now()) == wall


def test_the_matrix_holds_the_instants_the_issue_names():
    names = [str(i) for i in MATRIX]
    assert len(set(names)) == len(names) == 11
    moments = [i.moment for i in MATRIX]
    assert dt.datetime(2028, 2, 29, 12, tzinfo=ZONE) in moments
    assert any(m.month == 12 and m.day == 31 and (m.hour, m.minute) == (23, 59) for m in moments)


# --- daylight saving time -----------------------------------------------------------------------

SPRING, AUTUMN = dt.date(2027, 3, 28), dt.date(2027, 10, 31)


def test_the_skipped_spring_hour_does_not_exist_and_the_rest_of_the_day_does(app):
    with app.app_context():
        assert not wall_time_exists(SPRING, dt.time(1, 0))
        assert not wall_time_exists(SPRING, dt.time(1, 30))
        assert wall_time_exists(SPRING, dt.time(0, 30)) and wall_time_exists(SPRING, dt.time(2))
        assert wall_time_exists(AUTUMN, dt.time(1, 30))
        assert clinic_instant(SPRING, dt.time(2)) == dt.datetime(2027, 3, 28, 1, tzinfo=dt.UTC)


def test_a_time_in_the_repeated_autumn_hour_means_its_first_pass_in_summer_time(app):
    with app.app_context():
        assert is_repeated(AUTUMN, dt.time(1, 30)) and not is_repeated(AUTUMN, dt.time(2))
        assert not is_repeated(SPRING, dt.time(1, 30)) and not is_repeated(SPRING, dt.time(3))
        assert clinic_instant(AUTUMN, dt.time(1, 30)) == dt.datetime(2027, 10, 31, 0, 30,
                                                                    tzinfo=dt.UTC)
        assert zone_name(AUTUMN, dt.time(1, 30)) == "BST"
        assert zone_name(AUTUMN, dt.time(2)) == "GMT"


def test_in_the_second_pass_every_slot_of_the_repeated_hour_has_begun(app, frozen_clock):
    frozen_clock.move_to(at(2027, 10, 31, 1, 15, fold=1))  # 01:15 GMT, 45 minutes after 01:30 BST
    with app.app_context():
        now = clinic_now()
        assert dt.datetime(2027, 10, 31, 1, 30) < now < dt.datetime(2027, 10, 31, 2)
        assert to_clinic(utc_now()) == dt.datetime(2027, 10, 31, 1, 15)  # what the wall shows
    frozen_clock.move_to(at(2027, 10, 31, 2, 0))
    with app.app_context():
        assert clinic_now() == dt.datetime(2027, 10, 31, 2)


# --- the machine's own clock --------------------------------------------------------------------

FAKETIME = shutil.which("faketime")
# Tests that failed or skipped on the real clock before it was frozen, and the worker process.
CLOCK_SENSITIVE = [
    "tests/test_home.py::test_patient_sees_upcoming_appointments_but_not_cancelled_ones",
    "tests/test_notices.py::test_the_sweep_hands_what_is_due_to_the_queue_and_the_queue_sends_it",
    "tests/test_clock.py::test_tests_run_at_the_stated_instant_and_the_clock_stands_still",
    "tests/test_worker.py::test_the_worker_sends_a_reminder_to_the_smtp_server",
]


@pytest.mark.parametrize("machine_clock", [
    "2026-12-01 14:00:00",  # when the unfrozen suite was seen failing
    "2026-12-31 23:59:55",  # the machine crosses midnight and the new year during the run
    "2027-03-28 00:59:55",  # ... and the spring change
])
def test_the_tests_pass_whatever_the_machines_clock_says(machine_clock):
    if FAKETIME is None:
        pytest.fail("faketime is not installed: run scripts/test.sh, which installs it")
    env = {**os.environ, "TZ": "Europe/London"}
    moved = subprocess.run([FAKETIME, "-f", f"@{machine_clock}", "date", "+%Y-%m-%d"], env=env,
                           capture_output=True, text=True, check=True)
    assert moved.stdout.strip() == machine_clock[:10]  # libfaketime really moves the clock
    run = subprocess.run(
        [FAKETIME, "-f", f"@{machine_clock}", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", *CLOCK_SENSITIVE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:]
    # Two of them run at every instant of the matrix, two at the default one; none fails.
    assert re.search(rf"^{2 * len(MATRIX) + 2} passed in", run.stdout, re.M), run.stdout[-2000:]
