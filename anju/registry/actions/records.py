"""Every write to registry records: collect, change, verify, reject, check in and out, 包保.

Each action takes the acting user (None: the operator at the command line), checks that the place is in
the actor's scope (404 otherwise) and that the actor's role may do this there (403), writes in one
transaction, files a `Revision` on the record and appends the audit row.
"""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.errors import ActionError, Conflict, InvalidField
from anju.core.notify import notify
from anju.core.roles import Perm, Role
from anju.geo.locate import grid_index
from anju.geo.models import Division, Grid, Level
from anju.registry import cleaning
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
    record_type,
)


def require(actor, perm: str, path: str) -> None:
    """404 when `path` lies outside the actor's scope, 403 when their role may not do `perm` there."""
    if actor is None:
        return
    if not scope.in_scope(actor, path):
        raise Http404
    if not scope.has_perm(actor, perm, path):
        raise PermissionDenied


def plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def _who(actor, record) -> str:
    """The name on a revision: the user, "public" for a QR self-declaration, "cli" for the command line."""
    if actor is not None:
        return actor.username
    return "public" if getattr(record, "channel", "") == Channel.SELF else "cli"


def log(actor, record, action: str, changes: dict | None = None, note: str = "", purpose: str = "") -> None:
    """File a revision (old and new values, shown masked) and the audit row (names of the changed fields only)."""
    changes = {k: [plain(old), plain(new)] for k, (old, new) in (changes or {}).items()}
    kind = record_type(record)
    Revision.objects.create(
        record_type=kind,
        record_id=record.pk,
        user=actor,
        username=_who(actor, record),
        action=action,
        changes=changes,
        note=note[:300],
    )
    audit.record(
        f"{kind}.{action}",
        user=actor,
        username=_who(actor, record),
        obj=record,
        purpose=purpose,
        detail={"fields": sorted(changes)} if changes else None,
    )


def stamp_collected(actor, record, channel: str) -> None:
    """Collected by someone who may verify there: verified at once; otherwise pending."""
    now = timezone.now()
    record.channel = channel
    # A self-declaration has no collector until the responsible worker takes it up.
    record.collected_by, record.collected_at = (None, None) if channel == Channel.SELF else (actor, now)
    if actor is not None and scope.has_perm(actor, Perm.REGISTRY_VERIFY, record.path):
        record.status, record.verified_by, record.verified_at = Status.VERIFIED, actor, now
    else:
        record.status = Status.PENDING


def _save_new(record, duplicate_message: str):
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(duplicate_message) from exc


# --- Places ---------------------------------------------------------------------------------------


def place_of(community: Division | None = None, lng: float | None = None, lat: float | None = None, grid=None):
    """(community, grid, path) of a point or a community: the grid under the point if any."""
    if grid is None and lng is not None and lat is not None:
        code = grid_index().locate(lng, lat)
        grid = Grid.objects.select_related("community").filter(code=code).first() if code else None
    if grid is not None:
        if community is not None and grid.community_id != community.code:
            raise InvalidField(
                "lng", _("The point lies in grid %(grid)s, outside the community.") % {"grid": grid.code}
            )
        return grid.community, grid, grid.path
    if community is None:
        raise InvalidField("community", _("Give the community or a point inside a grid."))
    return community, None, community.path


def community_for(code: str) -> Division:
    """The community (12-digit code) an address belongs to."""
    community = Division.objects.filter(code=str(code or "").strip(), level=Level.COMMUNITY).first()
    if community is None:
        raise InvalidField("community", _("Unknown community code: %(code)s") % {"code": code})
    return community


def address_key(community_code: str, parts: dict) -> str:
    return "|".join([community_code] + [parts.get(name, "") for name in Address.PARTS])


