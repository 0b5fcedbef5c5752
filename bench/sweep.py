"""Time the background-work sweep (hms/work.py) on a generated hospital:
`python bench/sweep.py PATH`.

PATH is copied (the sweep writes reminder and report rows), brought to the current schema, and
swept as the worker does every minute, with the day's automatic no-shows: once when the day's
reminders and last month's reports fall due (the rows are made, and the waiting patients are
offered what is free), twenty times while nothing is due, and once when everything handed out
is due to be handed out again (as after a lost Redis); then again quietly after a year of
waitlist history is added (50,000 ended entries, 100,000 offers that ran out) and the planner's
statistics refreshed, as the worker does hourly. The sweep's tasks are replaced by ones that do
nothing, so only the sweep's own database work is timed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from peewee import fn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hms import create_app, visits, waitlist, work  # noqa: E402
from hms.clock import utc_now  # noqa: E402
from hms.db import db, gather_statistics, init_schema  # noqa: E402
from hms.models import SlotOffer, WaitlistEntry  # noqa: E402


def nobody(*_args) -> None:
    return None


def timed(now) -> tuple[dict, float]:
    started = time.perf_counter()
    counts = work.sweep(now, nobody, nobody, nobody, nobody, nobody, nobody)
    counts["no-shows"] = visits.mark_no_shows(now)
    return counts, (time.perf_counter() - started) * 1000


def add_history(now) -> int:
    """A year of a busy waitlist behind the current one: 50,000 ended entries, each offered two
    times that ran out. Returns how many offers ran out in all."""
    model = WaitlistEntry.select().order_by(WaitlistEntry.id).dicts().first()
    del model["id"]
    last_year = dt.date.fromordinal(now.date().toordinal() - 365)
    with db.atomic():
        for _ in range(50):
            first = WaitlistEntry.select(fn.MAX(WaitlistEntry.id)).scalar()
            WaitlistEntry.insert_many([model | {
                "status": "ended", "ended_at": now, "first_day": last_year,
                "last_day": last_year} for _ in range(1000)]).execute()
            SlotOffer.insert_many([{
                "entry": entry, "doctor": model["doctor"] or 1, "date": last_year,
                "time": dt.time(9, minute), "status": "passed", "created_at": now,
                "expires_at": now, "answered_at": now}
                for entry in range(first + 1, first + 1001) for minute in (0, 30)]).execute()
    gather_statistics()
    return SlotOffer.select().where(SlotOffer.status == "passed").count()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="hms-sweep-"))
    try:
        copy = folder / "hospital.sqlite3"
        shutil.copy(sys.argv[1], copy)
        app = create_app({"DATABASE": str(copy), "SECRET_KEY": "bench",
                          "INSTANCE_PATH": str(folder / "instance")})  # HMS_REDIS_URL: the cache
        with app.app_context(), db.connection_context():
            init_schema()
            now = utc_now()
            counts, first = timed(now)
            quiet = [timed(now + work.REQUEUE / 2)[1] for _ in range(20)]
            again, requeue = timed(now + work.REQUEUE)
            later = now + waitlist.offer_window()  # the offers ran out: passed on, new ones
            passed, passing = timed(later)
            quiet_later = [timed(later + work.REQUEUE / 2)[1] for _ in range(20)]
            ran_out = add_history(later)
            quiet_history = [timed(later + work.REQUEUE / 2)[1] for _ in range(20)]
        print("| sweep | handed out | ms |\n| --- | --- | --: |")
        print(f"| the reminders and reports fall due | {counts} | {first:.0f} |")
        print(f"| nothing due (median of 20; max {max(quiet):.1f}) | — | "
              f"{statistics.median(quiet):.1f} |")
        print(f"| everything handed out again | {again} | {requeue:.0f} |")
        print(f"| the offers ran out: passed on, and the next made | {passed} | {passing:.0f} |")
        print(f"| nothing due, every entry offered (median of 20; max {max(quiet_later):.1f}) "
              f"| — | {statistics.median(quiet_later):.1f} |")
        print(f"| nothing due, after a year of history: {ran_out:,} offers ran out (median of "
              f"20; max {max(quiet_history):.1f}) | — | {statistics.median(quiet_history):.1f} |")
        print(f"\n{WaitlistEntry.select().where(WaitlistEntry.status == 'waiting').count()} "
              "entries waiting at the end, "
              f"{SlotOffer.select().count()} offers made")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
