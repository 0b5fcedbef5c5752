"""Background tasks, run in-process (Huey's immediate mode) against the test database."""

from __future__ import annotations

import datetime as dt

import tasks
from hms.models import DoctorAvailability, WorkingHours


def test_hourly_job_opens_planned_slots_up_to_the_horizon(worker_app, people):
    doctor = people.doctor("dr.one")
    for weekday in range(7):
        WorkingHours.create(doctor=doctor, weekday=weekday, start_time=dt.time(9),
                            end_time=dt.time(10))
    added = tasks.open_planned_slots.call_local()
    # Two slots a day from today to the horizon (28 days ahead by default): 29 days.
    assert added == 2 * 29
    assert DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).count() == 58
    assert tasks.open_planned_slots.call_local() == 0  # idempotent


def test_open_slots_command(runner, people):
    WorkingHours.create(doctor=people.doctor("dr.two"), weekday=0, start_time=dt.time(9),
                        end_time=dt.time(9, 30))
    result = runner.invoke(args=["open-slots"])
    assert result.exit_code == 0 and "slots opened." in result.output
    assert DoctorAvailability.select().count() >= 4  # at least one Monday in 29 days


def test_the_hourly_statistics_job_refreshes_the_planners_statistics(worker_app, people):
    from hms.db import db, is_sqlite

    # Each engine's own record of the planner's statistics, emptied, then filled by the job.
    if is_sqlite():
        emptied, analysed = "DELETE FROM sqlite_stat1", "SELECT DISTINCT tbl FROM sqlite_stat1"
    else:
        emptied = "DELETE FROM pg_statistic"
        analysed = ("SELECT DISTINCT c.relname FROM pg_statistic AS s "
                    "JOIN pg_class AS c ON c.oid = s.starelid")
    db.execute_sql(emptied)
    assert not {t for (t,) in db.execute_sql(analysed)} & {"users", "patient", "doctor"}
    tasks.refresh_statistics.call_local()
    tables = {t for (t,) in db.execute_sql(analysed)}
    assert {"users", "patient", "doctor"} <= tables  # (empty tables get no row)