def address_label(community: Division, parts: dict) -> str:
    """The address as people write it: 贮水山社区 延安三路123号 鲁邦国际 3号楼2单元502室."""
    p = parts
    text = community.name.replace("社区居民委员会", "社区").replace("居民委员会", "").replace("居委会", "")
    street = f"{p['road']}{p['door_number'] + '号' if p['door_number'] else ''}"
    inside = "".join(
        [
            f"{p['building']}号楼" if p["building"] else "",
            f"{p['unit']}单元" if p["unit"] else "",
            f"{p['room']}室" if p["room"] else (f"{p['floor']}层" if p["floor"] else ""),
        ]
    )
    return " ".join(x for x in (text, street, p["estate"], inside) if x)


def _new_address(community: Division, parts: dict, grid, path: str, lng, lat) -> Address:
    return Address(
        community=community,
        grid=grid,
        path=path,
        lng=lng,
        lat=lat,
        key=address_key(community.code, parts),
        label=address_label(community, parts),
        **parts,
    )


def resolve_address(actor, data: dict, *, create: bool = True) -> tuple[Address, bool]:
    """The standard address described by `data` (community, parts, lng/lat): found or made.

    Needs registry.manage or registry.collect in the place to make a new one.
    """
    parts = cleaning.clean_address_parts(data)
    community = community_for(data.get("community")) if data.get("community") else None
    lng, lat = data.get("lng"), data.get("lat")
    grid = None
    if data.get("grid"):
        grid = Grid.objects.select_related("community").filter(code=str(data["grid"]).strip()).first()
        if grid is None:
            raise InvalidField("grid", _("Unknown grid code: %(code)s") % {"code": data["grid"]})
    elif (lng is None or lat is None) and community is not None:
        # A room without a point lies where its building lies.
        base = Address.objects.filter(key=address_key(community.code, building_parts(parts))).first()
        if base is not None:
            grid, lng, lat = base.grid, base.lng, base.lat
    community, grid, path = place_of(community, lng, lat, grid)
    key = address_key(community.code, parts)
    existing = Address.objects.filter(key=key).first()
    if existing is not None:
        require(actor, Perm.REGISTRY_VIEW, existing.path)
        return existing, False
    if not create:
        raise Http404
    if actor is not None and not (
        scope.has_perm(actor, Perm.REGISTRY_MANAGE, path) or scope.has_perm(actor, Perm.REGISTRY_COLLECT, path)
    ):
        require(actor, Perm.REGISTRY_MANAGE, path)
    address = _new_address(community, parts, grid, path, lng, lat)
    _save_new(address, _("This address exists already."))
    audit.record("address.create", user=actor, username="cli", obj=address)
    return address, True


@transaction.atomic
def create_address(actor, data: dict) -> Address:
    """Add a standard address; one that exists already is refused (409)."""
    address, created = resolve_address(actor, data)
    if not created:
        raise Conflict(_("This address exists already (no. %(id)d).") % {"id": address.pk})
    return address


def building_parts(parts: dict) -> dict:
    return {**parts, "unit": "", "floor": "", "room": ""}


def building_for(actor, address: Address) -> Building | None:
    """The building record a room-level address belongs to, made on first use."""
    if not (address.building or address.door_number):
        return None
    parts = building_parts({name: getattr(address, name) for name in Address.PARTS})
    key = address_key(address.community_id, parts)
    building = Building.objects.filter(address__key=key).first()
    if building is not None:
        return building
    base = Address.objects.filter(key=key).first()
    if base is None:
        base = _new_address(address.community, parts, address.grid, address.path, address.lng, address.lat)
        base.save(force_insert=True)
    building = Building.objects.create(address=base, grid=address.grid, path=address.path)
    log(actor, building, "create")
    return building


BUILDING_FACTS = ("floors", "units", "property_company", "steward_name", "steward_phone")


def _clean_building_facts(data: dict) -> dict:
    out = {}
    for field in ("floors", "units"):
        if data.get(field) not in (None, ""):
            try:
                out[field] = int(data[field])
            except (TypeError, ValueError) as exc:
                raise InvalidField(field, _("Give a whole number.")) from exc
            if not 0 < out[field] < 200:
                raise InvalidField(field, _("Give a number between 1 and 199."))
    if "property_company" in data:
        out["property_company"] = str(data["property_company"] or "").strip()[:100]
    if "steward_name" in data:
        out["steward_name"] = cleaning.clean_name(data["steward_name"], "steward_name") if data["steward_name"] else ""
    if "steward_phone" in data:
        out["steward_phone"] = cleaning.clean_phone(data["steward_phone"], "steward_phone")
    return out


