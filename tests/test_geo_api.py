"""Divisions and grids over the API and on the pages: shapes of answers, errors, docs, counts."""

import re

import pytest
from django.test import Client

from tests.conftest import COMMUNITIES, OTHER_GRID, OWN_GRID, STREETS, login, square, token_client

OWN_COMMUNITY, OWN_STREET = OWN_GRID[:12], OWN_GRID[:9]


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Many sign-ins here; Argon2 itself is tested in test_accounts."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_api(district, make_user):
    return token_client(make_user("district_admin", "370203"))


# --- API answers ---------------------------------------------------------------------------------


def test_division(admin_api):
    client, auth = admin_api
    assert client.get("/api/v1/divisions/370203", **auth).json() == {
        "code": "370203",
        "name": "市北区",
        "level": "county",
        "parent": "3702",
        "path": "37/3702/370203/",
    }
    assert client.get(f"/api/v1/divisions/{OWN_COMMUNITY}", **auth).json() == {
        "code": OWN_COMMUNITY,
        "name": "贮水山社区居委会",
        "level": "community",
        "parent": OWN_STREET,
        "path": f"37/3702/370203/{OWN_STREET}/{OWN_COMMUNITY}/",
    }


def test_division_children(admin_api):
    client, auth = admin_api
    children = client.get("/api/v1/divisions/370203/children", **auth).json()
    assert children == [
        {"code": code, "name": name, "level": "street", "parent": "370203", "path": f"37/3702/370203/{code}/"}
        for code, name in sorted(STREETS.items())
    ]
    children = client.get(f"/api/v1/divisions/{OWN_STREET}/children", **auth).json()
    assert [c["code"] for c in children] == sorted(c for c, (s, _) in COMMUNITIES.items() if s == OWN_STREET)
    assert client.get(f"/api/v1/divisions/{OWN_COMMUNITY}/children", **auth).json() == []


def test_division_outline(admin_api):
    client, auth = admin_api
    feature = client.get("/api/v1/divisions/370203?format=geojson", **auth).json()
    assert feature["type"] == "Feature" and feature["properties"]["code"] == "370203"
    assert feature["properties"]["generated"] is False
    assert feature["geometry"] == square(120.29, 36.04, 0.06)
    assert client.get(f"/api/v1/divisions/{OWN_STREET}?format=geojson", **auth).status_code == 404


def test_divisions_above_the_scope_are_visible_for_navigation(district, make_user):
    client, auth = token_client(make_user("grid_worker", OWN_GRID))
    for code in ("37", "3702", "370203", OWN_STREET, OWN_COMMUNITY):
        assert client.get(f"/api/v1/divisions/{code}", **auth).status_code == 200, code
    # ... but their other children are not.
    assert [c["code"] for c in client.get("/api/v1/divisions/370203/children", **auth).json()] == [OWN_STREET]
    assert [c["code"] for c in client.get(f"/api/v1/divisions/{OWN_STREET}/children", **auth).json()] == [OWN_COMMUNITY]
    assert client.get("/api/v1/divisions/370203006", **auth).status_code == 404


def test_grids_of_a_community(admin_api):
    client, auth = admin_api
    grids = client.get(f"/api/v1/grids?community={OWN_COMMUNITY}", **auth).json()
    assert [g["code"] for g in grids] == [OWN_COMMUNITY + "001", OWN_COMMUNITY + "002"]
    first = grids[0]
    keys = ("code", "name", "community", "community_name", "kind", "households", "generated")
    assert {k: first[k] for k in keys} == {
        "code": OWN_GRID,
        "name": "网格11001",
        "community": OWN_COMMUNITY,
        "community_name": "贮水山社区居委会",
        "kind": "general",
        "households": 400,
        "generated": False,
    }
    # A 0.01-degree square at 36 degrees north: about 1,113 m x 900 m.
    assert 950_000 < first["area_m2"] < 1_060_000
    assert grids[1]["households"] == 401


def test_grids_under_a_division(admin_api):
    client, auth = admin_api
    grids = client.get("/api/v1/grids?under=370203006", **auth).json()
    assert len(grids) == 4 and all(g["code"].startswith("370203006") for g in grids)
    assert len(client.get("/api/v1/grids", **auth).json()) == 8
    assert client.get("/api/v1/grids?community=370203099999", **auth).json() == []


