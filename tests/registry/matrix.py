"""Registry endpoints for the scope matrix (tests/test_scope_matrix.py).

`place_records()` puts one house with one resident (and a vehicle and an organization) in each grid
the matrix asks about; `record_id(kind)` maps a grid code to the id of that grid's record, so the
matrix can ask for "the person of OWN_GRID" exactly as it asks for the grid itself.
"""

from anju.core.roles import PERMISSIONS, Perm, Role
from anju.geo.models import Grid
from anju.registry import actions
from anju.registry.models import Address, Building, House, Organization, Person, Residence, Vehicle
from tests.registry.conftest import id_number, uscc

# Working roles that read the registry; department staff and volunteers do not.
READERS = frozenset(r for r in Role if Perm.REGISTRY_VIEW in PERMISSIONS[r])


def place_records() -> None:
    """One house, resident, residence, organization and vehicle in every grid (idempotent)."""
    if House.objects.exists():
        return
    for n, grid in enumerate(Grid.objects.select_related("community").order_by("code")):
        point = {"lng": (grid.min_lng + grid.max_lng) / 2, "lat": (grid.min_lat + grid.max_lat) / 2}
        house = actions.collect_house(
            None,
            {
                "community": grid.community_id,
                "road": f"路{grid.code}",
                "door_number": "1",
                "building": "1",
                "room": "101",
                **point,
            },
        )
        person = actions.collect_person(
            None,
            {"name": "居民" + "甲乙丙丁戊己庚辛壬癸"[n % 10], "id_number": id_number(sequence=f"{n:03d}")},
            place=grid.path,
            grid=grid,
        )
        actions.check_in(None, house, person, start="2025-01-01", relation="owner")
        actions.collect_organization(None, {"name": f"商店{grid.code}", "uscc": uscc(f"MA{n:06d}")}, house.address)
        actions.collect_vehicle(None, {"plate": f"鲁B{n:05d}"}, owner=person)


def record_id(model, **narrow):
    """grid code -> id of the record of that kind placed in the grid."""

    def resolve(code: str) -> str:
        place_records()
        return str(model.objects.get(grid__code=code, **narrow).pk)

    return resolve


def _person_page(response, pk: str) -> None:
    assert f"/registry/people/{pk}/change/" in response.content.decode() or "id-number" in response.content.decode()


def _json_id(response, pk: str) -> None:
    assert str(response.json()["id"]) == pk


def registry_endpoints(endpoint_class, grid_pick) -> list:
    """The registry's scoped URLs as matrix endpoints."""
    e = endpoint_class
    common = {"pick": grid_pick, "setup": place_records, "roles": READERS}
    return [
        e("api person", "/api/v1/people/{code}", "api", check=_json_id, resolve=record_id(Person), **common),
        e("api house", "/api/v1/houses/{code}", "api", check=_json_id, resolve=record_id(House), **common),
        e(
            "api address",
            "/api/v1/addresses/{code}",
            "api",
            check=_json_id,
            resolve=record_id(Address, room="101"),
            **common,
        ),
        e("api residence", "/api/v1/residences/{code}", "api", check=_json_id, resolve=record_id(Residence), **common),
        e(
            "api organization",
            "/api/v1/organizations/{code}",
            "api",
            check=_json_id,
            resolve=record_id(Organization),
            **common,
        ),
        e("api vehicle", "/api/v1/vehicles/{code}", "api", check=_json_id, resolve=record_id(Vehicle), **common),
        e("api building", "/api/v1/buildings/{code}", "api", check=_json_id, resolve=record_id(Building), **common),
        e(
            "page building",
            "/registry/buildings/{code}/",
            "page",
            resolve=record_id(Building),
            check=lambda r, pk: None,
            **common,
        ),
        e("page person", "/registry/people/{code}/", "page", check=_person_page, resolve=record_id(Person), **common),
        e(
            "page house",
            "/registry/houses/{code}/",
            "page",
            resolve=record_id(House),
            check=lambda r, pk: None,
            **common,
        ),
        e(
            "page organization",
            "/registry/organizations/{code}/",
            "page",
            resolve=record_id(Organization),
            check=lambda r, pk: None,
            **common,
        ),
        e(
            "page vehicle",
            "/registry/vehicles/{code}/",
            "page",
            resolve=record_id(Vehicle),
            check=lambda r, pk: None,
            **common,
        ),
    ]