@transaction.atomic
def save_building(actor, data: dict) -> Building:
    """Record a building (floors, units, property company, steward), making its address if new."""
    facts = _clean_building_facts(data)
    address, _created = resolve_address(actor, {**data, "unit": "", "floor": "", "room": ""})
    require(actor, Perm.REGISTRY_MANAGE, address.path)
    building = building_for(actor, address)
    if building is None:
        raise InvalidField("building", _("A building needs a building number or a door number."))
    changes = {f: (getattr(building, f), v) for f, v in facts.items() if getattr(building, f) != v}
    for field, (_old, new) in changes.items():
        setattr(building, field, new)
    building.save()
    if changes:
        log(actor, building, "update", changes)
    return building


@transaction.atomic
def set_responsible(actor, building: Building, worker) -> Building:
    """Name the one grid worker (or auxiliary officer) who answers for a building (包保)."""
    require(actor, Perm.REGISTRY_MANAGE, building.path)
    if worker is not None and not any(
        a.role in (Role.GRID_WORKER, Role.AUXILIARY) and building.path.startswith(a.path)
        for a in scope.assignments(worker)
    ):
        raise InvalidField(
            "responsible", _("%(name)s is not a grid worker of this building's grid.") % {"name": worker}
        )
    old = building.responsible
    building.responsible = worker
    building.save(update_fields=["responsible", "updated_at"])
    log(actor, building, "set_responsible", {"responsible": (old and str(old), worker and str(worker))})
    if worker is not None:
        notify(worker, _("You now answer for %(b)s") % {"b": building}, link=building.get_absolute_url())
    return building


# --- Collected records -----------------------------------------------------------------------------


@transaction.atomic
def collect_house(actor, data: dict, channel: str = Channel.FIELD) -> House:
    """Collect a house: its room-level address (made if new), use, owner, area and hazards."""
    address, _created = resolve_address(actor, data)
    if not address.room and not address.unit and not address.floor and not address.door_number:
        raise InvalidField("room", _("A house is a room-level address: give its room (or door number)."))
    require(actor, Perm.REGISTRY_COLLECT, address.path)
    if House.objects.filter(address=address).exists():
        raise Conflict(_("This house is registered already."))
    house = House(
        address=address,
        building=building_for(actor, address),
        grid=address.grid,
        path=address.path,
        use=cleaning.clean_house_use(data.get("use")),
        area_m2=cleaning.clean_area(data.get("area_m2")),
        hazards=str(data.get("hazards") or "").strip()[:300],
        owner=data.get("owner"),
    )
    stamp_collected(actor, house, channel)
    _save_new(house, _("This house is registered already."))
    log(actor, house, "collect", {"use": (None, house.use)})
    return house


def _identity_taken(fields: dict) -> Person | None:
    if fields.get("id_number"):
        return Person.objects.filter(id_number=fields["id_number"]).first()
    if fields.get("passport_number"):
        return Person.objects.filter(
            passport_number=fields["passport_number"], nationality=fields.get("nationality", "")
        ).first()
    return None


@transaction.atomic
def collect_person(actor, data: dict, *, place: str, grid=None, channel: str = Channel.FIELD) -> Person:
    """Collect a person where they were found (`place`: a grid's or community's path).

    A person is one record: an ID number (or passport) already registered is refused with 409.
    """
    require(actor, Perm.REGISTRY_COLLECT, place)
    fields = cleaning.clean_person(data)
    if _identity_taken(fields) is not None:
        raise Conflict(_("This person is registered already; record a move instead of a new person."))
    person = Person(path=place, grid=grid, **fields)
    stamp_collected(actor, person, channel)
    _save_new(person, _("This person is registered already."))
    log(actor, person, "collect", {"kind": (None, person.kind)})
    return person


