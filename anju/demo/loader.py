"""The demo district: real Shibei divisions and outline, generated grids, teams, accounts, residents, a
year of cases and a year of disputes.

Everything goes through the same actions an operator uses, so the demo is audited like real work.
Re-running finds what exists and adds nothing twice.
"""

import json
import random
import time
from pathlib import Path

import numpy as np
from django.db import transaction

from anju.cases import actions as case_actions
from anju.cases import routing
from anju.cases.models import Department, Open311Client
from anju.core import actions as core_actions
from anju.core.auth import hash_token
from anju.core.models import User
from anju.core.passwords import generate_password
from anju.core.roles import Role
from anju.demo import cases as cases_module
from anju.demo import disputes as disputes_module
from anju.demo import residents as residents_module
from anju.demo.names import mobile, person_name
from anju.demo.tessellation import grids_for, partition, split_households
from anju.geo import actions as geo_actions
from anju.geo.geometry import parse_polygon, to_geojson
from anju.geo.models import Division, Grid, Post
from anju.registry.tasks import remind_overdue_rentals

DATA = Path(__file__).resolve().parent.parent / "geo" / "data"
DISTRICT = "370203"
SEED = 370203
# Households per community: Shibei has about 1.1 million people, some 2.5 to a household.
HOUSEHOLDS_RANGE = (2200, 4200)

# One account per role, each on the node its work is done on (辽宁路街道 > 贮水山社区 > its first grid);
# the grid head runs 贮水山社区's case desk.
STREET, COMMUNITY = "370203005", "370203005011"
GRID = COMMUNITY + "001"
DEMO_ROLES = [
    (Role.DISTRICT_ADMIN, DISTRICT),
    (Role.STREET_ADMIN, STREET),
    (Role.STATION_CHIEF, STREET),
    (Role.OFFICER, COMMUNITY),
    (Role.AUXILIARY, COMMUNITY),
    (Role.GRID_WORKER, GRID),
    (Role.GRID_HEAD, COMMUNITY),
    (Role.MEDIATOR, COMMUNITY),
    (Role.DISPATCHER, DISTRICT),
    (Role.DEPARTMENT_STAFF, DISTRICT),
    (Role.VOLUNTEER, GRID),
    (Role.AUDITOR, DISTRICT),
    (Role.SECURITY_ADMIN, DISTRICT),
    (Role.SYSTEM_ADMIN, DISTRICT),
]
# The outside system whose Open311 key demo-accounts.json holds.
OPEN311_NAME = "演示外部系统"


def load_demo(home: Path, residents: int = 0, cases: int = 0, out=print, disputes: int = 0) -> list[dict]:
    """Prepare the demo in the database of `home`; returns the demo accounts and the Open311 key."""
    out(f"Divisions: {geo_actions.import_divisions(DATA / 'divisions', DISTRICT)} rows (Shibei and above).")
    district = Division.objects.get(code=DISTRICT)
    if not district.geometry:
        feature = json.loads((DATA / f"{DISTRICT}.geojson").read_text(encoding="utf-8"))
        district = geo_actions.set_division_geometry(DISTRICT, feature["geometry"])
    accounts = ensure_users(home)
    if Grid.objects.filter(path__startswith=district.path).exists():
        out("Grids: already there, left as they are.")
    else:
        n = generate_grids(district, grid_worker=User.objects.get(username=Role.GRID_WORKER.value))
        out(f"Grids: {n} generated over the real district outline.")
    for account in accounts:
        user = User.objects.get(username=account["username"])
        core_actions.assign_role(None, user, account["role"], account["scope"])
    staff_units(district)
    accounts.append(open311_key(home))
    (home / "demo-accounts.json").write_text(json.dumps(accounts, ensure_ascii=False, indent=2))
    (home / "demo-accounts.json").chmod(0o600)
    if residents:
        load_residents(district, residents, out)
    if cases:
        load_cases(district, cases, out)
    if disputes:
        load_disputes(district, disputes, out)
    return accounts


