"""Working time: office hours 09:00-12:00 and 13:30-17:30 (7 hours a day), Monday to Friday, with the
seeded 2026 holidays: National Day 1-7 October off, Saturday 10 October worked in exchange (调休)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from anju.cases import actions
from anju.core import workcalendar
from anju.core.workcalendar import add_working, is_working_day, parse_limit, working_minutes

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = 420  # working minutes in one day


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def fresh_calendar(db):
    """Each test reads the calendar of its own database, not what an earlier test left cached."""
    workcalendar.forget()
    yield
    workcalendar.forget()


@pytest.mark.parametrize(
    "start, minutes, end",
    [
        # Monday 23 November 2026, an ordinary week.
        (at(2026, 11, 23, 10), 60, at(2026, 11, 23, 11)),
        (at(2026, 11, 23, 11), 120, at(2026, 11, 23, 14, 30)),  # over lunch
        (at(2026, 11, 23, 9), 180, at(2026, 11, 23, 12)),  # ends exactly at the lunch break
        (at(2026, 11, 23, 12, 15), 30, at(2026, 11, 23, 14)),  # starts during lunch
        (at(2026, 11, 23, 17), 60, at(2026, 11, 24, 9, 30)),  # over the evening
        (at(2026, 11, 23, 18), 60, at(2026, 11, 24, 10)),  # starts in the evening
        (at(2026, 11, 23, 7), 60, at(2026, 11, 23, 10)),  # starts before office hours
        (at(2026, 11, 23, 7), 0, at(2026, 11, 23, 9)),  # nothing to add still waits for office hours
        (at(2026, 11, 27, 17), 60, at(2026, 11, 30, 9, 30)),  # Friday evening -> Monday
        (at(2026, 11, 28, 10), 60, at(2026, 11, 30, 10)),  # starts on a Saturday
        (at(2026, 11, 23, 10), 5 * DAY, at(2026, 11, 30, 10)),  # a working week
        # National Day: Wednesday 30 September, then 1-7 October off, Thursday 8 October back.
        (at(2026, 9, 30, 16, 30), 120, at(2026, 10, 8, 10)),
        (at(2026, 10, 3, 10), 60, at(2026, 10, 8, 10)),  # inside the holiday
        # Saturday 10 October is worked; Sunday 11 is not.
        (at(2026, 10, 9, 10), DAY, at(2026, 10, 10, 10)),
        (at(2026, 10, 10, 10), DAY, at(2026, 10, 12, 10)),
        (at(2026, 10, 9, 17), 60, at(2026, 10, 10, 9, 30)),
        # Sunday 20 September is worked too, and Friday 25 September (中秋节) is not.
        (at(2026, 9, 19, 10), 60, at(2026, 9, 20, 10)),
        (at(2026, 9, 24, 17), 60, at(2026, 9, 28, 9, 30)),
    ],
)
def test_add_working(start, minutes, end):
    assert add_working(start, minutes) == end
    # Counting the same stretch back gives the same working time.
    assert working_minutes(start, end) == minutes


@pytest.mark.parametrize(
    "start, end",
    [
        (at(2026, 11, 23, 10), at(2026, 11, 24, 10)),
        (at(2026, 11, 23, 15), at(2026, 11, 24, 15)),
        (at(2026, 11, 23, 16, 45), at(2026, 11, 24, 16, 45)),
        (at(2026, 11, 27, 11), at(2026, 11, 30, 11)),  # Friday -> Monday
        (at(2026, 9, 30, 10), at(2026, 10, 8, 10)),  # over National Day
        (at(2026, 10, 9, 14), at(2026, 10, 10, 14)),  # Friday -> the worked Saturday
    ],
)
def test_one_day_is_the_same_clock_time_on_the_next_working_day(start, end):
    assert add_working(start, parse_limit("1d")) == end


def test_a_day_started_at_the_opening_ends_at_the_close_of_that_day():
    # 09:00 + 7 working hours is 17:30 the same day: the same working moment as 09:00 the next day.
    assert add_working(at(2026, 11, 23, 9), parse_limit("1d")) == at(2026, 11, 23, 17, 30)
    assert working_minutes(at(2026, 11, 23, 17, 30), at(2026, 11, 24, 9)) == 0


def test_aware_moments_in_utc_are_read_in_local_time():
    # 02:00 UTC is 10:00 in Shanghai.
    start = datetime(2026, 11, 23, 2, tzinfo=ZoneInfo("UTC"))
    assert add_working(start, 60) == at(2026, 11, 23, 11)


@pytest.mark.parametrize(
    "start, end, minutes",
    [
        (at(2026, 11, 23, 10), at(2026, 11, 23, 11, 30), 90),
        (at(2026, 11, 23, 11), at(2026, 11, 23, 14), 90),  # lunch does not count
        (at(2026, 11, 23, 12, 10), at(2026, 11, 23, 13, 20), 0),  # all of it in lunch
        (at(2026, 11, 23, 18), at(2026, 11, 24, 8), 0),  # overnight
        (at(2026, 11, 23, 7), at(2026, 11, 23, 20), DAY),  # one whole working day
        (at(2026, 11, 27, 17), at(2026, 11, 30, 9, 30), 60),  # a weekend in between
        (at(2026, 9, 30, 16, 30), at(2026, 10, 8, 10), 120),  # National Day in between
        (at(2026, 10, 9, 9), at(2026, 10, 12, 9), 2 * DAY),  # Friday and the worked Saturday
        (at(2026, 11, 23, 11), at(2026, 11, 23, 10), 0),  # end before start
        (at(2026, 11, 23, 10), at(2026, 11, 23, 10), 0),
    ],
)
def test_working_minutes(start, end, minutes):
    assert working_minutes(start, end) == minutes


def test_the_seeded_calendar():
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 8))
    assert is_working_day(date(2026, 10, 10))  # Saturday, worked
    assert not is_working_day(date(2026, 10, 11))  # Sunday
    assert is_working_day(date(2026, 11, 23))
    assert not is_working_day(date(2026, 11, 28))


@pytest.mark.parametrize(
    "text, minutes",
    [("4h", 240), ("3d", 3 * DAY), ("1.5h", 90), (" 2 d ", 2 * DAY), ("0.5d", DAY / 2), ("365d", 365 * DAY)],
)
def test_parse_limit(text, minutes):
    assert parse_limit(text) == minutes


@pytest.mark.parametrize("text", ["", None, "4", "h", "4m", "-1h", "1w", "4 hours", "d3", "1e3h", "366d", "3000h"])
def test_parse_limit_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_limit(text)


def test_the_working_hours_setting_shapes_the_day(settings):
    settings.ANJU_WORKING_HOURS = "08:30-12:00, 14:00-18:00"
    assert parse_limit("1d") == 450
    assert add_working(at(2026, 11, 23, 11), 120) == at(2026, 11, 23, 15)


def test_a_calendar_change_is_seen_at_once(django_capture_on_commit_callbacks):
    monday, friday_evening = date(2026, 11, 23), at(2026, 11, 20, 17)
    assert is_working_day(monday)  # the exceptions are now cached
    assert add_working(friday_evening, 60) == at(2026, 11, 23, 9, 30)

    with django_capture_on_commit_callbacks() as callbacks:
        actions.set_calendar_day(None, monday, False, "临时休息")
    assert is_working_day(monday), "the cache is dropped when the change commits, not before"
    for callback in callbacks:
        callback()
    assert not is_working_day(monday)
    assert add_working(friday_evening, 60) == at(2026, 11, 24, 9, 30)

    with django_capture_on_commit_callbacks(execute=True):
        actions.set_calendar_day(None, date(2026, 11, 21), True, "调休上班")
    assert add_working(friday_evening, 60) == at(2026, 11, 21, 9, 30)

    with django_capture_on_commit_callbacks(execute=True):
        actions.set_calendar_day(None, monday, None)
        actions.set_calendar_day(None, date(2026, 11, 21), None)
    assert is_working_day(monday) and not is_working_day(date(2026, 11, 21))
    assert add_working(friday_evening, 60) == at(2026, 11, 23, 9, 30)


def test_a_limit_longer_than_the_calendar_reaches_is_refused():
    # Ten years of calendar days hold fewer than 3,000 working days.
    with pytest.raises(ValueError):
        add_working(at(2026, 11, 23, 10), 3000 * DAY)
