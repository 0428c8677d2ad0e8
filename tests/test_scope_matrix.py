"""The scope test matrix (DESIGN rule 2): role x own / near / other / none x endpoint.

Every scoped endpoint must answer 200 for an object inside the caller's node and 404 (never 403,
never a hint) for anything else. The matrix is data: ``ROLE_CASES`` lists (role, node the role is
held on); ``ENDPOINTS`` lists the scoped URLs. Each test case creates one user, signs them in the
way a person would (the login page for pages, a real API token for the API), asks for one object
and checks the status (and, on 200, that the answer is about the object asked for).

The cases, for a user holding ``role`` on ``node``:

* ``own``   - an object inside the node (for divisions: the node itself, or for a grid-level role
  the grid's community, which is visible for navigation: see ``geo.queries.visible_divisions``);
* ``near``  - the closest object outside the node (the sibling grid, the sibling community); only
  where it differs from ``other``;
* ``other`` - an object in the other street (for a district-level role: in the neighbouring
  district, which the ``matrix_district`` fixture adds);
* ``none``  - a signed-in user holding no role at all (one case per endpoint, since it does not
  depend on a role).

Expected: ``own`` -> 200 for working roles; everything else -> 404. The three administrators
(auditor, security_admin, system_admin) hold no data scope: 404 on every scoped endpoint, even for
objects under the node they are assigned on.

How a later app adds its endpoints
----------------------------------
Append ``Endpoint`` entries to ``ENDPOINTS`` (or build your own list in your app's test module and
call ``matrix_params(your_endpoints)`` to parametrize a copy of ``test_scope``)::

    ENDPOINTS += [
        Endpoint("api person", "/api/v1/people/{code}", kind="api", pick=person_code, setup=make_people),
    ]

``url`` is a template with ``{code}``. ``pick(node, case)`` names the object to ask for: it gets
the code of the node the role is held on and one of ``own`` / ``near`` / ``other`` and returns the
object's code (``None`` for ``near`` where there is no nearer object than ``other``). ``setup()`` (optional)
creates the objects the endpoint shows, after the small district exists (e.g. one person in
OWN_GRID's sibling grid, one in OTHER_GRID and one in NEIGHBOUR_GRID, named after the grid so that
``pick`` can find it). ``check(response, code)`` (optional) checks a 200 answer is about ``code``;
the default checks the code appears in the body. New roles go in ``ROLE_CASES``; the helpers
``grid_pick`` and ``division_pick`` already know the layout of the small district.
"""

import dataclasses
import re
from collections.abc import Callable

import pytest
from django.test import Client

from anju.core.roles import ADMIN_TRIO, Role
from anju.core.scope import in_scope
from anju.geo import actions as geo_actions
from anju.geo.imports import division_path
from anju.geo.models import LEVEL_BY_LENGTH, Division, Grid
from tests.cases.matrix import case_endpoints
from tests.conftest import OTHER_GRID, OWN_GRID, login, square, token_client
from tests.disputes import matrix as disputes_matrix
from tests.registry.matrix import registry_endpoints

DISTRICT = "370203"
OWN_STREET, OWN_COMMUNITY = OWN_GRID[:9], OWN_GRID[:12]
OTHER_STREET, OTHER_COMMUNITY = OTHER_GRID[:9], OTHER_GRID[:12]
# The neighbouring district (市南区) the matrix adds, so district-level roles have an "other".
NEIGHBOUR_DISTRICT, NEIGHBOUR_STREET = "370202", "370202001"
NEIGHBOUR_COMMUNITY, NEIGHBOUR_GRID = "370202001001", "370202001001001"
# The nearest thing outside a node, for each level of OWN_GRID's path: (grid, division).
NEAR = {
    OWN_GRID: (OWN_COMMUNITY + "002", "370203005014"),
    OWN_COMMUNITY: ("370203005014001", "370203005014"),
    OWN_STREET: (OTHER_GRID, OTHER_COMMUNITY),
    DISTRICT: (NEIGHBOUR_GRID, NEIGHBOUR_COMMUNITY),
}


def _under(code: str, node: str) -> bool:
    """Codes are hierarchical: an object lies under a node when its code starts with the node's."""
    return code.startswith(node)


