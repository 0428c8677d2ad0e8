"""Every read of the registry, cut to the reader's scope, and the masking of what is shown.

Masking (DESIGN rule 4): ID numbers and phones are always masked unless unmasked with a reason
(`actions.open_person`); names are shown in full only to those who collect or verify records there
(they meet the people), masked (张*) to everyone else.
"""

import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from anju.core import masking, scope
from anju.core.roles import Perm
from anju.core.validators import parse_id_number
from anju.geo.models import Division
from anju.registry import address_parser
from anju.registry.cleaning import clean_address_part
from anju.registry.models import (
    Address,
    Building,
    House,
    HouseUse,
    Organization,
    OrganizationKind,
    Person,
    PersonKind,
    Relation,
    Residence,
    Revision,
    Status,
    Vehicle,
    VehicleKind,
    record_type,
)


def _viewable(user, model):
    if not scope.has_perm(user, Perm.REGISTRY_VIEW):
        raise Http404
    return model.objects.restrict(user)


def people(user):
    return _viewable(user, Person)


def houses(user):
    return _viewable(user, House).select_related("address", "building")


def buildings(user):
    return _viewable(user, Building).select_related("address", "responsible")


def addresses(user):
    return _viewable(user, Address)


def residences(user):
    return _viewable(user, Residence).select_related("person", "house__address")


def organizations(user):
    return _viewable(user, Organization).select_related("address")


def vehicles(user):
    return _viewable(user, Vehicle).select_related("owner", "organization")


def _one(queryset, pk):
    try:
        obj = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise Http404
    return obj


def get_person(user, pk) -> Person:
    return _one(people(user), pk)


def get_house(user, pk) -> House:
    return _one(houses(user), pk)


def get_building(user, pk) -> Building:
    return _one(buildings(user), pk)


def get_address(user, pk) -> Address:
    return _one(addresses(user), pk)


def get_residence(user, pk) -> Residence:
    return _one(residences(user), pk)


def get_organization(user, pk) -> Organization:
    return _one(organizations(user), pk)


def get_vehicle(user, pk) -> Vehicle:
    return _one(vehicles(user), pk)


# --- Masking ---------------------------------------------------------------------------------------


def sees_names(user, path: str) -> bool:
    """Collectors and verifiers meet the people of their place and see their names in full."""
    return scope.has_perm(user, Perm.REGISTRY_COLLECT, path) or scope.has_perm(user, Perm.REGISTRY_VERIFY, path)


def shown_name(user, record, name: str | None = None) -> str:
    name = record.name if name is None else name
    return name if sees_names(user, record.path) else masking.mask_name(name)


def person_fields(user, person: Person, *, unmasked: bool = False) -> dict:
    """What a reader sees of a person: masked unless `unmasked` (granted by `actions.open_person`)."""
    return {
        "id": person.pk,
        "name": person.name if unmasked else shown_name(user, person),
        "id_number": (person.id_number or "") if unmasked else masking.mask_id_number(person.id_number or ""),
        "passport_number": person.passport_number if unmasked else masking.mask_id_number(person.passport_number or ""),
        "nationality": person.nationality,
        "sex": person.sex,
        "birth_year": person.birth_date.year,
        "birth_date": person.birth_date.isoformat() if unmasked else None,
        "ethnicity": person.ethnicity,
        "phone": person.phone if unmasked else masking.mask_phone(person.phone),
        "hukou_place": person.hukou_place,
        "kind": person.kind,
        "residence_permit": person.residence_permit if unmasked else masking.mask_id_number(person.residence_permit),
        "residence_permit_until": person.residence_permit_until,
        "status": person.status,
        "pending": sorted(person.pending),
        "reject_reason": person.reject_reason,
        "grid": person.grid.code if person.grid_id else None,
        "masked": not unmasked,
    }


# --- Search ----------------------------------------------------------------------------------------

_ID_RE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_PHONE_RE = re.compile(r"^1\d{10}$")
_PLATE_RE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")
_NAME_RE = re.compile(r"^[\u3400-\u9fff·]{1,10}$")