def staff_units(district: Division) -> None:
    """The demo accounts' places in the case loop: the grid head leads 贮水山社区's centre (its desk) with
    the grid worker as a member, the street and district admins lead their centres, the department staff
    leads the district's urban-management department. Adds nothing when they are there already."""
    people = {u.username: u for u in User.objects.filter(username__in=[r.value for r, _node in DEMO_ROLES])}
    community, street = Division.objects.get(code=COMMUNITY), Division.objects.get(code=STREET)
    routing.ensure_departments(district)
    for unit, members in (
        (routing.centre(community), [(people[Role.GRID_HEAD], True), (people[Role.GRID_WORKER], False)]),
        (routing.centre(street), [(people[Role.STREET_ADMIN], True)]),
        (routing.centre(district), [(people[Role.DISTRICT_ADMIN], True)]),
        (routing.department(district, Department.URBAN_MANAGEMENT), [(people[Role.DEPARTMENT_STAFF], True)]),
    ):
        cases_module.add_members(unit, members)


def open311_key(home: Path) -> dict:
    """The demo's Open311 key: the one in demo-accounts.json while its client is active, else a new one."""
    key = _known(home).get("open311", {}).get("api_key", "")
    if not key or not Open311Client.objects.filter(key_hash=hash_token(key), revoked_at=None).exists():
        _client, key = case_actions.issue_open311_key(None, OPEN311_NAME)
    return {"username": "open311", "role": "open311_client", "api_key": key}


def load_cases(district: Division, cases: int, out=print, around_demo: bool = True) -> None:
    """A year of `cases` generated cases, unless the district has some; see `demo.cases`.

    Open311 cases come from the demo's outside system; with `around_demo` a third of the cases lie in the
    demo accounts' street, otherwise they spread over the district by households.
    """
    t0 = time.perf_counter()
    accounts = {u.username: u for u in User.objects.filter(username__in=[r.value for r, _node in DEMO_ROLES])}
    client = Open311Client.objects.filter(name=OPEN311_NAME, revoked_at=None).order_by("-created_at").first()
    totals = cases_module.load_cases(
        district, cases, demo_grid=GRID, accounts=accounts, client=client, around_demo=around_demo, out=out
    )
    if totals is None:
        out("Cases: the district has cases already; left as they are.")
    else:
        out(cases_module.summary(totals, time.perf_counter() - t0))


def load_disputes(district: Division, disputes: int, out=print) -> None:
    """Mediation rooms, mediators and a year of `disputes` disputes, unless the district has some; see
    `demo.disputes`."""
    t0 = time.perf_counter()
    accounts = {u.username: u for u in User.objects.filter(username__in=[r.value for r, _node in DEMO_ROLES])}
    totals = disputes_module.load_disputes(district, disputes, accounts, out=out)
    if totals is None:
        out("Disputes: the district has disputes already; left as they are.")
    else:
        out(disputes_module.summary(totals, time.perf_counter() - t0))


def _known(home: Path) -> dict:
    """The entries of demo-accounts.json by username (none before the first run)."""
    path = home / "demo-accounts.json"
    return {a["username"]: a for a in json.loads(path.read_text())} if path.exists() else {}


def load_residents(district: Division, residents: int, out=print) -> None:
    """Fill the grids with `residents` generated people and what goes with them, unless some live there."""
    out(f"Residents: generating {residents:,}...")
    totals, seconds = residents_module.timed_load(
        district,
        residents,
        demo_grid=GRID,
        demo_worker=User.objects.get(username=Role.GRID_WORKER.value),
        demo_officer=User.objects.get(username=Role.OFFICER.value),
    )
    if totals is None:
        out("Residents: the registry holds people in the district already; left as they are.")
    else:
        out(residents_module.summary(totals, seconds))
        # What the worker's daily run would send, so the inboxes are not empty before it first runs.
        reminded = remind_overdue_rentals()
        out(f"Reminders: {reminded['workers']} workers told of {reminded['overdue']} overdue tenant registrations.")