CLEANERS = {
    "person": lambda data: cleaning.clean_person(data, partial=True),
    "organization": lambda data: cleaning.clean_organization(data, partial=True),
    "house": lambda data: {
        **({"use": cleaning.clean_house_use(data["use"])} if "use" in data else {}),
        **({"area_m2": cleaning.clean_area(data["area_m2"])} if "area_m2" in data else {}),
        **({"hazards": str(data["hazards"] or "").strip()[:300]} if "hazards" in data else {}),
    },
    "vehicle": lambda data: {k: str(data[k] or "").strip()[:60] for k in ("brand", "color") if k in data},
}


def apply_fields(record, fields: dict) -> dict:
    """Set the fields that differ; returns field -> (old, new)."""
    changes = {f: (getattr(record, f), v) for f, v in fields.items() if getattr(record, f) != v}
    for field, (_old, new) in changes.items():
        setattr(record, field, new)
    return changes


@transaction.atomic
def propose_change(actor, record, data: dict, note: str = ""):
    """Change a record. From a verifier the change applies at once; otherwise it waits in `pending`
    until verified (the record keeps its verified values meanwhile)."""
    require(actor, Perm.REGISTRY_COLLECT, record.path)
    if record_type(record) not in CLEANERS:
        raise ActionError(_("This record is changed through its own actions."))
    # Pending values are stored as JSON and cleaned again (back to dates, decimals) when verified.
    fields = CLEANERS[record_type(record)](data)
    unknown = set(data) - set(fields) - {"note"}
    if unknown:
        raise InvalidField(sorted(unknown)[0], _("This field cannot be changed here."))
    if "id_number" in fields and fields["id_number"] != getattr(record, "id_number", None):
        other = _identity_taken(fields)
        if other is not None and other.pk != record.pk:
            raise Conflict(_("Another person holds this ID number."))
    verifier = actor is None or scope.has_perm(actor, Perm.REGISTRY_VERIFY, record.path)
    if verifier or record.status == Status.PENDING:
        changes = apply_fields(record, fields)
        if not verifier:
            record.collected_by, record.collected_at = actor, timezone.now()
        record.save()
        log(actor, record, "change", changes, note)
        return record
    proposed = {f: plain(v) for f, v in fields.items() if getattr(record, f) != v}
    if not proposed:
        return record
    record.pending = {**record.pending, **proposed}
    record.collected_by, record.collected_at = actor, timezone.now()
    record.save(update_fields=["pending", "collected_by", "collected_at", "updated_at"])
    log(actor, record, "propose", {f: (plain(getattr(record, f)), v) for f, v in proposed.items()}, note)
    return record


@transaction.atomic
def verify(actor, record, note: str = ""):
    """Verify a collected record or its pending change (community officer)."""
    require(actor, Perm.REGISTRY_VERIFY, record.path)
    if not record.awaiting_verification:
        raise Conflict(_("Nothing here is waiting for verification."))
    changes = apply_fields(record, CLEANERS[record_type(record)](record.pending) if record.pending else {})
    if record.status == Status.PENDING and record_type(record) in ("residence", "person"):
        _verify_declared_parts(actor, record)
    record.pending = {}
    record.status = Status.VERIFIED
    record.verified_by, record.verified_at = actor, timezone.now()
    record.reject_reason = ""
    record.save()
    log(actor, record, "verify", changes, note)
    return record


def _verify_declared_parts(actor, record) -> None:
    """Verifying a residence verifies its still-pending person (one visit checks both)."""
    if record_type(record) == "residence" and record.person.status == Status.PENDING:
        person = record.person
        person.status, person.verified_by, person.verified_at = Status.VERIFIED, actor, timezone.now()
        person.save(update_fields=["status", "verified_by", "verified_at", "updated_at"])
        log(actor, person, "verify", note=_("with the residence"))


