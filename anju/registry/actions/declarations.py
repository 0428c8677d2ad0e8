"""A tenant's QR self-declaration (hotel-style rental): the one write made without a signed-in user.

Scanning the code on a house or building opens a public form; what it sends lands here. The input is
untrusted: it may add a pending person and a pending residence, never change a registered person, and
everything it makes waits for the responsible grid worker to take it up (`records.confirm_declaration`).
"""

import re
import unicodedata
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit, masking, scope
from anju.core.errors import Conflict, InvalidField
from anju.core.models import Assignment
from anju.core.notify import notify
from anju.core.roles import Role
from anju.core.uploads import clean_photo
from anju.registry import cleaning
from anju.registry.actions import records
from anju.registry.models import (
    Building,
    Channel,
    House,
    Person,
    PersonKind,
    Relation,
    Residence,
    Revision,
)

# Older move-ins are not a 3-day registration any more: the worker records them in the field.
MAX_DAYS_BACK = 365
# Public actions have no user; audit rows and revisions name the channel instead of "cli".
PUBLIC_USERNAME = "public"

_ROOM_RE = re.compile(r"^(?:(?P<unit>[0-9一二三四五六七八九十]+)(?:单元|-|/|门))?(?P<room>[0-9A-Z]+)(?:室|户|房|号)?$")


class AlreadyDeclared(Conflict):
    """This person already has an open residence in this house; `residence` is that one."""

    def __init__(self, residence: Residence):
        super().__init__(_("Your declaration for this address has been received already."))
        self.residence = residence


def target(token: str) -> House | Building:
    """The house or building whose QR code carries `token` (404 for an unknown one)."""
    token = str(token or "")
    house = House.objects.select_related("address", "building__responsible").filter(qr_token=token).first()
    if house is not None:
        return house
    building = Building.objects.select_related("address").filter(qr_token=token).first()
    if building is None:
        raise Http404
    return building


def room_label(house: House) -> str:
    """A house as its building's tenants name it: 2单元502室 (the unit and room part of the address)."""
    a = house.address
    inside = (f"{a.unit}单元" if a.unit else "") + (f"{a.room}室" if a.room else (f"{a.floor}层" if a.floor else ""))
    return inside or a.label


def rooms(building: Building) -> list[House]:
    """The houses of a building a tenant may pick from, in address order."""
    return list(building.houses.select_related("address", "building__responsible").order_by("address__key"))


def find_room(building: Building, text) -> House:
    """The house of `building` a tenant means by `text`: a listed label (2单元502室), 2-502, or 502."""
    typed = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).upper()
    if not typed:
        raise InvalidField("room", _("Choose or type your room number."))
    houses = rooms(building)
    for house in houses:
        if room_label(house).upper() == typed:
            return house
    match = _ROOM_RE.match(typed)
    if match is None:
        raise InvalidField("room", _("Type the room number as on your door, e.g. 502 or 2-502."))
    room = cleaning.clean_address_part("room", match["room"])
    unit = cleaning.clean_address_part("unit", match["unit"]) if match["unit"] else None
    found = [h for h in houses if h.address.room == room and (unit is None or h.address.unit == unit)]
    if not found:
        raise InvalidField(
            "room",
            _("Room %(room)s of this building is not on record. Check the number, or ask your grid worker.")
            % {"room": typed},
        )
    if len(found) > 1:
        raise InvalidField(
            "room", _("Several units have a room %(room)s: give the unit too, e.g. 2-%(room)s.") % {"room": room}
        )
    return found[0]


def clean_start(value):
    """The move-in date: today or earlier, and not more than a year back."""
    start = cleaning.clean_date(value, "start", not_future=True)
    if start < timezone.localdate() - timedelta(days=MAX_DAYS_BACK):
        raise InvalidField(
            "start", _("A move-in date more than a year back cannot be declared here; ask your grid worker.")
        )
    return start


def identity_of(data: dict) -> dict:
    """The identity fields of a declaration: the ID number, else the passport number and nationality."""
    if data.get("id_number"):
        return {"id_number": data["id_number"]}
    # A passport number says nothing of its holder: sex and birth date are declared too.
    return {key: data.get(key) or "" for key in ("passport_number", "nationality", "sex", "birth_date")}


