"""API of the registry (一标三实): people, addresses, houses, residences, organizations, vehicles.

People come back masked; `?unmask=true&reason=...` shows the full ID number and phone to those
permitted, and is audited like every opening of a person's detail. Invalid input answers 422 naming
the field; a duplicate answers 409; anything outside the caller's scope 404.
"""

from datetime import date
from decimal import Decimal

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from anju.core import scope
from anju.core.errors import InvalidField
from anju.core.models import User
from anju.core.roles import Perm
from anju.geo import queries as geo_queries
from anju.registry import actions, address_parser, queries
from anju.registry.models import Organization, Person

router = Router(tags=["registry"])

MAX_PAGE = 200


class Page(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


def _listed(user, qs, page: Page | None, under: str = "", order: tuple = ("id",), **filters) -> list:
    """One page of a scoped list, cut to a division or grid and to the filters that are given."""
    if under:
        qs = qs.filter(path__startswith=_under(user, under))
    qs = qs.filter(**{field: value for field, value in filters.items() if value not in ("", None)})
    page = page or Page()
    return list(qs.order_by(*order)[page.offset : page.offset + page.limit])


def _under(user, code: str | None) -> str | None:
    """The path of a division or grid in scope (404 otherwise), to narrow a list."""
    if not code:
        return None
    if len(code) == 15:
        return geo_queries.get_grid(user, code).path
    return geo_queries.get_division(user, code).path


# --- People ----------------------------------------------------------------------------------------


class PersonIn(Schema):
    name: str
    id_number: str | None = None
    passport_number: str | None = None
    nationality: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    kind: str = "registered"
    phone: str | None = None
    ethnicity: str | None = None
    hukou_place: str | None = None
    residence_permit: str | None = None
    residence_permit_until: date | None = None
    grid: str | None = Field(None, description="grid code where the person was found (or give `house`)")
    house: int | None = Field(None, description="the house the person lives in; checks them in")
    relation: str | None = "family"
    from_: date | None = Field(None, alias="from")


class PersonPatch(Schema):
    name: str | None = None
    phone: str | None = None
    ethnicity: str | None = None
    hukou_place: str | None = None
    kind: str | None = None
    residence_permit: str | None = None
    residence_permit_until: date | None = None
    passport_number: str | None = None
    nationality: str | None = None
    note: str = ""


class ReasonIn(Schema):
    reason: str = ""


class NoteIn(Schema):
    note: str = ""


def _residence_out(user, r) -> dict:
    return {
        "id": r.pk,
        "person": r.person_id,
        "person_name": queries.shown_name(user, r.person),
        "house": r.house_id,
        "address": r.house.address.label,
        "relation": r.relation,
        "from": r.start,
        "to": r.end,
        "status": r.status,
        "channel": r.channel,
        "registration_due": r.registration_due,
        "overdue": r.overdue,
    }


def _person_out(user, person: Person, unmasked: bool = False, detail: bool = False) -> dict:
    out = queries.person_fields(user, person, unmasked=unmasked)
    if detail:
        out["residences"] = [
            _residence_out(user, r) for r in person.residences.select_related("house__address", "person")
        ]
        out["vehicles"] = [{"id": v.pk, "plate": v.plate, "kind": v.kind} for v in person.vehicles.all()]
    return out


@router.get("/people")
def people(request, q: str = "", status: str = "", grid: str = "", kind: str = "", page: Query[Page] = None):
    """People in scope, masked: `q` searches by name, ID number, phone, plate or address text."""
    user = request.user
    page = page or Page()
    if q.strip():
        what, found = queries.search_people(user, q, limit=page.limit)
        return {"query": what, "results": [_person_out(user, p) for p in found]}
    qs = queries.people(user).select_related("grid")
    found = _listed(user, qs, page, under=grid, status=status, kind=kind)
    return {"query": None, "results": [_person_out(user, p) for p in found]}


@router.post("/people", response={201: dict})
def create_person(request, payload: PersonIn):
    """Collect a person, found in a grid or living in a house (then checked in from `from`)."""
    user = request.user
    data = payload.dict(exclude_none=True, by_alias=False)
    house = queries.get_house(user, data.pop("house")) if "house" in data else None
    grid_code = data.pop("grid", None)
    relation, start = data.pop("relation", "family"), data.pop("from_", None)
    if house is not None:
        place, grid = house.path, house.grid
    elif grid_code:
        grid = geo_queries.get_grid(user, grid_code)
        place = grid.path
    else:
        raise InvalidField("grid", _("Give the grid where the person was found, or the house they live in."))
    person = actions.collect_person(user, data, place=place, grid=grid)
    if house is not None:
        actions.check_in(user, house, person, start=start or timezone.localdate(), relation=relation)
        person.refresh_from_db()
    return Status(201, _person_out(user, person, detail=True))


@router.get("/people/{person_id}")
def person(request, person_id: int, unmask: bool = False, reason: str = ""):
    """One person, masked; with `unmask=true&reason=...` in full where permitted. Audited."""
    user = request.user
    p = queries.get_person(user, person_id)
    unmasked = actions.open_person(user, p, unmask=unmask, reason=reason)
    return _person_out(user, p, unmasked=unmasked, detail=True)


@router.patch("/people/{person_id}")
def change_person(request, person_id: int, payload: PersonPatch):
    """Change a person: waits as a pending change until an officer verifies it (applies at once
    when the caller is the verifier)."""
    user = request.user
    p = queries.get_person(user, person_id)
    data = payload.dict(exclude_unset=True)
    note = data.pop("note", "")
    actions.propose_change(user, p, data, note)
    return _person_out(user, p, detail=True)


# --- Verification, for every kind of collected record ----------------------------------------------

RECORD_GETTERS = {
    "people": queries.get_person,
    "houses": queries.get_house,
    "residences": queries.get_residence,
    "organizations": queries.get_organization,
    "vehicles": queries.get_vehicle,
}


def _record(user, kind: str, record_id: int):
    getter = RECORD_GETTERS.get(kind)
    if getter is None:
        raise Http404
    return getter(user, record_id)


def _state(record) -> dict:
    return {
        "id": record.pk,
        "status": record.status,
        "pending": sorted(record.pending),
        "reject_reason": record.reject_reason,
    }


@router.post("/{kind}/{record_id}/verify")
def verify(request, kind: str, record_id: int, payload: NoteIn = None):
    """Verify a collected record (people, houses, residences, organizations, vehicles) or its change."""
    record = _record(request.user, kind, record_id)
    actions.verify(request.user, record, (payload.note if payload else "") or "")
    return _state(record)


@router.post("/{kind}/{record_id}/reject")
def reject(request, kind: str, record_id: int, payload: ReasonIn):
    """Reject a collected record or its change; the reason goes back to the collector."""
    record = _record(request.user, kind, record_id)
    actions.reject(request.user, record, payload.reason)
    return _state(record)


# --- Addresses -------------------------------------------------------------------------------------


class AddressIn(Schema):
    community: str | None = Field(None, description="12-digit community code (or give lng/lat inside a grid)")
    road: str = ""
    door_number: str = ""
    estate: str = ""
    building: str = ""
    unit: str = ""
    floor: str = ""
    room: str = ""
    lng: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class ParseIn(Schema):
    text: str = Field(..., min_length=1, max_length=300)


def _address_out(a) -> dict:
    return {
        "id": a.pk,
        "label": a.label,
        "community": a.community_id,
        "grid": a.grid.code if a.grid_id else None,
        **{name: getattr(a, name) for name in a.PARTS},
        "lng": a.lng,
        "lat": a.lat,
    }


@router.get("/addresses")
def addresses(request, q: str = "", under: str = "", page: Query[Page] = None):
    """Standard addresses in scope; `q` matches free text, best first (with `score`)."""
    user = request.user
    page = page or Page()
    if q.strip():
        return [{**_address_out(a), "score": s} for a, s in queries.match_addresses(user, q, limit=page.limit)]
    return [_address_out(a) for a in _listed(user, queries.addresses(user).select_related("grid"), page, under)]


@router.get("/addresses/{int:address_id}")
def address(request, address_id: int):
    """One standard address in scope."""
    return _address_out(queries.get_address(request.user, address_id))


@router.post("/addresses", response={201: dict})
def create_address(request, payload: AddressIn):
    """Add a standard address; the same address twice answers 409."""
    return Status(201, _address_out(actions.create_address(request.user, payload.dict())))


@router.post("/addresses/parse")
def parse_address(request, payload: ParseIn):
    """Free text -> the fields of a standard address, and the standard addresses in scope it may mean."""
    if not scope.has_perm(request.user, Perm.REGISTRY_VIEW):
        raise Http404
    parsed = address_parser.parse(payload.text)
    matches = queries.match_addresses(request.user, payload.text, parsed=parsed)
    return {
        "fields": parsed.as_dict(),
        "confidence": parsed.confidence,
        "leftover": parsed.leftover,
        "matches": [{"id": a.pk, "label": a.label, "score": s} for a, s in matches],
    }


# --- Houses and residences -------------------------------------------------------------------------


class HouseIn(AddressIn):
    use: str = "unknown"
    area_m2: Decimal | None = None
    hazards: str = ""
    owner: int | None = Field(None, description="the owner's person id")


class CheckIn(Schema):
    person: int
    from_: date = Field(..., alias="from")
    relation: str = "tenant"
    reason: str = ""


class CheckOut(Schema):
    to: date
    reason: str = ""


def _house_out(user, h, detail: bool = False) -> dict:
    out = {
        "id": h.pk,
        "address": _address_out(h.address),
        "building": h.building_id,
        "use": h.use,
        "area_m2": h.area_m2,
        "hazards": h.hazards,
        "owner": h.owner_id,
        "status": h.status,
        "pending": sorted(h.pending),
    }
    if detail:
        out["residents"] = [_residence_out(user, r) for r in queries.current_residents(h)]
    return out


@router.get("/houses")
def houses(request, under: str = "", use: str = "", building: int | None = None, page: Query[Page] = None):
    """Houses in scope."""
    user = request.user
    qs = queries.houses(user).select_related("address__grid")
    return [_house_out(user, h) for h in _listed(user, qs, page, under, use=use, building_id=building)]


@router.post("/houses", response={201: dict})
def create_house(request, payload: HouseIn):
    """Collect a house at a room-level address (the address is made if new)."""
    user = request.user
    data = payload.dict()
    if data.get("owner"):
        data["owner"] = queries.get_person(user, data["owner"])
    return Status(201, _house_out(user, actions.collect_house(user, data), detail=True))


@router.get("/houses/{house_id}")
def house(request, house_id: int):
    """One house with its current residents (masked)."""
    return _house_out(request.user, queries.get_house(request.user, house_id), detail=True)


@router.post("/houses/{house_id}/check-in", response={201: dict})
def check_in(request, house_id: int, payload: CheckIn):
    """Check a person in (hotel-style: a tenant's registration is due 3 days after moving in)."""
    user = request.user
    h = queries.get_house(user, house_id)
    p = queries.get_person(user, payload.person)
    r = actions.check_in(user, h, p, start=payload.from_, relation=payload.relation, reason=payload.reason)
    return Status(201, _residence_out(user, r))


@router.get("/residences/{int:residence_id}")
def residence(request, residence_id: int):
    """One residence (who lives where, from, to, relation)."""
    return _residence_out(request.user, queries.get_residence(request.user, residence_id))


@router.post("/residences/{residence_id}/check-out")
def check_out(request, residence_id: int, payload: CheckOut):
    """Retire a residence (核销): the person moved out; its history stays."""
    user = request.user
    r = queries.get_residence(user, residence_id)
    actions.check_out(user, r, end=payload.to, reason=payload.reason)
    return _residence_out(user, r)


@router.get("/residences/overdue")
def overdue(request, under: str = "", page: Query[Page] = None):
    """Tenants past their registration deadline, oldest first."""
    user = request.user
    found = _listed(user, queries.overdue_rentals(user), page, under, order=("registration_due", "id"))
    return [_residence_out(user, r) for r in found]


# --- Organizations and vehicles --------------------------------------------------------------------


class OrganizationIn(Schema):
    name: str
    uscc: str | None = None
    kind: str = "other"
    legal_representative: str | None = None
    phone: str | None = None
    key_unit: bool = False
    employees: int | None = Field(None, ge=0)
    address: int | None = Field(None, description="a standard address id (or give the address fields)")
    location: AddressIn | None = None


def _organization_out(user, o: Organization) -> dict:
    return {
        "id": o.pk,
        "name": o.name,
        "uscc": o.uscc,
        "kind": o.kind,
        "legal_representative": queries.shown_name(user, o, o.legal_representative) if o.legal_representative else "",
        "key_unit": o.key_unit,
        "employees": o.employees,
        "address": o.address.label,
        "address_id": o.address_id,
        "status": o.status,
    }


@router.get("/organizations")
def organizations(request, under: str = "", kind: str = "", key_unit: bool | None = None, page: Query[Page] = None):
    """Organizations in scope."""
    user = request.user
    found = _listed(user, queries.organizations(user), page, under, kind=kind, key_unit=key_unit)
    return [_organization_out(user, o) for o in found]


@router.get("/organizations/{int:organization_id}")
def organization(request, organization_id: int):
    """One organization."""
    return _organization_out(request.user, queries.get_organization(request.user, organization_id))


@router.post("/organizations", response={201: dict})
def create_organization(request, payload: OrganizationIn):
    """Collect an organization at a standard address."""
    user = request.user
    data = payload.dict(exclude_none=True)
    if "address" in data:
        address = queries.get_address(user, data.pop("address"))
    elif "location" in data:
        address, _created = actions.resolve_address(user, data.pop("location"))
    else:
        raise InvalidField("address", _("Give the organization's address."))
    return Status(201, _organization_out(user, actions.collect_organization(user, data, address)))


class VehicleIn(Schema):
    plate: str
    kind: str | None = Field(None, description="car, new_energy or ebike (found from the plate if not given)")
    owner: int | None = None
    organization: int | None = None
    brand: str = ""
    color: str = ""


def _vehicle_out(v) -> dict:
    return {
        "id": v.pk,
        "plate": v.plate,
        "kind": v.kind,
        "owner": v.owner_id,
        "organization": v.organization_id,
        "brand": v.brand,
        "color": v.color,
        "status": v.status,
    }


@router.get("/vehicles")
def vehicles(request, plate: str = "", under: str = "", page: Query[Page] = None):
    """Vehicles in scope; `plate` finds one."""
    user = request.user
    if plate:
        return [_vehicle_out(v) for v in queries.search_vehicles(user, plate)]
    return [_vehicle_out(v) for v in _listed(user, queries.vehicles(user), page, under)]


@router.get("/vehicles/{int:vehicle_id}")
def vehicle(request, vehicle_id: int):
    """One vehicle."""
    return _vehicle_out(queries.get_vehicle(request.user, vehicle_id))


@router.post("/vehicles", response={201: dict})
def create_vehicle(request, payload: VehicleIn):
    """Collect a vehicle with its owner (a person or an organization)."""
    user = request.user
    owner = queries.get_person(user, payload.owner) if payload.owner else None
    org = queries.get_organization(user, payload.organization) if payload.organization else None
    data = payload.dict(exclude={"owner", "organization"})
    return Status(201, _vehicle_out(actions.collect_vehicle(user, data, owner=owner, organization=org)))


# --- Buildings (包保) ------------------------------------------------------------------------------


class ResponsibleIn(Schema):
    username: str | None = None


class BuildingIn(AddressIn):
    floors: int | None = None
    units: int | None = None
    property_company: str | None = None
    steward_name: str | None = None
    steward_phone: str | None = None


def _building_out(b) -> dict:
    return {
        "id": b.pk,
        "address": b.address.label,
        "grid": b.grid.code if b.grid_id else None,
        "floors": b.floors,
        "units": b.units,
        "property_company": b.property_company,
        "steward_name": b.steward_name,
        "responsible": b.responsible.username if b.responsible_id else None,
        "responsible_name": str(b.responsible) if b.responsible_id else None,
        "houses": b.houses.count(),
    }


@router.post("/buildings")
def save_building(request, payload: BuildingIn):
    """Record a building's facts (floors, units, property company, steward), by its address."""
    return _building_out(actions.save_building(request.user, payload.dict(exclude_none=True)))


@router.get("/buildings/{building_id}")
def building(request, building_id: int):
    """One building with its facts and responsible worker."""
    return _building_out(queries.get_building(request.user, building_id))


@router.put("/buildings/{building_id}/responsible")
def set_responsible(request, building_id: int, payload: ResponsibleIn):
    """Name the grid worker who answers for the building (包保); null clears it."""
    b = queries.get_building(request.user, building_id)
    worker = None
    if payload.username:
        worker = User.objects.filter(username=payload.username, is_active=True).first()
        if worker is None:
            raise InvalidField("username", _("No active account has this username."))
    actions.set_responsible(request.user, b, worker)
    return _building_out(b)
