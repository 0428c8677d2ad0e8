"""Grid import (all or nothing, every fault listed) and export, over the API and through the action.

Every test runs twice: through `POST /api/v1/grids/import` with a district admin's token, and
through `geo.actions.import_grids` (what the CLI and the demo call). Both must give the same answer:
the action's ImportFailed is the API's 400 with the list of faults in `detail`.
"""

import copy
import json
import re

import pytest
import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation

from anju.core.models import AuditEvent
from anju.geo import actions as geo_actions
from anju.geo.imports import ImportFailed
from anju.geo.models import Grid, TeamMember
from tests.conftest import OWN_GRID, grid_features, square, token_client

OWN_COMMUNITY = OWN_GRID[:12]  # grids 001 at x 120.30 and 002 at x 120.31, y 36.05 .. 36.06

VIA = ["api", "action"]


def feature(code: str, x: float, y: float, side: float = 0.01, **props) -> dict:
    properties = {
        "code": code,
        "name": f"网格{code[-5:]}",
        "community": code[:12],
        "kind": "general",
        "households": 350,
    }
    properties.update(props)
    return {"type": "Feature", "properties": properties, "geometry": square(x, y, side)}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def state() -> dict:
    """Everything an import may change, to compare before and after a refusal."""
    return {
        "grids": {
            g.code: (g.name, g.households, g.kind, g.geometry, g.path, g.min_lng, g.max_lat)
            for g in Grid.objects.order_by("code")
        },
        "team": TeamMember.objects.count(),
        "imports audited": AuditEvent.objects.filter(action="grids.import").count(),
    }


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Many sign-ins here; Argon2 itself is tested in test_accounts."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(district, make_user):
    return make_user("district_admin", "370203")


@pytest.fixture
def do_import(admin):
    """do_import(via, data, user=admin) -> (status, body), over HTTP or through the action, in English."""
    clients = {}

    def run(via, data, user=None):
        user = user or admin
        if via == "api":
            if user.pk not in clients:
                clients[user.pk] = token_client(user)
                clients[user.pk][0].cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
            client, auth = clients[user.pk]
            response = client.post("/api/v1/grids/import", data, content_type="application/json", **auth)
            return response.status_code, response.json()
        try:
            with translation.override("en"):
                return 200, geo_actions.import_grids(user, copy.deepcopy(data))
        except ImportFailed as exc:
            return 400, {"detail": exc.errors}
        except PermissionDenied:
            return 403, {"detail": "You may not do this."}

    return run


def refused(via, do_import, data, *expected, user=None) -> list[str]:
    """Import `data`, expect a 400 whose faults mention each of `expected`, and no change at all."""
    before = state()
    status, body = do_import(via, data, user)
    assert status == 400, body
    faults = body["detail"]
    assert isinstance(faults, list) and faults
    for text in expected:
        assert any(text in f for f in faults), (text, faults)
    assert state() == before
    return faults


# --- good files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_import_creates_then_updates(via, do_import):
    before = Grid.objects.count()
    data = collection(
        feature("370203005014003", 120.32, 36.06, households=480, kind="dedicated"),
        feature("370203006001003", 120.32, 36.07),
    )
    status, body = do_import(via, data)
    assert (status, body) == (200, {"created": 2, "updated": 0})
    assert Grid.objects.count() == before + 2
    grid = Grid.objects.get(code="370203005014003")
    assert (grid.households, grid.kind, grid.community_id) == (480, "dedicated", "370203005014")
    assert grid.path == "37/3702/370203/370203005/370203005014/370203005014003/"
    assert (grid.min_lng, grid.min_lat) == pytest.approx((120.32, 36.06))
    assert 950_000 < grid.area_m2 < 1_060_000

    status, body = do_import(via, data)
    assert (status, body) == (200, {"created": 0, "updated": 2})
    assert Grid.objects.count() == before + 2

    moved = collection(feature("370203005014003", 120.33, 36.06, households=300))
    assert do_import(via, moved) == (200, {"created": 0, "updated": 1})
    grid.refresh_from_db()
    assert grid.households == 300 and grid.kind == "general"
    assert (grid.min_lng, grid.max_lng) == pytest.approx((120.33, 120.34))
    assert json.loads(grid.geometry) == square(120.33, 36.06)