def _person_for(fields: dict, house: House) -> tuple[Person, bool, list[str]]:
    """(person, new, what the declaration says differently): the registered person, else a new pending one."""
    if fields.get("id_number"):
        person = Person.objects.filter(id_number=fields["id_number"]).first()
    else:
        person = Person.objects.filter(
            passport_number=fields["passport_number"], nationality=fields["nationality"]
        ).first()
    if person is None:
        person = records.collect_person(None, fields, place=house.path, grid=house.grid, channel=Channel.SELF)
        return person, True, []
    # Public input never overwrites a registered person: anyone who knows an ID number could send it.
    differs = []
    if fields["name"] != person.name:
        differs.append(_("name %(name)s") % {"name": masking.mask_name(fields["name"])})
    if fields["phone"] != person.phone:
        differs.append(_("phone %(phone)s") % {"phone": masking.mask_phone(fields["phone"])})
    return person, False, differs


def _notify_grid_workers(house: House, residence: Residence) -> None:
    """Without a responsible worker, the grid's workers hear of the declaration (check_in tells the
    responsible one)."""
    covering = [*scope.ancestors(house.path), house.path]
    workers = {
        a.user
        for a in Assignment.objects.select_related("user").filter(
            role__in=(Role.GRID_WORKER, Role.AUXILIARY), path__in=covering, user__is_active=True
        )
    }
    for worker in workers:
        notify(
            worker,
            _("Self-declaration to check: %(house)s") % {"house": house},
            link=reverse("registry_queue"),
            key=f"declaration:{residence.pk}",
        )


@transaction.atomic
def declare(token: str, data: dict, contract_photo=None) -> Residence:
    """Record a tenant's self-declaration made by scanning the QR code carrying `token`.

    `data`: name, id_number, phone, start (move-in date) and, for a building's code, room. Makes a
    pending person (unless the ID number is registered: that person is left as is, and what the
    declaration says differently goes into the residence's history, masked) and a pending tenant
    residence, channel "self", due RENTAL_REGISTRATION_DAYS after moving in. Raises InvalidField
    for bad input, AlreadyDeclared when this person already lives in this house, Http404 for an
    unknown token.
    """
    place = target(token)
    house = find_room(place, data.get("room")) if isinstance(place, Building) else place
    identity = identity_of(data)
    foreign = "id_number" not in identity
    person_data = {
        "name": data.get("name"),
        "phone": cleaning.clean_phone(data.get("phone"), required=True),
        "kind": PersonKind.FOREIGN if foreign else PersonKind.FLOATING,
        **identity,
    }
    fields = cleaning.clean_person(person_data)
    start = clean_start(data.get("start"))
    photo = clean_photo(contract_photo, "contract_photo")
    person, new, differs = _person_for(fields, house)
    existing = person.residences.filter(house=house, end=None).first()
    if existing is not None:
        raise AlreadyDeclared(existing)
    residence = records.check_in(
        None, house, person, start=start, relation=Relation.TENANT, channel=Channel.SELF, contract_photo=photo
    )
    note = _("QR self-declaration")
    if differs:
        note += "; " + _("the registered person was kept; declared: %(what)s") % {"what": ", ".join(differs)}
    Revision.objects.create(
        record_type="residence", record_id=residence.pk, username=PUBLIC_USERNAME, action="declare", note=note[:300]
    )
    audit.record(
        "residence.declare",
        username=PUBLIC_USERNAME,
        obj=residence,
        detail={
            "house": house.pk,
            "via": "building" if isinstance(place, Building) else "house",
            "person": "new" if new else "registered",
            "differs": len(differs),
            "photo": photo is not None,
        },
    )
    if not (house.building and house.building.responsible):
        _notify_grid_workers(house, residence)
    return residence


def reference(residence: Residence) -> str:
    """The number a tenant quotes to the grid worker; the residence's id, so staff find it at once."""
    return f"D{residence.pk:07d}"
