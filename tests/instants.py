"""The instants the tests run at, in the test clinic's zone (HMS_TIMEZONE's default).

Every test runs with the clock frozen at DEFAULT unless it moves it. Tests marked
`@pytest.mark.calendar` (whole modules, through `pytestmark`) run once at each instant of
MATRIX instead: the places where scheduling software breaks (midnight, month and year ends, a
leap day, both daylight-saving changes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Instant:
    name: str
    moment: dt.datetime  # aware

    def __str__(self) -> str:
        return self.name


def at(year: int, month: int, day: int, hour: int, minute: int, fold: int = 0) -> dt.datetime:
    """An aware clinic wall-clock time; fold=1 is the second pass through a repeated hour."""
    moment = dt.datetime(year, month, day, hour, minute, tzinfo=ZONE, fold=fold)
    # Refuse a wall time the zone skips: it would silently mean another instant.
    assert moment.astimezone(dt.UTC).astimezone(ZONE).replace(tzinfo=None) == \
        moment.replace(tzinfo=None), moment
    return moment


DEFAULT = Instant("tuesday-10:00", at(2027, 6, 15, 10, 0))

MATRIX = [
    DEFAULT,
    Instant("first-of-month-07:30", at(2027, 2, 1, 7, 30)),
    Instant("23:55", at(2027, 6, 16, 23, 55)),
    Instant("00:05", at(2027, 6, 17, 0, 5)),
    Instant("month-end", at(2027, 4, 30, 18, 30)),
    Instant("new-years-eve-23:59", at(2026, 12, 31, 23, 59)),
    Instant("leap-day-12:00", at(2028, 2, 29, 12, 0)),
    Instant("spring-forward-00:30", at(2027, 3, 28, 0, 30)),
    Instant("spring-forward-03:30", at(2027, 3, 28, 3, 30)),
    Instant("fall-back-01:30-first", at(2027, 10, 31, 1, 30)),
    Instant("fall-back-01:30-second", at(2027, 10, 31, 1, 30, fold=1)),
]

# When the personas' accounts were made: before every instant above.
PERSONAS_MADE = at(2026, 11, 2, 9, 0)