@transaction.atomic
def reject(actor, record, reason: str):
    """Reject a collected record or its pending change; the reason goes back to the collector."""
    require(actor, Perm.REGISTRY_VERIFY, record.path)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidField("reason", _("Say why the record is rejected, so the collector can put it right."))
    if not record.awaiting_verification:
        raise Conflict(_("Nothing here is waiting for verification."))
    discarded = dict(record.pending)
    if record.status == Status.PENDING:
        record.status = Status.REJECTED
    record.pending = {}
    record.reject_reason = reason[:300]
    record.save()
    log(actor, record, "reject", {f: (v, None) for f, v in discarded.items()}, reason)
    if record.collected_by_id and (actor is None or record.collected_by_id != actor.pk):
        notify(
            record.collected_by,
            _("Returned: %(record)s") % {"record": record},
            body=reason,
            link=record.get_absolute_url(),
        )
    return record


@transaction.atomic
def confirm_declaration(actor, residence: Residence) -> Residence:
    """The responsible worker takes a tenant's QR self-declaration into the collection (checked on the
    spot); it then waits for the officer's verification like any collected record."""
    require(actor, Perm.REGISTRY_COLLECT, residence.path)
    if residence.channel != Channel.SELF or residence.collected_by_id:
        raise Conflict(_("This declaration has been taken up already."))
    if residence.end is not None:
        raise Conflict(_("This tenant has moved out; the declaration is closed."))
    now = timezone.now()
    for record in (residence.person, residence):
        if record.channel == Channel.SELF and not record.collected_by_id:
            record.collected_by, record.collected_at = actor, now
            record.save(update_fields=["collected_by", "collected_at", "updated_at"])
            log(actor, record, "confirm")
    _follow_person(residence.person)
    return residence


# --- Residence: check in, check out ---------------------------------------------------------------


def _follow_person(person: Person) -> None:
    """A person's scope follows their latest open residence; not a self-declaration nobody has checked yet
    (anyone who knows an ID number could otherwise pull a person's record into another grid)."""
    open_ = person.residences.filter(end=None).exclude(channel=Channel.SELF, collected_by=None)
    latest = open_.order_by("-start", "-id").first()
    if latest is not None and (person.path, person.grid_id) != (latest.path, latest.grid_id):
        person.path, person.grid_id = latest.path, latest.grid_id
        person.save(update_fields=["path", "grid", "updated_at"])


@transaction.atomic
def check_in(
    actor,
    house: House,
    person: Person,
    *,
    start,
    relation: str,
    reason: str = "",
    channel: str = Channel.FIELD,
    contract_photo=None,
) -> Residence:
    """Register a person as living in a house from `start` (hotel-style check-in for tenants)."""
    require(actor, Perm.REGISTRY_COLLECT, house.path)
    start = cleaning.clean_date(start, "from", not_future=True)
    relation = cleaning.clean_relation(relation)
    if person.residences.filter(house=house, end=None).exists():
        raise Conflict(_("%(person)s already lives in this house.") % {"person": person.name})
    residence = Residence(
        person=person,
        house=house,
        relation=relation,
        start=start,
        reason=str(reason or "").strip()[:120],
        registration_due=Residence.due_for(relation, start, foreign=person.kind == PersonKind.FOREIGN),
        path=house.path,
        grid=house.grid,
    )
    if contract_photo is not None:
        residence.contract_photo = contract_photo
    stamp_collected(actor, residence, channel)
    _save_new(residence, _("%(person)s already lives in this house.") % {"person": person.name})
    log(actor, residence, "check_in", {"start": (None, start), "relation": (None, relation)})
    _follow_person(person)
    if relation == Relation.TENANT and house.use in (HouseUse.VACANT, HouseUse.UNKNOWN):
        old = house.use
        house.use = HouseUse.RENTED
        house.save(update_fields=["use", "updated_at"])
        log(actor, house, "change", {"use": (old, house.use)}, _("a tenant checked in"))
    if channel == Channel.SELF and house.building and house.building.responsible:
        notify(
            house.building.responsible,
            _("Self-declaration to check: %(house)s") % {"house": house},
            link=reverse("registry_queue"),
            key=f"declaration:{residence.pk}",
        )
    return residence