def grid_pick(node: str, case: str) -> str | None:
    """The grid to ask for: OWN_GRID inside the node, else the nearest / the other street's grid."""
    if case == "own":
        return OWN_GRID
    other = OTHER_GRID if not _under(OTHER_GRID, node) else NEIGHBOUR_GRID
    if case == "other":
        return other
    near = NEAR[node][0]
    return None if near == other else near


def division_pick(node: str, case: str) -> str | None:
    """The division to ask for: the node itself (a grid's community for a grid-level role)."""
    if case == "own":
        return node if len(node) < 15 else node[:12]
    other = OTHER_COMMUNITY if not _under(OTHER_COMMUNITY, node) else NEIGHBOUR_COMMUNITY
    if case == "other":
        return other
    near = NEAR[node][1]
    return None if near == other else near


def _code_in_body(response, code: str) -> None:
    assert code in response.content.decode()


def _json_code(response, code: str) -> None:
    assert response.json()["code"] == code


def _feature_code(response, code: str) -> None:
    body = response.json()
    assert body["type"] == "Feature" and body["properties"]["code"] == code
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")


def _children_of(response, code: str) -> None:
    body = response.json()
    assert isinstance(body, list)
    assert all(child["parent"] == code for child in body)
    expected = set(Division.objects.filter(parent_id=code).values_list("code", flat=True))
    assert {child["code"] for child in body} <= expected


def _partial_lists_children(response, code: str) -> None:
    linked = re.findall(r'href="/(?:divisions|grids)/(\d+)/"', response.content.decode())
    assert linked and all(c.startswith(code) and c != code for c in linked)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One scoped URL: `kind` is "page" (session login) or "api" (bearer token)."""

    name: str
    url: str
    kind: str
    pick: Callable[[str, str], str | None]
    check: Callable = _code_in_body
    setup: Callable[[], None] | None = None
    # Roles that may read it on their own node (None: every working role).
    roles: frozenset | None = None
    # The URL's identifier for the object placed in a grid or division (default: the code itself).
    resolve: Callable[[str], str] | None = None

    def url_for(self, code: str) -> str:
        return self.url.format(code=self.resolve(code) if self.resolve else code)

    def expected(self, role: str, case: str) -> int:
        allowed = case == "own" and role not in ADMIN_TRIO and (self.roles is None or role in self.roles)
        return 200 if allowed else 404


ENDPOINTS: list[Endpoint] = [
    Endpoint("page grid", "/grids/{code}/", "page", grid_pick),
    Endpoint("page division", "/divisions/{code}/", "page", division_pick),
    Endpoint(
        "page division children", "/divisions/{code}/children/", "page", division_pick, check=_partial_lists_children
    ),
    Endpoint("api grid", "/api/v1/grids/{code}", "api", grid_pick, check=_json_code),
    Endpoint("api grid geojson", "/api/v1/grids/{code}?format=geojson", "api", grid_pick, check=_feature_code),
    Endpoint("api division", "/api/v1/divisions/{code}", "api", division_pick, check=_json_code),
    Endpoint("api division children", "/api/v1/divisions/{code}/children", "api", division_pick, check=_children_of),
]

ENDPOINTS += registry_endpoints(Endpoint, grid_pick)
ENDPOINTS += case_endpoints(Endpoint, grid_pick)
ENDPOINTS += disputes_matrix.dispute_endpoints(Endpoint, grid_pick, division_pick)

ROLE_CASES: list[tuple[str, str]] = [
    (Role.DISTRICT_ADMIN, DISTRICT),
    (Role.STREET_ADMIN, OWN_STREET),
    (Role.STATION_CHIEF, OWN_STREET),
    (Role.OFFICER, OWN_COMMUNITY),
    (Role.AUXILIARY, OWN_COMMUNITY),
    (Role.GRID_WORKER, OWN_GRID),
    (Role.GRID_HEAD, OWN_GRID),
    (Role.MEDIATOR, OWN_COMMUNITY),
    (Role.DISPATCHER, OWN_STREET),
    (Role.DEPARTMENT_STAFF, OWN_STREET),
    (Role.VOLUNTEER, OWN_GRID),
    (Role.AUDITOR, DISTRICT),
    (Role.SECURITY_ADMIN, DISTRICT),
    (Role.SYSTEM_ADMIN, DISTRICT),
]


def test_role_cases_cover_every_role():
    assert {role for role, _ in ROLE_CASES} == set(Role)


def matrix_params(endpoints: list[Endpoint]) -> list:
    """(role, node, case, endpoint, expected status) for every meaningful combination."""
    params = []
    for endpoint in endpoints:
        for role, node in ROLE_CASES:
            for case in ("own", "near", "other"):
                if endpoint.pick(node, case) is None:
                    continue
                expected = endpoint.expected(role, case)
                params.append(
                    pytest.param(role, node, case, endpoint, expected, id=f"{endpoint.name}-{role}@{node}-{case}")
                )
    return params


@pytest.fixture
def fast_hasher(settings):
    """The matrix signs in a few hundred users; hashing is tested in test_accounts, not here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def matrix_district(district, fast_hasher):
    """The small district plus a neighbouring district with one street, community and grid."""
    rows = [
        (NEIGHBOUR_DISTRICT, "市南区", "3702"),
        (NEIGHBOUR_STREET, "八大峡街道", NEIGHBOUR_DISTRICT),
        (NEIGHBOUR_COMMUNITY, "团岛社区居委会", NEIGHBOUR_STREET),
    ]
    Division.objects.bulk_create(
        Division(code=c, name=n, parent_id=p, level=LEVEL_BY_LENGTH[len(c)], path=division_path(c)) for c, n, p in rows
    )
    geo_actions.import_grids(
        None,
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "code": NEIGHBOUR_GRID,
                        "name": "团岛网格",
                        "community": NEIGHBOUR_COMMUNITY,
                        "households": 350,
                    },
                    "geometry": square(120.20, 36.05),
                }
            ],
        },
    )
    return district