@pytest.mark.parametrize("via", VIA)
def test_reimporting_the_fixture_keeps_the_teams(via, do_import):
    assert do_import(via, collection(*grid_features())) == (200, {"created": 0, "updated": 8})
    assert Grid.objects.count() == 8
    assert TeamMember.objects.filter(grid__code=OWN_GRID).count() == 3


@pytest.mark.parametrize("via", VIA)
def test_street_admin_imports_in_their_street(via, do_import, make_user):
    street_admin = make_user("street_admin", "370203005")
    status, body = do_import(via, collection(feature("370203005014003", 120.32, 36.06)), street_admin)
    assert (status, body) == (200, {"created": 1, "updated": 0})


# --- refusals ------------------------------------------------------------------------------------

BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[120.32, 36.05], [120.33, 36.06], [120.33, 36.05], [120.32, 36.06], [120.32, 36.05]]],
}
GOOD_NEW = feature("370203006001003", 120.32, 36.07)  # rides along in every refused file, and is not written


@pytest.mark.parametrize("via", VIA)
def test_invalid_polygon(via, do_import):
    bad = feature(OWN_COMMUNITY + "003", 120.32, 36.05)
    bad["geometry"] = BOW_TIE
    refused(
        via,
        do_import,
        collection(GOOD_NEW, bad),
        f"feature 2 ({OWN_COMMUNITY}003)",
        "polygon is invalid",
        "Self-intersection",
    )


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [120.3, 36.05]},
        {"type": "Polygon", "coordinates": [[[120.3, 36.05], [120.31, 36.05]]]},
        {"type": "Polygon", "coordinates": [[[500, 36.05], [501, 36.05], [501, 37], [500, 36.05]]]},
        None,
    ],
    ids=["point", "two-points", "not-wgs84", "missing"],
)
@pytest.mark.parametrize("via", VIA)
def test_unusable_geometry(via, do_import, geometry):
    bad = feature(OWN_COMMUNITY + "003", 120.32, 36.05)
    bad["geometry"] = geometry
    refused(via, do_import, collection(GOOD_NEW, bad), f"feature 2 ({OWN_COMMUNITY}003)")


@pytest.mark.parametrize("via", VIA)
def test_code_must_start_with_the_community_code(via, do_import):
    bad = feature("370203005014003", 120.32, 36.05, community=OWN_COMMUNITY)
    refused(via, do_import, collection(GOOD_NEW, bad), f"code does not start with its community's code {OWN_COMMUNITY}")


@pytest.mark.parametrize("code", ["37020300501100", "3702030050110011", "37020300501100a", ""])
@pytest.mark.parametrize("via", VIA)
def test_code_must_have_15_digits(via, do_import, code):
    refused(
        via,
        do_import,
        collection(GOOD_NEW, feature(code, 120.32, 36.05, community=OWN_COMMUNITY)),
        "code must be 15 digits",
    )


@pytest.mark.parametrize("via", VIA)
def test_overlap_with_a_stored_sibling(via, do_import):
    faults = refused(
        via,
        do_import,
        collection(GOOD_NEW, feature(OWN_COMMUNITY + "003", 120.305, 36.05)),
        f"grid {OWN_COMMUNITY}003 overlaps grid {OWN_COMMUNITY}001 by 50.0%",
        f"grid {OWN_COMMUNITY}003 overlaps grid {OWN_COMMUNITY}002 by 50.0%",
    )
    assert len(faults) == 2


@pytest.mark.parametrize("via", VIA)
def test_moving_a_stored_grid_onto_its_sibling(via, do_import):
    refused(
        via,
        do_import,
        collection(feature(OWN_COMMUNITY + "002", 120.302, 36.05)),
        f"grid {OWN_COMMUNITY}002 overlaps grid {OWN_COMMUNITY}001",
    )


@pytest.mark.parametrize("via", VIA)
def test_overlap_between_two_new_grids_in_one_file(via, do_import):
    faults = refused(
        via,
        do_import,
        collection(
            GOOD_NEW, feature(OWN_COMMUNITY + "003", 120.32, 36.05), feature(OWN_COMMUNITY + "004", 120.325, 36.05)
        ),
        f"grid {OWN_COMMUNITY}003 overlaps grid {OWN_COMMUNITY}004 by 50.0%",
    )
    assert len(faults) == 1  # one fault per pair, not one per direction


@pytest.mark.parametrize("via", VIA)
def test_duplicate_code_in_one_file(via, do_import):
    refused(
        via,
        do_import,
        collection(feature(OWN_COMMUNITY + "003", 120.32, 36.05), feature(OWN_COMMUNITY + "003", 120.34, 36.05)),
        "code appears twice in the file",
    )


