"""Disputes endpoints for the scope matrix (tests/test_scope_matrix.py).

`place_disputes()` takes in one ordinary dispute in every grid the matrix asks about (by nobody signed
in, with no rooms or mediators set up, so no matrix user leads or sits in on one and only
disputes.view over the place decides who reads it); `dispute_number(code)` maps a grid code to that
grid's dispute, so the matrix asks for "the dispute of OWN_GRID" as it asks for the grid itself.
Likewise `place_mediators()` lists one mediator (without an account) in every division and
`mediator_id(code)` finds it: a reader sees the mediators of their area and of the nodes above it.

The parties' phones are masked unless the reader may mediate the dispute: `PHONES` are the phones
each placed dispute's parties give, `sees_phones(role, level)` says whether a role held over the
place reads them in full.
"""

from anju.core import masking
from anju.core.roles import PERMISSIONS, Perm, Role
from anju.disputes.actions import intake, setup
from anju.disputes.models import FIRST_LEVELS, Dispute, Mediator
from anju.geo.models import Division, Grid

READERS = frozenset(r for r in Role if Perm.DISPUTES_VIEW in PERMISSIONS[r])
PHONES = ("13900000001", "13900000002")


def dispute_data(grid: Grid, **over) -> dict:
    """A neighbours' dispute at the centre of `grid`, between two named residents."""
    return {
        "source": "walk_in",
        "kind": "neighbour",
        "summary": f"网格{grid.code}邻里噪音纠纷",
        "facts": "楼上夜间噪音，双方多次争吵。",
        "lng": (grid.min_lng + grid.max_lng) / 2,
        "lat": (grid.min_lat + grid.max_lat) / 2,
        "parties": [
            {"role": "applicant", "name": "张三", "phone": PHONES[0]},
            {"role": "respondent", "name": "李四", "phone": PHONES[1]},
        ],
        **over,
    }


def place_disputes() -> None:
    """One ordinary dispute at the centre of every grid (idempotent)."""
    if Dispute.objects.exists():
        return
    for grid in Grid.objects.order_by("code"):
        intake.record_dispute(None, dispute_data(grid))


def dispute_number(code: str) -> str:
    """grid code -> the number of the dispute placed in that grid."""
    place_disputes()
    return Dispute.objects.get(grid__code=code).number


def place_mediators() -> None:
    """One people's mediator in every division, named after it (idempotent)."""
    if Mediator.objects.exists():
        return
    for division in Division.objects.order_by("code"):
        setup.save_mediator(None, {"name": f"调解员{division.code}", "kind": "peoples", "division": division.code})


def mediator_id(code: str) -> str:
    """division code -> the id of the mediator listed there."""
    place_mediators()
    return str(Mediator.objects.get(division_id=code).pk)


def sees_phones(role: str, level: str) -> bool:
    """Does `role`, held over a dispute's place, read its parties' phones in full (`may_mediate`)?"""
    perms = PERMISSIONS[role]
    return Perm.DISPUTES_MANAGE in perms or (Perm.DISPUTES_MEDIATE in perms and level in FIRST_LEVELS)


def phones_shown(text: str) -> str:
    """How `text` shows the parties' phones: "full" (each as given) or "masked" (only masked forms)."""
    full = all(p in text for p in PHONES)
    masked = all(masking.mask_phone(p) in text for p in PHONES) and not any(p in text for p in PHONES)
    assert full != masked, "the parties' phones are neither all shown nor all masked"
    return "full" if full else "masked"


def _json_number(response, number: str) -> None:
    assert response.json()["number"] == number


def _json_id(response, pk: str) -> None:
    assert str(response.json()["id"]) == pk


def dispute_endpoints(endpoint_class, grid_pick, division_pick) -> list:
    """The disputes app's scoped URLs as matrix endpoints."""
    common = {"pick": grid_pick, "setup": place_disputes, "roles": READERS, "resolve": dispute_number}
    return [
        endpoint_class("page dispute", "/disputes/{code}/", "page", **common),
        endpoint_class("api dispute", "/api/v1/disputes/{code}", "api", check=_json_number, **common),
        endpoint_class(
            "api mediator",
            "/api/v1/mediators/{code}",
            "api",
            pick=division_pick,
            setup=place_mediators,
            roles=READERS,
            resolve=mediator_id,
            check=_json_id,
        ),
    ]
