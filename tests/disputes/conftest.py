"""Disputes fixtures: rooms at each level, mediators (a room's, the expert pool's, the street's), the
station chief and the street admin who hear of grave disputes, and a helper to take one in."""

import pytest

from anju.core.roles import Role
from anju.disputes.actions import intake, setup
from tests.cases.conftest import DISTRICT, OWN_COMMUNITY, OWN_POINT, OWN_STREET, at  # noqa: F401
from tests.conftest import OWN_GRID  # noqa: F401

# The timeline of a dispute mediated to an agreement in a room, then performed, visited and closed.
TO_AGREEMENT = ["receive", "accept", "inform", "investigate", "session", "assess", "agreement"]
TO_CLOSING = [*TO_AGREEMENT, "term", "follow_up", "close"]


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    """Accounts are made by the dozen here: a cheap hasher (tests/test_accounts.py covers the real one)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mediation(district, make_user):
    """Who mediates around OWN_GRID: a community room and its mediator, the station centre with two
    pool experts (a family lawyer and a labour specialist), the street's joint centre with its lead,
    the station chief, the street admin and an officer."""
    people = {
        "chief": make_user(Role.STATION_CHIEF, OWN_STREET),
        "street": make_user(Role.STREET_ADMIN, OWN_STREET),
        "officer": make_user(Role.OFFICER, OWN_COMMUNITY),
        "room_mediator": make_user(Role.MEDIATOR, OWN_COMMUNITY),
        "lawyer": make_user(Role.MEDIATOR, DISTRICT),
        "labour": make_user(Role.MEDIATOR, DISTRICT),
        "joint": make_user(Role.MEDIATOR, OWN_STREET),
        "grid_worker": make_user(Role.GRID_WORKER, OWN_GRID),
    }
    rooms = {
        "community": setup.save_room(None, {"name": "笑脸调解室", "kind": "community", "division": OWN_COMMUNITY}),
        "station": setup.save_room(None, {"name": "派出所调解中心", "kind": "station", "division": OWN_STREET}),
        "street": setup.save_room(None, {"name": "街道联调中心", "kind": "street", "division": OWN_STREET}),
    }
    mediators = {
        "room_mediator": setup.save_mediator(
            None,
            {
                "name": "王调解",
                "kind": "peoples",
                "division": OWN_COMMUNITY,
                "room": rooms["community"].pk,
                "username": people["room_mediator"].username,
            },
        ),
        "lawyer": setup.save_mediator(
            None,
            {
                "name": "李律师",
                "kind": "lawyer",
                "division": DISTRICT,
                "in_pool": True,
                "specialties": ["family", "loan"],
                "username": people["lawyer"].username,
            },
        ),
        "labour": setup.save_mediator(
            None,
            {
                "name": "赵专家",
                "kind": "peoples",
                "division": DISTRICT,
                "in_pool": True,
                "specialties": ["labour"],
                "username": people["labour"].username,
            },
        ),
        "joint": setup.save_mediator(
            None,
            {
                "name": "孙主任",
                "kind": "peoples",
                "division": OWN_STREET,
                "room": rooms["street"].pk,
                "username": people["joint"].username,
            },
        ),
    }
    return {"people": people, "rooms": rooms, "mediators": mediators}


def dispute_data(**over) -> dict:
    """A neighbours' dispute over water leaking through a ceiling, between two named residents."""
    data = {
        "source": "walk_in",
        "kind": "neighbour",
        "summary": "楼上漏水致楼下天花板受损",
        "facts": "2026年11月，302室卫生间漏水，202室天花板发霉脱落。",
        "claims": "赔偿维修费3000元。",
        "amount": "3000",
        **OWN_POINT,
        "address": "辽宁路街道某小区5号楼",
        "parties": [
            {"role": "applicant", "name": "张三", "phone": "13800000001"},
            {"role": "respondent", "name": "李四", "phone": "13800000002"},
        ],
    }
    data.update(over)
    return data


@pytest.fixture
def take_in(mediation):
    def take(actor=None, now=None, **over):
        return intake.record_dispute(actor or mediation["people"]["grid_worker"], dispute_data(**over), now=now)

    return take
