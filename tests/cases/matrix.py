"""Cases endpoints for the scope matrix (tests/test_scope_matrix.py).

`place_cases()` reports one case in every grid the matrix asks about (reported by nobody signed in, so
no matrix user is its reporter or a member of its unit); `case_number(code)` maps a grid code to
that grid's case, so the matrix asks for "the case of OWN_GRID" as it asks for the grid itself.
"""

from anju.cases import actions
from anju.cases.models import Case
from anju.core.roles import PERMISSIONS, Perm, Role
from anju.geo.models import Grid

READERS = frozenset(r for r in Role if Perm.CASES_VIEW in PERMISSIONS[r])


def place_cases() -> None:
    """One case at the centre of every grid (idempotent)."""
    if Case.objects.exists():
        return
    for grid in Grid.objects.order_by("code"):
        point = {"lng": (grid.min_lng + grid.max_lng) / 2, "lat": (grid.min_lat + grid.max_lat) / 2}
        actions.report_case(None, {"category": "0601", "description": f"网格{grid.code}垃圾堆放", **point}, "resident")


def case_number(code: str) -> str:
    """grid code -> the number of the case placed in that grid."""
    place_cases()
    return Case.objects.get(grid__code=code).number


def _json_number(response, number: str) -> None:
    assert response.json()["number"] == number


def _json_division(response, code: str) -> None:
    assert response.json()["division"]["code"] == code


def case_endpoints(endpoint_class, grid_pick) -> list:
    """The cases app's scoped URLs as matrix endpoints."""
    common = {"pick": grid_pick, "setup": place_cases, "roles": READERS, "resolve": case_number}
    return [
        endpoint_class("api case", "/api/v1/cases/{code}", "api", check=_json_number, **common),
        endpoint_class("page case", "/cases/{code}/", "page", **common),
        # Indicators of a grid: figures about the cases there, read like the cases themselves.
        endpoint_class(
            "api case indicators",
            "/api/v1/indicators/cases?division={code}",
            "api",
            pick=grid_pick,
            setup=place_cases,
            roles=READERS,
            check=_json_division,
        ),
    ]
