"""`anju demo --residents N`: generated residents on the small test district, through the bulk action.

One generation of 600 people (the district fixture's demo grid and the next ones) checked for valid
numbers, proportions, scope paths, lists that are not empty, and a second run that adds nothing; the
checks are helpers of one test so that the generation runs once (about 5 s).
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import F

from anju.core import actions as core_actions
from anju.core.models import AuditEvent, User
from anju.core.validators import parse_id_number, validate_phone, validate_plate, validate_uscc
from anju.demo import residents
from anju.geo.models import Grid
from anju.registry import queries
from anju.registry.actions import bulk
from anju.registry.models import (
    Address,
    Building,
    Channel,
    House,
    HouseUse,
    Organization,
    Person,
    PersonKind,
    Relation,
    Residence,
    Revision,
    Status,
    Vehicle,
)
from tests.conftest import OWN_GRID

N = 600


@pytest.fixture
def loaded(district, make_user):
    """(totals, demo grid worker, demo officer) after generating N residents on the test district."""
    worker = make_user("grid_worker", OWN_GRID)
    officer = make_user("officer", OWN_GRID[:12])
    totals = residents.load_residents(district, N, demo_grid=OWN_GRID, demo_worker=worker, demo_officer=officer, seed=7)
    return totals, worker, officer


def test_generated_registry(loaded, district):
    check_counts_and_proportions(loaded)
    check_numbers_are_valid(loaded)
    check_paths_follow_grids(loaded)
    check_lists_are_not_empty(loaded)
    check_revisions_and_audit(loaded)
    check_rerun_adds_nothing_and_is_deterministic(loaded, district)


def check_counts_and_proportions(loaded):
    totals, _worker, _officer = loaded
    people = Person.objects.count()
    assert people == totals.people and N <= people < N + 6  # stops after the household that reaches N
    houses = House.objects.count()
    assert 0.3 * N / 2.5 < houses < 1.6 * N / 2.5 + 200  # a partly filled last building allowed for
    floating = Person.objects.filter(kind=PersonKind.FLOATING).count()
    assert 0.22 < floating / people < 0.45, floating
    assert Person.objects.filter(kind=PersonKind.REGISTERED).count() > people / 2
    uses = Counter(House.objects.values_list("use", flat=True))
    assert uses[HouseUse.SELF] > uses[HouseUse.RENTED] > 0 and uses[HouseUse.VACANT] > 0
    assert Residence.objects.count() == people  # everyone lives somewhere, once
    assert Building.objects.count() == totals.buildings > 0
    assert Organization.objects.count() == totals.organizations > 0
    assert Vehicle.objects.count() == totals.vehicles > 0
    # Addresses: a building's, a house's, or a school's own door number.
    standalone = Address.objects.filter(house=None, building_record=None).count()
    assert standalone == Organization.objects.filter(kind="school").count()
    assert Address.objects.count() == Building.objects.count() + houses + standalone


def check_numbers_are_valid(loaded):
    for number, birth, sex in Person.objects.exclude(id_number=None).values_list("id_number", "birth_date", "sex"):
        parsed = parse_id_number(number)
        assert (parsed.birth_date, parsed.sex) == (birth, sex)
    for phone in Person.objects.exclude(phone="").values_list("phone", flat=True):
        assert validate_phone(phone) == phone
    foreigners = Person.objects.filter(kind=PersonKind.FOREIGN)
    assert all(p.passport_number and len(p.nationality) == 3 and p.id_number is None for p in foreigners)
    for plate, kind in Vehicle.objects.values_list("plate", "kind"):
        assert validate_plate(plate, ebike=kind == "ebike").kind == kind
    cars = Vehicle.objects.exclude(kind="ebike")
    assert cars.filter(plate__startswith="鲁B").count() > cars.count() / 2
    for code in Organization.objects.values_list("uscc", flat=True):
        assert validate_uscc(code) == code
    registered = Person.objects.filter(kind=PersonKind.REGISTERED).values_list("id_number", flat=True)
    assert all(n.startswith("37") for n in registered)
    floating = Person.objects.filter(kind=PersonKind.FLOATING).values_list("id_number", flat=True)
    assert not any(n.startswith("37") for n in floating)


def check_paths_follow_grids(loaded):
    grids = dict(Grid.objects.values_list("pk", "path"))
    for model in (Address, Building, House, Person, Residence, Organization, Vehicle):
        for grid_id, path in model.objects.values_list("grid_id", "path"):
            assert grids[grid_id] == path, model
    assert not House.objects.exclude(path=F("building__path")).exists()
    for r in Residence.objects.select_related("person", "house"):
        assert r.path == r.person.path == r.house.path
    for address in Address.objects.select_related("grid")[:200]:
        grid = address.grid
        assert grid.min_lng <= address.lng <= grid.max_lng and grid.min_lat <= address.lat <= grid.max_lat


def check_lists_are_not_empty(loaded):
    totals, worker, officer = loaded
    assert totals.overdue > 0 and totals.declarations > 0 and totals.pending > 0
    overdue = list(queries.overdue_rentals(worker))
    assert overdue and all(r.relation == Relation.TENANT and r.overdue for r in overdue)
    assert all(r.registration_due == r.start + timedelta(days=3) for r in overdue)
    waiting = queries.queue(worker)
    assert waiting["declarations"] and all(r.channel == Channel.SELF for r in waiting["declarations"])
    assert queries.queue(officer)["to_verify"]["person"]
    assert Person.objects.exclude(pending={}).exists() or totals.people < 1000
    verified = Person.objects.filter(status=Status.VERIFIED).count()
    assert verified > 0.75 * Person.objects.count()
    # The demo grid worker answers for the demo grid's buildings; every building has one worker.
    assert Building.objects.filter(responsible=worker).exists()
    assert not Building.objects.filter(responsible=None).exists()
    for building in Building.objects.select_related("responsible"):
        assert building.responsible.assignments.filter(role="grid_worker", path=building.path).exists()
    others = User.objects.filter(username__startswith="gw")
    assert all(not u.has_usable_password() for u in others)


def check_revisions_and_audit(loaded):
    totals, _w, _o = loaded
    revised = totals.people + totals.houses + totals.residences + totals.organizations + totals.vehicles
    assert Revision.objects.filter(action="import").count() == revised
    batches = AuditEvent.objects.filter(action="registry.bulk_load")
    assert batches.count() == 1 and f'"people": {totals.people}' in batches.get().detail
    assert AuditEvent.objects.filter(action="user.create", username="cli").count() >= totals.accounts


def check_rerun_adds_nothing_and_is_deterministic(loaded, district):
    totals, worker, officer = loaded
    before = (Person.objects.count(), House.objects.count(), Revision.objects.count(), User.objects.count())
    again = residents.load_residents(district, N, demo_grid=OWN_GRID, demo_worker=worker, demo_officer=officer)
    assert again is None
    assert before == (Person.objects.count(), House.objects.count(), Revision.objects.count(), User.objects.count())
    # The same seed makes the same people (QR tokens aside, which stay secret).
    first = list(Person.objects.order_by("id").values_list("name", "id_number")[:50])
    gen = residents.Generator(7, residents.timezone.localdate(), OWN_GRID, worker, officer)
    batch = bulk.Batch()
    grid = residents.grid_order(district, OWN_GRID)[0]
    gen.fill(grid, worker, batch, 50, 1.0)
    assert [(p.name, p.id_number) for p in batch.people][:50] == first[: len(batch.people)]


def test_bulk_load_checks_the_actor(district, make_user):
    grid = Grid.objects.get(code=OWN_GRID)
    batch = bulk.Batch(
        addresses=[Address(community=grid.community, grid=grid, path=grid.path, road="辽宁路", key="k", label="x")]
    )
    with pytest.raises(PermissionDenied):
        bulk.load_registry(make_user("grid_worker", OWN_GRID), batch)
    with pytest.raises(PermissionDenied):
        core_actions.open_field_accounts(make_user("system_admin", "370203"), [])
    assert bulk.load_registry(make_user("street_admin", "370203005"), batch)["addresses"] == 1
    assert Revision.objects.count() == 0 and AuditEvent.objects.filter(action="registry.bulk_load").count() == 1