def test_grid_as_geojson(admin_api):
    client, auth = admin_api
    feature = client.get(f"/api/v1/grids/{OWN_GRID}?format=geojson", **auth).json()
    assert feature["type"] == "Feature"
    assert feature["geometry"] == square(120.30, 36.05)
    assert feature["properties"]["code"] == OWN_GRID
    assert feature["properties"]["community"] == OWN_COMMUNITY
    assert feature["properties"]["community_name"] == "贮水山社区居委会"
    assert feature["properties"]["households"] == 400


def test_map_collection(admin_api):
    client, auth = admin_api
    collection = client.get(f"/api/v1/grids?format=geojson&under={OWN_STREET}", **auth).json()
    assert collection["type"] == "FeatureCollection"
    features = {f["properties"]["code"]: f for f in collection["features"]}
    assert set(features) == {c + n for c in COMMUNITIES if c.startswith(OWN_STREET) for n in ("001", "002")}
    assert features[OWN_GRID]["properties"]["url"] == f"/grids/{OWN_GRID}/"
    assert features[OWN_GRID]["properties"]["community_name"] == "贮水山社区居委会"
    assert features[OWN_GRID]["geometry"]["type"] == "Polygon"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/grids",
        f"/api/v1/grids/{OWN_GRID}",
        "/api/v1/divisions/370203",
        "/api/v1/me",
        "/api/v1/locate?lat=36.055&lng=120.305",
        "/api/v1/grids/export",
    ],
)
def test_401_without_credentials(district, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json") and "detail" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/grids/370203005011999",
        "/api/v1/divisions/370203999",
        "/api/v1/divisions/nonsense/children",
        "/api/v1/grids?under=370203999",
    ],
)
def test_404_unknown(admin_api, url):
    client, auth = admin_api
    response = client.get(url, **auth)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    "url", ["/api/v1/locate?lat=north&lng=120.3", "/api/v1/locate?lat=36.05", "/api/v1/locate?lat=36.05&lng=[1]"]
)
def test_422_bad_query(admin_api, url):
    client, auth = admin_api
    response = client.get(url, **auth)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] in ("lat", "lng") and body["detail"].startswith(body["field"] + ": ")
    assert body["errors"][0]["field"] == body["field"]


def test_bad_json_body_is_a_clear_error(admin_api):
    client, auth = admin_api
    response = client.post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert response.status_code in (400, 422) and "detail" in response.json()


# --- documentation -------------------------------------------------------------------------------


