"""Registry fixtures: one building in OWN_GRID with a house, a verified owner and a pending tenant."""

import pytest

from anju.core.validators import id_number_check_char, org_code_check_char, uscc_check_char
from anju.geo.models import Grid
from anju.registry import actions
from tests.conftest import OTHER_GRID, OWN_GRID

OWN_COMMUNITY = OWN_GRID[:12]


def id_number(birth: str = "19900101", sequence: str = "123", region: str = "370203") -> str:
    """A valid 18-character ID number."""
    first17 = region + birth + sequence
    return first17 + id_number_check_char(first17)


def uscc(org8: str = "MA3C4D5E", prefix: str = "91370203") -> str:
    """A valid unified social credit code (GB 32100) with the organization code's own check character."""
    first17 = prefix + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


def house_data(room: str = "502", building: str = "3", community: str = OWN_COMMUNITY, **extra) -> dict:
    """A room-level address inside OWN_GRID (120.30-120.31, 36.05-36.06) by default."""
    point = {"lng": 120.305, "lat": 36.055} if community == OWN_COMMUNITY else {"lng": 120.315, "lat": 36.085}
    return {
        "community": community,
        "road": "延安三路",
        "door_number": "123",
        "estate": "鲁邦国际",
        "building": building,
        "unit": "2",
        "room": room,
        **point,
        **extra,
    }


@pytest.fixture
def officer(make_user):
    return make_user("officer", OWN_COMMUNITY)


@pytest.fixture
def worker(make_user):
    return make_user("grid_worker", OWN_GRID)


@pytest.fixture
def household(district, officer, worker):
    """A house in OWN_GRID; an owner (verified, collected by the officer) and a tenant (pending, by the worker)."""
    house = actions.collect_house(officer, house_data(use="self"))
    grid = Grid.objects.get(code=OWN_GRID)
    owner = actions.collect_person(
        officer,
        {"name": "王芳", "id_number": id_number("19700305", "224"), "phone": "13812345678"},
        place=grid.path,
        grid=grid,
    )
    actions.check_in(officer, house, owner, start="2020-01-01", relation="owner")
    tenant = actions.collect_person(
        worker,
        {
            "name": "李强",
            "id_number": id_number("19950610", "331", "510104"),
            "phone": "13912345678",
            "kind": "floating",
        },
        place=grid.path,
        grid=grid,
    )
    residence = actions.check_in(worker, house, tenant, start="2026-01-10", relation="tenant")
    return {"house": house, "owner": owner, "tenant": tenant, "residence": residence}


@pytest.fixture
def other_house(district):
    """A house in the other street's grid (OTHER_GRID)."""
    return actions.collect_house(None, house_data(community=OTHER_GRID[:12], road="宁夏路", room="101"))