def signed_in(endpoint_kind: str, user) -> tuple[Client, dict]:
    """A client for a page (session) or the API (bearer token) as `user`."""
    if endpoint_kind == "page":
        return login(user), {}
    return token_client(user)


def _path_of(code: str) -> str:
    if len(code) == 15:
        return Grid.objects.get(code=code).path
    return Division.objects.get(code=code).path


@pytest.mark.parametrize(("role", "node", "case", "endpoint", "expected"), matrix_params(ENDPOINTS))
def test_scope(matrix_district, make_user, role, node, case, endpoint, expected):
    if endpoint.setup:
        endpoint.setup()
    code = endpoint.pick(node, case)
    user = make_user(role, node)
    # The matrix itself must be right: "own" lies under the node, the others outside it.
    node_path = _path_of(node)
    if case == "own":
        assert _path_of(code).startswith(node_path) or node_path.startswith(_path_of(code))
        if expected == 200 and len(code) == 15:
            assert in_scope(user, _path_of(code))
    else:
        assert not _path_of(code).startswith(node_path) and not node_path.startswith(_path_of(code))
    client, auth = signed_in(endpoint.kind, user)
    response = client.get(endpoint.url_for(code), **auth)
    assert response.status_code == expected, response.content[:300]
    if expected == 200:
        endpoint.check(response, endpoint.resolve(code) if endpoint.resolve else code)
    elif endpoint.kind == "api":
        assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_no_role_gets_404(matrix_district, make_user, endpoint):
    if endpoint.setup:
        endpoint.setup()
    user = make_user(None)
    client, auth = signed_in(endpoint.kind, user)
    for node in (DISTRICT, OWN_GRID):
        response = client.get(endpoint.url_for(endpoint.pick(node, "own")), **auth)
        assert response.status_code == 404


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_signed_out_is_refused(matrix_district, endpoint):
    """No session: pages send to the login page; no token: the API answers 401."""
    if endpoint.setup:
        endpoint.setup()
    response = Client().get(endpoint.url_for(endpoint.pick(DISTRICT, "own")))
    if endpoint.kind == "page":
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    else:
        assert response.status_code == 401


def _grid_codes_under(node: str) -> set[str]:
    return {c for c in Grid.objects.values_list("code", flat=True) if _under(c, node)}


