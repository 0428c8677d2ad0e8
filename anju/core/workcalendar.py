"""Working time: time limits count working hours and working days, not clock time (DESIGN rule 7).

The working week is Monday to Friday, within the office hours of `ANJU_WORKING_HOURS` (local time);
`CalendarDay` rows, edited by admins, mark public holidays and the weekend days worked in exchange.
A limit is written "4h" (working hours) or "3d" (working days); a working day counts as the length
of one day's office hours, so "1d" from Monday 10:00 ends on Tuesday at 10:00.
"""

import re
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.conf import settings
from django.utils import timezone

from anju.core.models import CalendarDay

LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hd])\s*$")
# A limit past a year of working days is a typing mistake, and would run past what add_working counts.
MAX_LIMIT_DAYS = 365
# How long a process trusts the exceptions it read; an edit in this process clears them at once.
CACHE_SECONDS = 300
_cache: dict = {"at": 0.0, "days": None}


def office_hours() -> list[tuple[clock, clock]]:
    """The day's working intervals, e.g. [(09:00, 12:00), (13:30, 17:30)]."""
    spans = []
    for part in settings.ANJU_WORKING_HOURS.split(","):
        start, end = (clock.fromisoformat(t.strip()) for t in part.split("-"))
        spans.append((start, end))
    return spans


def day_minutes() -> float:
    """Working minutes in one working day."""
    return sum((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in office_hours())


def parse_limit(limit: str) -> float:
    """Working minutes in a limit such as "4h" or "3d" (at most a year of working days); ValueError otherwise."""
    match = LIMIT.match(str(limit or ""))
    if not match:
        raise ValueError(limit)
    amount, unit = float(match.group(1)), match.group(2)
    minutes = amount * (60 if unit == "h" else day_minutes())
    if minutes > MAX_LIMIT_DAYS * day_minutes():
        raise ValueError(limit)
    return minutes


def forget() -> None:
    """Drop the cached exceptions (after an admin changed the calendar)."""
    _cache.update(at=0.0, days=None)


def _exceptions() -> dict[date, bool]:
    if _cache["days"] is None or time.monotonic() - _cache["at"] > CACHE_SECONDS:
        _cache.update(days=dict(CalendarDay.objects.values_list("date", "working")), at=time.monotonic())
    return _cache["days"]


def is_working_day(day: date) -> bool:
    """Monday to Friday, unless the calendar says otherwise."""
    return _exceptions().get(day, day.weekday() < 5)


def _spans(day: date, tz) -> list[tuple[datetime, datetime]]:
    if not is_working_day(day):
        return []
    return [(datetime.combine(day, s, tzinfo=tz), datetime.combine(day, e, tzinfo=tz)) for s, e in office_hours()]


# Ten years of days: a limit that runs longer is a mistake, not a deadline.
MAX_DAYS = 3660


def add_working(start: datetime, minutes: float) -> datetime:
    """The moment `minutes` of working time after `start` (a start outside office hours waits for them)."""
    tz = timezone.get_default_timezone()
    cursor = timezone.localtime(start, tz)
    remaining = timedelta(minutes=minutes)
    day = cursor.date()
    for _ in range(MAX_DAYS):
        for s, e in _spans(day, tz):
            if cursor >= e:
                continue
            begin = max(cursor, s)
            if remaining <= e - begin:
                return begin + remaining
            remaining -= e - begin
            cursor = e
        day += timedelta(days=1)
    raise ValueError("time limit too long")


def working_minutes(start: datetime, end: datetime) -> float:
    """Working minutes between two moments (0 when `end` is not after `start`)."""
    if end <= start:
        return 0.0
    tz = timezone.get_default_timezone()
    a, b = timezone.localtime(start, tz), timezone.localtime(end, tz)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        for s, e in _spans(day, tz):
            lo, hi = max(s, a), min(e, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 60
