"""Time the background-work sweep (hms/work.py) on a generated hospital:
`python bench/sweep.py PATH`.

PATH is copied (the sweep writes reminder and report rows), brought to the current schema, and
swept as the worker does every minute, with the day's automatic no-shows: once when the day's
reminders and last month's reports fall due (the rows are made, and the waiting patients are
offered what is free), twenty times while nothing is due, and once when everything handed out
is due to be handed out again (as after a lost Redis). The sweep's tasks are replaced by ones
that do nothing, so only the sweep's own database work is timed.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hms import create_app, visits, waitlist, work  # noqa: E402
from hms.clock import utc_now  # noqa: E402
from hms.db import db, init_schema  # noqa: E402
from hms.models import SlotOffer, WaitlistEntry  # noqa: E402


def nobody(*_args) -> None:
    return None


def timed(now) -> tuple[dict, float]:
    started = time.perf_counter()
    counts = work.sweep(now, nobody, nobody, nobody, nobody, nobody, nobody)
    counts["no-shows"] = visits.mark_no_shows(now)
    return counts, (time.perf_counter() - started) * 1000


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
        print("| sweep | handed out | ms |\n| --- | --- | --: |")
        print(f"| the reminders and reports fall due | {counts} | {first:.0f} |")
        print(f"| nothing due (median of 20; max {max(quiet):.1f}) | — | "
              f"{statistics.median(quiet):.1f} |")
        print(f"| everything handed out again | {again} | {requeue:.0f} |")
        print(f"| the offers ran out: passed on, and the next made | {passed} | {passing:.0f} |")
        print(f"| nothing due, every entry offered (median of 20; max {max(quiet_later):.1f}) "
              f"| — | {statistics.median(quiet_later):.1f} |")
        print(f"\n{WaitlistEntry.select().count()} entries waiting at the end, "
              f"{SlotOffer.select().count()} offers made")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