def classify_query(text: str) -> str:
    """What a search box text is: "id_number", "phone", "plate", "name" or "address"."""
    q = re.sub(r"\s+", "", text).upper()
    if _ID_RE.match(q):
        return "id_number"
    if _PHONE_RE.match(q):
        return "phone"
    if _PLATE_RE.match(q):
        return "plate"
    if _NAME_RE.match(q) and not re.search(r"[路街巷号楼栋单元室区院]", q[1:]):
        return "name"
    return "address"


def search_people(user, text: str, limit: int = 50) -> tuple[str, list[Person]]:
    """(what was searched, people in scope): by ID number, phone, name or address text."""
    q = re.sub(r"\s+", "", text).upper()
    kind = classify_query(text)
    base = people(user).select_related("grid")
    if kind == "id_number":
        try:
            q = parse_id_number(q).number
        except ValidationError:  # a malformed number finds nobody
            return kind, []
        found = base.filter(id_number=q)
    elif kind == "phone":
        found = base.filter(phone=q)
    elif kind == "plate":
        owners = vehicles(user).filter(plate=q).values("owner_id")
        found = base.filter(pk__in=owners)
    elif kind == "name":
        found = base.filter(Q(name=q) | Q(name__startswith=q)) if len(q) > 1 else base.filter(name=q)
    else:
        # The best-matching houses only: a room asked for is that room, not its whole building.
        matches = [(a, score) for a, score in match_addresses(user, text, limit=50) if hasattr(a, "house")]
        best = matches[0][1] if matches else 0
        house_ids = [a.house.pk for a, score in matches if score >= best - 0.01]
        found = base.filter(residences__house_id__in=house_ids, residences__end=None).distinct()
    return kind, list(found.order_by("name", "id")[:limit])


def search_vehicles(user, plate: str) -> list[Vehicle]:
    return list(vehicles(user).filter(plate=re.sub(r"\s+", "", plate).upper())[:20])


def match_addresses(user, text: str, limit: int = 10, parsed=None, base=None) -> list[tuple[Address, float]]:
    """Standard addresses in scope that the free text may mean, best first, with their scores.

    `base` replaces the user's scope, for places that are not personal data (where a problem was seen)."""
    parsed = parsed or address_parser.parse(text)
    base = addresses(user) if base is None else base
    road, estate = parsed.road, parsed.estate
    if not (road or estate):
        return []
    q = Q()
    if road:
        q |= Q(road=road)
    if estate:
        q |= Q(estate=estate) | Q(estate__startswith=estate[:2])
    narrow = {}
    for name in ("door_number", "building"):
        value = getattr(parsed, name)
        if value:
            narrow[name] = clean_address_part(name, value)
    candidates = base.filter(q).select_related("house")
    if narrow.get("building"):
        candidates = candidates.filter(building=narrow["building"])
    elif narrow.get("door_number"):
        candidates = candidates.filter(door_number=narrow["door_number"])
    candidates = list(candidates[:2000])
    names = _division_names({code for a in candidates for code in a.path.strip("/").split("/")})
    scored = []
    for a in candidates:
        levels = dict(zip(address_parser.LEVELS, (names.get(c) for c in a.path.strip("/").split("/")), strict=False))
        scored.append((a, address_parser.score(parsed, {**levels, **a.as_fields()})))
    scored = [(a, s) for a, s in scored if s > 0]
    scored.sort(key=lambda pair: (-pair[1], len(pair[0].key)))
    return scored[:limit]


def _division_names(codes: set[str]) -> dict[str, str]:
    """Division names as the address parser writes them (贮水山社区, not 贮水山社区居民委员会)."""
    rows = Division.objects.filter(code__in=codes).values_list("code", "name")
    return {code: _COMMITTEE.sub("", name) or name for code, name in rows}


_COMMITTEE = re.compile(r"(?:居民委员会|居委会|村民委员会|村委会)$")


# --- Lists -----------------------------------------------------------------------------------------