@pytest.mark.parametrize(("role", "node"), ROLE_CASES, ids=[f"{r}@{n}" for r, n in ROLE_CASES])
def test_grid_lists_hold_exactly_the_scope(matrix_district, make_user, role, node):
    client, auth = token_client(make_user(role, node))
    listed = client.get("/api/v1/grids", **auth)
    mapped = client.get("/api/v1/grids?format=geojson", **auth)
    if role in ADMIN_TRIO:
        assert listed.status_code == mapped.status_code == 404
        return
    assert listed.status_code == mapped.status_code == 200
    expected = _grid_codes_under(node)
    assert expected and expected != set(Grid.objects.values_list("code", flat=True))
    assert {g["code"] for g in listed.json()} == expected
    collection = mapped.json()
    assert collection["type"] == "FeatureCollection"
    assert {f["properties"]["code"] for f in collection["features"]} == expected
    # Filtering by a division outside the scope must not widen the list.
    outside = client.get(f"/api/v1/grids?under={NEIGHBOUR_DISTRICT}", **auth)
    assert outside.status_code == 404


def test_grid_lists_refuse_a_user_without_role(matrix_district, make_user):
    client, auth = token_client(make_user(None))
    assert client.get("/api/v1/grids", **auth).status_code == 404
    assert client.get("/api/v1/grids?format=geojson", **auth).status_code == 404


READING_ROLES = [(role, node) for role, node in ROLE_CASES if role in disputes_matrix.READERS]


@pytest.mark.parametrize(("role", "node"), READING_ROLES, ids=[f"{r}@{n}" for r, n in READING_ROLES])
def test_dispute_parties_are_masked_unless_the_reader_may_mediate(matrix_district, make_user, role, node):
    """Who reads a dispute in their area sees its parties' phones in full only if they may mediate it:
    managers always, mediating roles while it is at the first level (here: an ordinary dispute in the
    room level), nobody else (here also: a difficult one, gone to the expert pool)."""
    from anju.disputes.actions import intake

    grid = Grid.objects.get(code=OWN_GRID)
    user = make_user(role, node)
    for grade in ("ordinary", "difficult"):
        dispute = intake.record_dispute(None, disputes_matrix.dispute_data(grid, grade=grade))
        expected = "full" if disputes_matrix.sees_phones(role, dispute.level) else "masked"
        page = login(user).get(f"/disputes/{dispute.number}/")
        assert page.status_code == 200
        assert disputes_matrix.phones_shown(page.content.decode()) == expected, (grade, dispute.level)
        client, auth = token_client(user)
        answer = client.get(f"/api/v1/disputes/{dispute.number}", **auth)
        assert answer.status_code == 200
        assert disputes_matrix.phones_shown(answer.content.decode()) == expected, (grade, dispute.level)


@pytest.mark.parametrize(("role", "node"), ROLE_CASES, ids=[f"{r}@{n}" for r, n in ROLE_CASES])
def test_dispute_lists_hold_exactly_the_scope(matrix_district, make_user, role, node):
    """The list page and the API list show a reader every dispute under their node and none outside it;
    a role without disputes.view is shown none."""
    from anju.disputes.models import Dispute

    disputes_matrix.place_disputes()
    user = make_user(role, node)
    expected = set(Dispute.objects.filter(path__startswith=_path_of(node)).values_list("number", flat=True))
    if role not in disputes_matrix.READERS:
        expected = set()
    assert role not in disputes_matrix.READERS or expected != set(Dispute.objects.values_list("number", flat=True))
    page = login(user).get("/disputes/")
    listed = set(re.findall(r'href="/disputes/(JF\d+)/"', page.content.decode())) if page.status_code == 200 else set()
    assert page.status_code in (200, 404) and listed == expected
    client, auth = token_client(user)
    answer = client.get("/api/v1/disputes", **auth)
    assert answer.status_code in (200, 404)
    numbers = {d["number"] for d in _items(answer.json())} if answer.status_code == 200 else set()
    assert numbers == expected


def _items(body) -> list:
    """The rows of a list answer, plain or paginated ({"items": [...]})."""
    return body["items"] if isinstance(body, dict) else body