@transaction.atomic
def check_out(actor, residence: Residence, *, end, reason: str = "") -> Residence:
    """Retire a residence (核销): the person moved out on `end`; the row and its history stay."""
    require(actor, Perm.REGISTRY_COLLECT, residence.path)
    if residence.end is not None:
        raise Conflict(_("This residence was retired on %(day)s.") % {"day": residence.end})
    end = cleaning.clean_date(end, "to", not_future=True)
    if end < residence.start:
        raise InvalidField("to", _("Moving out cannot come before moving in (%(day)s).") % {"day": residence.start})
    residence.end, residence.end_reason = end, str(reason or "").strip()[:120]
    residence.save(update_fields=["end", "end_reason", "updated_at"])
    log(actor, residence, "check_out", {"end": (None, end)}, reason)
    _follow_person(residence.person)
    return residence


# --- Organizations and vehicles -------------------------------------------------------------------


@transaction.atomic
def collect_organization(actor, data: dict, address: Address, channel: str = Channel.FIELD) -> Organization:
    """Collect an organization at a standard address; a credit code already registered is refused."""
    require(actor, Perm.REGISTRY_COLLECT, address.path)
    fields = cleaning.clean_organization(data)
    if fields.get("uscc") and Organization.objects.filter(uscc=fields["uscc"]).exists():
        raise Conflict(_("An organization with this credit code is registered already."))
    org = Organization(address=address, path=address.path, grid=address.grid, **fields)
    stamp_collected(actor, org, channel)
    _save_new(org, _("An organization with this credit code is registered already."))
    log(actor, org, "collect", {"name": (None, org.name)})
    return org


@transaction.atomic
def collect_vehicle(
    actor, data: dict, *, owner: Person | None = None, organization: Organization | None = None, channel=Channel.FIELD
) -> Vehicle:
    """Collect a vehicle with its owner (a person or an organization); scoped where the owner is."""
    if (owner is None) == (organization is None):
        raise InvalidField("owner", _("A vehicle has one owner: a person or an organization."))
    holder = owner or organization
    require(actor, Perm.REGISTRY_COLLECT, holder.path)
    plate, kind = cleaning.clean_plate(data.get("plate"), data.get("kind"))
    if Vehicle.objects.filter(plate=plate).exists():
        raise Conflict(_("The plate %(plate)s is registered already.") % {"plate": plate})
    vehicle = Vehicle(
        plate=plate,
        kind=kind,
        owner=owner,
        organization=organization,
        path=holder.path,
        grid=holder.grid,
        brand=str(data.get("brand") or "").strip()[:60],
        color=str(data.get("color") or "").strip()[:20],
    )
    stamp_collected(actor, vehicle, channel)
    _save_new(vehicle, _("The plate %(plate)s is registered already.") % {"plate": plate})
    log(actor, vehicle, "collect", {"plate": (None, plate)})
    return vehicle


# --- Reading a person ------------------------------------------------------------------------------


def open_person(actor, person: Person, *, unmask: bool = False, reason: str = "") -> bool:
    """Audit opening a person's detail; with `unmask`, check the permission and the reason first.

    Returns whether the full ID number and phone may be shown.
    """
    if unmask:
        require(actor, Perm.REGISTRY_UNMASK, person.path)
        reason = (reason or "").strip()
        if len(reason) < 2:
            raise InvalidField("reason", _("Say why you need the full ID number and phone."))
    audit.record(
        "person.unmask" if unmask else "person.view", user=actor, username="cli", obj=person, purpose=reason[:200]
    )
    return unmask


__all__ = [
    "ActionError",
    "PersonKind",
    "building_for",
    "check_in",
    "check_out",
    "collect_house",
    "collect_organization",
    "collect_person",
    "collect_vehicle",
    "confirm_declaration",
    "create_address",
    "log",
    "open_person",
    "place_of",
    "propose_change",
    "reject",
    "require",
    "resolve_address",
    "save_building",
    "set_responsible",
    "verify",
]
