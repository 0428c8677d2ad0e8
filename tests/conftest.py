"""Shared fixtures: a small real-coded district with square grids, and users for every role.

District 370203 (市北区) with two streets, two communities each and two grids per community:
grid squares of 0.01 degree side, laid out so that each community and street is a block.
"""

import itertools

import pytest
from django.test import Client

from anju.core import actions as core_actions
from anju.core.models import AuditHead, User
from anju.geo import actions as geo_actions
from anju.geo.imports import division_path
from anju.geo.models import LEVEL_BY_LENGTH, Division, Grid

PASSWORD = "Test-pass-2024!"
STREETS = {"370203005": "辽宁路街道", "370203006": "延安路街道"}
COMMUNITIES = {
    "370203005011": ("370203005", "贮水山社区居委会"),
    "370203005014": ("370203005", "小鲍岛社区居委会"),
    "370203006001": ("370203006", "延安路社区居委会"),
    "370203006002": ("370203006", "宁夏路社区居委会"),
}
# The grid a role's "own" and "other" tests look at.
OWN_GRID = "370203005011001"
OTHER_GRID = "370203006002002"


def square(x: float, y: float, side: float = 0.01) -> dict:
    """A GeoJSON square with its south-west corner at (x, y)."""
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]],
    }


def grid_features() -> list[dict]:
    """Two grids per community, side by side; communities stacked northwards."""
    features = []
    for row, community in enumerate(COMMUNITIES):
        for col in range(2):
            code = f"{community}{col + 1:03d}"
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "code": code,
                        "name": f"网格{code[-5:]}",
                        "community": community,
                        "kind": "general",
                        "households": 400 + col,
                    },
                    "geometry": square(120.30 + col * 0.01, 36.05 + row * 0.01),
                }
            )
    return features


@pytest.fixture
def district(db):
    """The small district: divisions, grids and a team on the own grid."""
    rows = [("37", "山东省", None), ("3702", "青岛市", "37"), ("370203", "市北区", "3702")]
    rows += [(code, name, "370203") for code, name in STREETS.items()]
    rows += [(code, name, street) for code, (street, name) in COMMUNITIES.items()]
    Division.objects.bulk_create(
        Division(code=c, name=n, parent_id=p, level=LEVEL_BY_LENGTH[len(c)], path=division_path(c)) for c, n, p in rows
    )
    geo_actions.set_division_geometry("370203", square(120.29, 36.04, 0.06))
    geo_actions.import_grids(None, {"type": "FeatureCollection", "features": grid_features()})
    geo_actions.set_team(
        None,
        Grid.objects.get(code=OWN_GRID),
        [
            {"post": "head", "name": "王伟", "phone": "13812345678"},
            {"post": "manager", "name": "李娜", "phone": "13912345678"},
            {"post": "volunteer", "name": "张强", "phone": "13712345678"},
        ],
    )
    return Division.objects.get(code="370203")


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files (photos, contracts) go to a temporary folder, not ANJU_HOME; returns it."""
    folder = tmp_path / "media"
    folder.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": folder}},
    }
    return folder


_counter = itertools.count()


@pytest.fixture
def make_user(db):
    """make_user(role, node_code) -> a user holding that role there (no role when role is None)."""

    def make(role: str | None = None, node: str | None = None, username: str | None = None) -> User:
        name = username or f"{role or 'nobody'}{next(_counter)}"
        user = core_actions.create_user(None, username=name, password=PASSWORD, full_name="测试用户")
        if role:
            core_actions.assign_role(None, user, role, node)
        return user

    return make


def login(user: User) -> Client:
    """A test client signed in as `user` through the real login page."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


def token_client(user: User) -> tuple[Client, dict]:
    """A client and headers carrying a fresh API token of `user`, obtained over HTTP."""
    client = Client()
    response = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return client, {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


@pytest.fixture(autouse=True)
def _audit_guard(request):
    """Keep the audit triggers in place for every database test, and out of the way of a flush.

    A transactional test ends with a flush (DELETE or TRUNCATE of every table), which the triggers
    refuse: they are dropped just before that flush and put back when the next test starts.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"}
    )
    if not (marker or transactional or "db" in names):
        yield
        return
    from django.db import connection

    from anju.core import audit_guard

    request.getfixturevalue("transactional_db" if transactional else "db")
    audit_guard.install(connection)
    # A flush also empties the head row that migration 0002 creates.
    AuditHead.objects.get_or_create(pk=1)
    yield
    if transactional:
        audit_guard.remove(connection)