@pytest.mark.parametrize(("x", "share"), [(120.32 - 0.00005, "0.5%"), (120.32 - 0.00008, "0.8%")])
@pytest.mark.parametrize("via", VIA)
def test_overlap_up_to_one_percent_is_accepted(via, do_import, x, share):
    # Grid 002 spans x 120.31 .. 120.32; the new square starts just inside it.
    status, body = do_import(via, collection(feature(OWN_COMMUNITY + "003", x, 36.05)))
    assert (status, body) == (200, {"created": 1, "updated": 0}), share


@pytest.mark.parametrize("via", VIA)
def test_overlap_just_over_one_percent_is_refused(via, do_import):
    refused(
        via,
        do_import,
        collection(feature(OWN_COMMUNITY + "003", 120.32 - 0.00012, 36.05)),
        f"grid {OWN_COMMUNITY}003 overlaps grid {OWN_COMMUNITY}002 by 1.2%",
    )


def test_overlap_of_exactly_one_percent_is_accepted(admin):
    """Grid 001 spans x 120.30 .. 120.31: the new square overlaps it by 0.0001 degree of its 0.01, which
    computes as 1.00000000003% in floating point and must still count as 1%."""
    result = geo_actions.import_grids(admin, collection(feature(OWN_COMMUNITY + "003", 120.2901, 36.05)))
    assert result == {"created": 1, "updated": 0}


@pytest.mark.parametrize("via", VIA)
def test_unknown_community(via, do_import):
    refused(
        via,
        do_import,
        collection(GOOD_NEW, feature("370203005099001", 120.40, 36.05)),
        "grid 370203005099001: no community 370203005099 in your scope",
    )


@pytest.mark.parametrize("via", VIA)
def test_a_street_is_not_a_community(via, do_import):
    refused(
        via,
        do_import,
        collection(feature("370203005011003", 120.40, 36.05, community="370203005")),
        "no community 370203005 in your scope",
    )


@pytest.mark.parametrize("households", ["many", -3, 4.5, True, None, "400"])
@pytest.mark.parametrize("via", VIA)
def test_bad_households(via, do_import, households):
    refused(
        via,
        do_import,
        collection(GOOD_NEW, feature(OWN_COMMUNITY + "003", 120.32, 36.05, households=households)),
        f"feature 2 ({OWN_COMMUNITY}003): households must be a whole number of 0 or more",
    )


@pytest.mark.parametrize("via", VIA)
def test_bad_kind_and_empty_name(via, do_import):
    refused(
        via,
        do_import,
        collection(feature(OWN_COMMUNITY + "003", 120.32, 36.05, kind="special", name="")),
        "kind must be general or dedicated",
        "name is empty",
    )


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Feature", "properties": {"code": OWN_COMMUNITY + "003"}, "geometry": square(120.32, 36.05)},
        {"type": "FeatureCollection", "features": {}},
        {"type": "FeatureCollection"},
        {"features": []},
    ],
    ids=["feature", "features-not-a-list", "no-features", "no-type"],
)
@pytest.mark.parametrize("via", VIA)
def test_not_a_feature_collection(via, do_import, data):
    faults = refused(via, do_import, data, "the file is not a GeoJSON FeatureCollection")
    assert len(faults) == 1


@pytest.mark.parametrize("via", VIA)
def test_every_fault_is_listed_at_once(via, do_import):
    bow_tie = feature(OWN_COMMUNITY + "004", 120.32, 36.05)
    bow_tie["geometry"] = BOW_TIE
    faults = refused(
        via,
        do_import,
        collection(
            feature("370203005014009", 120.40, 36.05, community=OWN_COMMUNITY),
            bow_tie,
            feature(OWN_COMMUNITY + "005", 120.45, 36.05, households=-1),
            "not a feature",
        ),
        "feature 1 (370203005014009)",
        "feature 2 (370203005011004)",
        "feature 3 (370203005011005)",
        "feature 4",
    )
    assert len(faults) == 4


@pytest.mark.parametrize("via", VIA)
def test_street_admin_cannot_import_into_another_street(via, do_import, make_user):
    street_admin = make_user("street_admin", "370203005")
    refused(
        via,
        do_import,
        collection(feature("370203005014003", 120.32, 36.06), feature("370203006001003", 120.32, 36.07)),
        "grid 370203006001003: no community 370203006001 in your scope",
        user=street_admin,
    )
    # ... nor change a grid of the other street that already exists.
    refused(
        via,
        do_import,
        collection(feature("370203006001001", 120.30, 36.07, households=1)),
        "no community 370203006001 in your scope",
        user=street_admin,
    )