def generate_grids(district: Division, grid_worker: User) -> int:
    """Cut the district into its streets, communities and grids, and staff every grid.

    The demo grid worker is the manager on the team of the first grid of 贮水山社区.
    """
    rng = random.Random(SEED)
    nprng = np.random.default_rng(SEED)
    outline = parse_polygon(district.geojson)
    streets = list(district.children.order_by("code"))
    communities = {s.code: list(s.children.order_by("code")) for s in streets}
    features, teams = [], {}
    with transaction.atomic():
        street_shapes = partition(outline, [len(communities[s.code]) for s in streets], seed=SEED)
        for street, street_shape in zip(streets, street_shapes, strict=True):
            geo_actions.set_division_geometry(street.code, _geometry(street_shape), generated=True)
            members = communities[street.code]
            households = [rng.randint(*HOUSEHOLDS_RANGE) for _ in members]
            shapes = partition(street_shape, households, seed=int(street.code) % 100000)
            for community, shape, total in zip(members, shapes, households, strict=True):
                geo_actions.set_division_geometry(community.code, _geometry(shape), generated=True)
                count = grids_for(total)
                grid_shapes = partition(shape, [1.0] * count, seed=int(community.code) % 100000)
                officer = (person_name(rng), mobile(rng))  # one community officer covers every grid
                for i, (grid_shape, hh) in enumerate(
                    zip(grid_shapes, split_households(total, count, nprng), strict=True), start=1
                ):
                    code = f"{community.code}{i:03d}"
                    short = community.name.removesuffix("居委会")
                    features.append(
                        {
                            "type": "Feature",
                            "properties": {
                                "code": code,
                                "name": f"{short}第{i}网格",
                                "community": community.code,
                                "kind": "general",
                                "households": int(hh),
                                "generated": True,
                            },
                            "geometry": _geometry(grid_shape),
                        }
                    )
                    teams[code] = _team(rng, officer)
        geo_actions.import_grids(None, {"type": "FeatureCollection", "features": features})
        manager = next(m for m in teams[GRID] if m["post"] == Post.MANAGER)
        manager.update(name=grid_worker.full_name, phone=grid_worker.phone, user=grid_worker)
        for grid in Grid.objects.filter(code__in=teams):
            geo_actions.set_team(None, grid, teams[grid.code])
    return len(features)


def _geometry(shape) -> dict:
    return json.loads(to_geojson(shape))


def _team(rng: random.Random, officer: tuple[str, str]) -> list[dict]:
    """A "4+N+N" team: head, advisor, the community officer, a grid worker, informants, volunteers."""
    team = [
        {"post": Post.HEAD, "name": person_name(rng), "phone": mobile(rng)},
        {"post": Post.ADVISOR, "name": person_name(rng), "phone": mobile(rng)},
        {"post": Post.OFFICER, "name": officer[0], "phone": officer[1]},
        {"post": Post.MANAGER, "name": person_name(rng), "phone": mobile(rng)},
    ]
    team += [{"post": Post.INFORMANT, "name": person_name(rng), "phone": mobile(rng)} for _ in range(rng.randint(1, 3))]
    team += [{"post": Post.VOLUNTEER, "name": person_name(rng), "phone": mobile(rng)} for _ in range(rng.randint(2, 6))]
    return team


def ensure_users(home: Path) -> list[dict]:
    """One account per demo role; passwords kept in demo-accounts.json so re-runs keep them."""
    known = _known(home)
    rng = random.Random(SEED + 1)
    accounts = []
    for role, node in DEMO_ROLES:
        username = role.value
        password = known.get(username, {}).get("password")
        user = User.objects.filter(username=username).first()
        name, phone = person_name(rng), mobile(rng)
        if user is None:
            password = generate_password()
            core_actions.create_user(None, username=username, password=password, full_name=name, phone=phone)
        elif password is None or not user.check_password(password):
            password = generate_password()
            core_actions.set_password(None, user, password)
        accounts.append({"username": username, "password": password, "role": role.value, "scope": node})
    return accounts
