"""Cases fixtures: the desks of the three levels, a department with staff, a field worker, a clock."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from anju.cases import actions, routing
from anju.core.roles import Role
from anju.geo.models import Division
from tests.conftest import OWN_GRID

OWN_COMMUNITY, OWN_STREET, DISTRICT = OWN_GRID[:12], OWN_GRID[:9], "370203"
# A point inside OWN_GRID (120.30-120.31, 36.05-36.06).
OWN_POINT = {"lng": 120.305, "lat": 36.055}
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