def overdue_rentals(user, under: str | None = None):
    """Tenants past their registration deadline, not yet verified, oldest first."""
    qs = (
        residences(user)
        .filter(end=None, status=Status.PENDING, registration_due__lt=timezone.localdate())
        .select_related("house__building__responsible", "grid")
    )
    if under:
        qs = qs.filter(path__startswith=under)
    return qs.order_by("registration_due", "id")


QUEUE_LIMIT = 200


def queue(user, under: str | None = None) -> dict:
    """Records waiting for the reader: declarations to take up (collectors), records to verify (verifiers)."""
    out = {"declarations": [], "to_verify": {}}
    if not scope.has_perm(user, Perm.REGISTRY_VIEW):
        raise Http404
    waiting = Q(status=Status.PENDING) | ~Q(pending={})
    limit = QUEUE_LIMIT
    for kind, model in (
        ("person", Person),
        ("house", House),
        ("residence", Residence),
        ("organization", Organization),
        ("vehicle", Vehicle),
    ):
        qs = model.objects.restrict(user).filter(waiting)
        if under:
            qs = qs.filter(path__startswith=under)
        if kind == "residence":
            declared = qs.filter(channel="self", collected_by=None, end=None).select_related("person", "house__address")
            if scope.has_perm(user, Perm.REGISTRY_COLLECT):
                out["declarations"] = list(declared.order_by("registration_due", "created_at")[:limit])
            qs = qs.exclude(channel="self", collected_by=None)
        if scope.has_perm(user, Perm.REGISTRY_VERIFY):
            records = list(qs.order_by("updated_at")[:limit])
            for record in records:
                record.shown_pending = shown_pending(user, record)
            if records:
                out["to_verify"][kind] = records
    return out


def current_residents(house: House):
    return house.residences.filter(end=None).select_related("person").order_by("start")


# Fields whose values are masked wherever they are listed (history, pending changes).
MASKED_FIELDS = {
    "phone": masking.mask_phone,
    "steward_phone": masking.mask_phone,
    "id_number": masking.mask_id_number,
    "passport_number": masking.mask_id_number,
    "residence_permit": masking.mask_id_number,
    "birth_date": lambda value: str(value)[:4],
}


# Fields holding a person's name, per kind of record (an organization's own name is not personal).
PERSON_NAMES = {"person": ("name",), "organization": ("legal_representative",)}
# Coded values shown by their label in a list of changes.
CHOICE_LABELS = {
    "use": dict(HouseUse.choices),
    "relation": dict(Relation.choices),
    "kind": {**dict(PersonKind.choices), **dict(OrganizationKind.choices), **dict(VehicleKind.choices)},
    "status": dict(Status.choices),
}


def shown_value(user, record, field: str, value):
    """A value as this reader may see it in a list of changes."""
    if value in (None, ""):
        return value
    if field in MASKED_FIELDS:
        return MASKED_FIELDS[field](str(value))
    if field in PERSON_NAMES.get(record_type(record), ()) and not sees_names(user, record.path):
        return masking.mask_name(str(value))
    choices = CHOICE_LABELS.get(field)
    return choices.get(value, value) if choices else value


def shown_pending(user, record) -> dict:
    """A record's pending change, masked for the reader."""
    return {field: shown_value(user, record, field, value) for field, value in record.pending.items()}


def history(user, record, *related) -> list[Revision]:
    """The revisions of a record and of `related` ones (a person's residences...), newest first, each with
    `shown` = field -> (old, new) masked for the reader and `record_type` telling whose it is."""
    by_type: dict[str, list[int]] = {}
    for r in (record, *related):
        by_type.setdefault(record_type(r), []).append(r.pk)
    q = Q()
    for kind, ids in by_type.items():
        q |= Q(record_type=kind, record_id__in=ids)
    revisions = list(Revision.objects.filter(q).select_related("user")[:500])
    for rev in revisions:
        rev.shown = {
            field: [shown_value(user, record, field, old), shown_value(user, record, field, new)]
            for field, (old, new) in rev.changes.items()
        }
    return revisions
