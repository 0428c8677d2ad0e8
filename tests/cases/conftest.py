"""Cases fixtures: the desks of the three levels, a department with staff, a field worker, a clock."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext

from anju import cli
from anju.cases import actions, routing
from anju.cases.models import State
from anju.core import workcalendar
from anju.core.audit import current_ip
from anju.core.roles import Role
from anju.geo.models import Division
from tests.conftest import OWN_GRID

OWN_COMMUNITY, OWN_STREET, DISTRICT = OWN_GRID[:12], OWN_GRID[:9], "370203"
# A point inside OWN_GRID (120.30-120.31, 36.05-36.06).
OWN_POINT = {"lng": 120.305, "lat": 36.055}
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A JPEG's first bytes: enough for the photo check.
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


def at(*parts) -> datetime:
    """A local (Asia/Shanghai) moment: at(2026, 11, 23, 10) is Monday 23 November 2026, 10:00."""
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture
def desks(district, make_user):
    """The community desk (grid head), the street desk and the district desk, each a lead of its centre."""
    people = {
        "community": make_user(Role.GRID_HEAD, OWN_COMMUNITY),
        "street": make_user(Role.STREET_ADMIN, OWN_STREET),
        "district": make_user(Role.DISTRICT_ADMIN, DISTRICT),
    }
    for level, code in (("community", OWN_COMMUNITY), ("street", OWN_STREET), ("district", DISTRICT)):
        actions.set_members(None, routing.centre(Division.objects.get(code=code)), [(people[level], True)])
    return people


@pytest.fixture
def worker(district, make_user):
    """The grid worker of OWN_GRID, also a member of the community centre (the community handles its own cases)."""
    user = make_user(Role.GRID_WORKER, OWN_GRID)
    unit = routing.centre(Division.objects.get(code=OWN_COMMUNITY))
    actions.set_members(None, unit, [*((m.user, m.lead) for m in unit.members.all()), (user, False)])
    return user


@pytest.fixture
def department_staff(district, make_user):
    """Staff of the district's urban-management department."""
    user = make_user(Role.DEPARTMENT_STAFF, DISTRICT)
    unit = routing.department(Division.objects.get(code=DISTRICT), "urban_management")
    actions.set_members(None, unit, [(user, True)])
    return user


def report(actor, category: str = "0601", now=None, **data):
    """A case reported by `actor` in OWN_GRID; returns (case, possible duplicates)."""
    payload = {"category": category, "description": "垃圾堆放三天无人清运", **OWN_POINT, **data}
    return actions.report_case(actor, payload, "field" if actor else "resident", now=now)


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    """Accounts are made by the dozen here: a cheap hasher (tests/test_accounts.py covers the real one)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(media):
    """Photos of every cases test go to a temporary folder."""
    return media


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test reads the calendar of its own database, not the exceptions an earlier test cached."""
    workcalendar.forget()
    yield
    workcalendar.forget()


# The loop's steps, in order, with what each needs.
LOOP = [
    ("accept", {}),
    ("register", {}),
    ("dispatch", {}),
    ("handle", {}),
    ("report_back", {"note": "已清运"}),
    ("check", {"note": "现场核实已清运"}),
    ("close", {}),
]
LOOP_STATES = [State.REPORTED, State.ACCEPTED, State.REGISTERED, State.DISPATCHED, State.HANDLING]
LOOP_STATES += [State.REPORTED_BACK, State.CHECKED, State.CLOSED]
# The usual way from "reported" to each state: (action, parameters) in order.
WAY_TO = {state: LOOP[:i] for i, state in enumerate(LOOP_STATES)} | {
    State.REJECTED: [("reject", {"note": "重复上报"})],
    State.SUSPENDED: [*LOOP[:2], ("suspend", {"note": "等待业主回复"})],
}


def advance(case, state: str, now, actor=None):
    """Take `case` (just reported) the usual way to `state`, every step at `now`; returns it refreshed."""
    for action, params in WAY_TO[state]:
        actions.transition(actor, case, action, now=now, **params)
    case.refresh_from_db()
    return case


def inbox(user, subject: str, **values) -> list:
    """The user's messages with this subject (an English msgid, translated as the code translates it)."""
    return list(user.notifications.filter(subject=gettext(subject) % values))


@pytest.fixture
def sla_sweep(tmp_path, monkeypatch, capsys):
    """Run `anju sla sweep ARGS` in this process (same database); returns the counts it printed for cases."""
    monkeypatch.setenv("ANJU_HOME", str(tmp_path / "home"))
    before = current_ip.get()

    def run(*args: str) -> dict:
        assert cli.main(["sla", "sweep", *args]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Sweep of cases"))
        return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", line.split(": ", 1)[1])}

    yield run
    current_ip.set(before)