@pytest.mark.parametrize("role", ["grid_worker", "officer", "station_chief", "auditor", "system_admin"])
@pytest.mark.parametrize("via", VIA)
def test_roles_without_grid_management_get_403(via, do_import, make_user, role):
    node = {"grid_worker": OWN_GRID, "officer": OWN_COMMUNITY, "station_chief": "370203005"}.get(role, "370203")
    before = state()
    status, body = do_import(via, collection(feature(OWN_COMMUNITY + "003", 120.32, 36.05)), make_user(role, node))
    assert (status, body) == (403, {"detail": "You may not do this."})
    assert state() == before


def test_import_route_is_reachable(admin):
    client, auth = token_client(admin)
    response = client.post("/api/v1/grids/import", collection(), content_type="application/json", **auth)
    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 0}


def test_faults_are_in_chinese_by_default(admin):
    with pytest.raises(ImportFailed) as caught:
        geo_actions.import_grids(
            admin,
            collection(
                feature("370203005014003", 120.32, 36.05, community=OWN_COMMUNITY),
                feature("370203005099001", 120.40, 36.05),
            ),
        )
    assert caught.value.errors == [
        "第 1 个要素（370203005014003）：编码未以所属社区编码 370203005011 开头",
        "网格 370203005099001：您的管辖范围内没有社区 370203005099",
    ]


def test_geometry_faults_are_in_chinese_by_default(admin):
    bad = feature(OWN_COMMUNITY + "003", 120.32, 36.05)
    bad["geometry"] = {"type": "Point", "coordinates": [120.3, 36.05]}
    with pytest.raises(ImportFailed) as caught:
        geo_actions.import_grids(admin, collection(bad))
    assert caught.value.errors[0].startswith("第 1 个要素（370203005011003）")
    assert "geometry must be" not in caught.value.errors[0]
    assert re.search(r"[\u4e00-\u9fff]", caught.value.errors[0].split("）", 1)[1])


# --- export --------------------------------------------------------------------------------------


def _shapes(collection_: dict) -> dict:
    return {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in collection_["features"]}


def _props(collection_: dict) -> dict:
    return {
        f["properties"]["code"]: {k: f["properties"][k] for k in ("name", "community", "kind", "households")}
        for f in collection_["features"]
    }


@pytest.mark.parametrize("via", VIA)
def test_export_then_import_round_trips(via, do_import, admin):
    client, auth = token_client(admin)
    response = client.get("/api/v1/grids/export", **auth)
    assert response.status_code == 200
    exported = response.json()
    assert exported["type"] == "FeatureCollection" and len(exported["features"]) == 8
    stored = {g.code: g.geometry for g in Grid.objects.all()}
    # A fresh database state: no grids at all.
    Grid.objects.all().delete()
    assert do_import(via, exported) == (200, {"created": 8, "updated": 0})
    again = geo_actions.export_grids(None)
    assert _props(again) == _props(exported)
    shapes, shapes_again = _shapes(exported), _shapes(again)
    assert set(shapes) == set(shapes_again) == set(stored)
    for code, shape in shapes.items():
        assert shape.equals_exact(shapes_again[code], tolerance=0)
        assert json.loads(Grid.objects.get(code=code).geometry) == json.loads(stored[code])


def test_export_is_scoped(district, make_user):
    client, auth = token_client(make_user("street_admin", "370203005"))
    exported = client.get("/api/v1/grids/export", **auth).json()
    assert {f["properties"]["code"][:9] for f in exported["features"]} == {"370203005"}
    assert len(exported["features"]) == 4
    assert client.get("/api/v1/grids/export?under=370203006", **auth).status_code == 404
    assert client.get("/api/v1/grids/export?under=370203006002002", **auth).status_code == 404
    one = client.get(f"/api/v1/grids/export?under={OWN_GRID}", **auth).json()
    assert [f["properties"]["code"] for f in one["features"]] == [OWN_GRID]


def test_export_needs_a_working_role(district, make_user):
    client, auth = token_client(make_user("security_admin", "370203"))
    assert client.get("/api/v1/grids/export", **auth).status_code == 404