def test_docs_served_without_other_hosts(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower()
    assert not re.search(r"(?:https?:)?//(?!testserver)[a-z0-9.-]+\.[a-z]{2,}", html, re.I), re.findall(
        r"(?:https?:)?//[^\s\"'<>]+", html
    )
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert Client().get(asset).status_code == 200, asset


def test_openapi_lists_the_paths(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/api/v1/grids",
        "/api/v1/grids/{code}",
        "/api/v1/divisions/{code}",
        "/api/v1/divisions/{code}/children",
        "/api/v1/grids/import",
        "/api/v1/grids/export",
        "/api/v1/locate",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/tokens",
    } <= paths


# --- pages ---------------------------------------------------------------------------------------


def stat(html: str, name: str) -> int:
    """A count on the page; streets and communities are left out where there are none."""
    match = re.search(rf'id="stat-{name}">([^<]*)<', html)
    if match is None and name in ("streets", "communities"):
        return 0
    assert match, name
    return int(re.sub(r"\D", "", match.group(1)))


# (streets, communities, grids, households, team) in the small district: two grids of 400 and 401
# households in each community; a team of three on the own grid.
HOME_COUNTS = [
    ("district_admin", "370203", (2, 4, 8, 3204, 3)),
    ("street_admin", OWN_STREET, (1, 2, 4, 1602, 3)),
    ("station_chief", "370203006", (1, 2, 4, 1602, 0)),
    ("officer", OWN_COMMUNITY, (0, 1, 2, 801, 3)),
    ("grid_worker", OWN_GRID, (0, 0, 1, 400, 3)),
    ("grid_head", OTHER_GRID, (0, 0, 1, 401, 0)),
]


@pytest.mark.parametrize(("role", "node", "counts"), HOME_COUNTS, ids=[f"{r}@{n}" for r, n, _ in HOME_COUNTS])
def test_home_counts(district, make_user, role, node, counts):
    html = login(make_user(role, node)).get("/").content.decode()
    assert tuple(stat(html, n) for n in ("streets", "communities", "grids", "households", "team")) == counts


def test_home_for_two_roles_counts_each_place_once(district, make_user):
    from anju.core import actions as core_actions

    user = make_user("officer", OWN_COMMUNITY)
    core_actions.assign_role(None, user, "grid_worker", OWN_GRID)  # inside the community: no double count
    core_actions.assign_role(None, user, "grid_head", OTHER_GRID)
    html = login(user).get("/").content.decode()
    assert tuple(stat(html, n) for n in ("streets", "communities", "grids", "households")) == (0, 1, 3, 1202)


@pytest.mark.parametrize("role", ["auditor", "security_admin", "system_admin", None])
def test_home_without_data_scope_shows_no_counts(district, make_user, role):
    user = make_user(role, "370203" if role else None)
    response = login(user).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stat-grids"' not in html
    assert ('href="/audit/"' in html) == (role == "auditor")


def test_tree_page(district, make_user):
    html = login(make_user("street_admin", OWN_STREET)).get("/divisions/").content.decode()
    assert f'hx-get="/divisions/{OWN_STREET}/children/"' in html
    assert "辽宁路街道" in html and "延安路街道" not in html
    assert "vendor/htmx/htmx.min.js" in html


def test_tree_page_of_a_grid_worker_starts_at_the_grid(district, make_user):
    html = login(make_user("grid_worker", OWN_GRID)).get("/divisions/").content.decode()
    assert f'href="/grids/{OWN_GRID}/"' in html and "hx-get" not in html.split('id="tree"')[1].split("</ul>")[0]


def test_tree_children_partial(district, make_user):
    client = login(make_user("street_admin", OWN_STREET))
    response = client.get(f"/divisions/{OWN_STREET}/children/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "贮水山社区居委会" in html and "小鲍岛社区居委会" in html and "延安路社区居委会" not in html
    assert set(re.findall(r'href="/divisions/(\d+)/"', html)) == {"370203005011", "370203005014"}
    assert f'hx-get="/divisions/{OWN_COMMUNITY}/children/"' in html
    html = client.get(f"/divisions/{OWN_COMMUNITY}/children/").content.decode()
    assert set(re.findall(r'href="/grids/(\d+)/"', html)) == {OWN_COMMUNITY + "001", OWN_COMMUNITY + "002"}
    assert "400" in html and "401" in html
    assert client.get("/divisions/370203006/children/").status_code == 404


def test_division_page(district, make_user):
    client = login(make_user("street_admin", OWN_STREET))
    html = client.get(f"/divisions/{OWN_STREET}/").content.decode()
    assert "辽宁路街道" in html and OWN_STREET in html
    assert set(re.findall(r'href="/divisions/(\d+)/"', html)) >= {"370203005011", "370203005014"}
    assert "/divisions/370203006" not in html
    assert f"under={OWN_STREET}" in html


def test_map_page(district, make_user):
    response = login(make_user("officer", OWN_COMMUNITY)).get("/map/")
    assert response.status_code == 200
    html = response.content.decode()
    div = re.search(r'<div id="map"[^>]*>', html, re.S).group(0)
    assert 'data-grids-url="/api/v1/grids?format=geojson"' in div
    assert 'data-boundary-url="/api/v1/divisions/370203?format=geojson"' in div
    assert 'data-tiles=""' in div
    assert "vendor/leaflet/leaflet.js" in html and "http" not in div


def test_map_data_urls_answer(district, make_user):
    user = make_user("officer", OWN_COMMUNITY)
    client = login(user)
    html = client.get("/map/").content.decode()
    for url in re.findall(r'data-(?:grids|boundary)-url="([^"]+)"', html):
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200, url
        assert response.json()["type"] in ("Feature", "FeatureCollection")


def test_grid_page(district, make_user):
    response = login(make_user("grid_worker", OWN_GRID)).get(f"/grids/{OWN_GRID}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<code id="grid-code">{OWN_GRID}</code>' in html
    assert '<td id="grid-households">400</td>' in html
    assert "贮水山社区居委会" in html and "辽宁路街道" in html
    for name in ("王伟", "李娜", "张强"):
        assert name in html
    for full, masked in [
        ("13812345678", "138****5678"),
        ("13912345678", "139****5678"),
        ("13712345678", "137****5678"),
    ]:
        assert masked in html and full not in html
    assert f'data-grid-url="/api/v1/grids/{OWN_GRID}?format=geojson"' in html


def test_grid_page_of_a_grid_without_team(district, make_user):
    html = login(make_user("grid_head", OTHER_GRID)).get(f"/grids/{OTHER_GRID}/").content.decode()
    assert OTHER_GRID in html and "13812345678" not in html and "王伟" not in html
