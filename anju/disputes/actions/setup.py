"""Set-up of mediation: rooms and mediators (with the expert pool), by holders of disputes.manage."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.errors import InvalidField
from anju.core.models import User
from anju.core.roles import Perm
from anju.disputes.actions.intake import clean_int
from anju.disputes.models import Kind, MediationRoom, Mediator, MediatorKind, RoomKind
from anju.geo.models import Division
from anju.registry import cleaning


def _division(actor, code, field: str = "division") -> Division:
    division = Division.objects.filter(code=str(code or "").strip()).first()
    if division is None:
        raise InvalidField(field, _("No such division."))
    if actor is not None and not scope.has_perm(actor, Perm.DISPUTES_MANAGE, division.path):
        raise PermissionDenied
    return division


def save_room(actor, data: dict, room: MediationRoom | None = None) -> MediationRoom:
    """Open or edit a mediation room in a division the actor manages."""
    room = room or MediationRoom()
    if room.pk and actor is not None and not scope.has_perm(actor, Perm.DISPUTES_MANAGE, room.path):
        raise PermissionDenied
    name = str(data.get("name") or "").strip()[:100]
    if not name:
        raise InvalidField("name", _("Give the room a name."))
    kind = str(data.get("kind") or "")
    if kind not in RoomKind.values:
        raise InvalidField("kind", _("Choose one of the listed values."))
    division = _division(actor, data.get("division"))
    room.name, room.kind, room.division, room.path = name, kind, division, division.path
    room.address = str(data.get("address") or "").strip()[:200]
    room.phone = cleaning.clean_phone(data.get("phone"), "phone")
    room.active = bool(data.get("active", True))
    with transaction.atomic():
        room.save()
        audit.record("mediation_room.save", user=actor, username="cli", obj=room, detail={"name": name, "kind": kind})
    return room


def save_mediator(actor, data: dict, mediator: Mediator | None = None) -> Mediator:
    """Add or edit a mediator: kind, specialties, room, pool membership, capacity, account."""
    mediator = mediator or Mediator()
    if mediator.pk and actor is not None and not scope.has_perm(actor, Perm.DISPUTES_MANAGE, mediator.path):
        raise PermissionDenied
    name = str(data.get("name") or "").strip()[:64]
    if not name:
        raise InvalidField("name", _("Give the mediator's name."))
    kind = str(data.get("kind") or "")
    if kind not in MediatorKind.values:
        raise InvalidField("kind", _("Choose one of the listed values."))
    specialties = [str(s) for s in data.get("specialties") or []]
    for s in specialties:
        if s not in Kind.values:
            raise InvalidField("specialties", _("Unknown dispute kind: %(kind)s.") % {"kind": s})
    division = _division(actor, data.get("division"))
    room = None
    if data.get("room") not in (None, ""):
        room = MediationRoom.objects.filter(pk=clean_int(data.get("room"), "room")).first()
        if room is None or not room.path.startswith(division.path) and not division.path.startswith(room.path):
            raise InvalidField("room", _("No such room in the mediator's area."))
    user = None
    if data.get("username"):
        user = User.objects.filter(username=str(data["username"]).strip()).first()
        if user is None:
            raise InvalidField("username", _("No such account."))
        if Mediator.objects.filter(user=user).exclude(pk=mediator.pk).exists():
            raise InvalidField("username", _("This account is already another mediator's."))
    capacity = clean_int(data.get("capacity", 8), "capacity")
    if not 1 <= capacity <= 100:
        raise InvalidField("capacity", _("Between 1 and 100 open disputes."))
    mediator.name, mediator.kind, mediator.specialties = name, kind, specialties
    mediator.division, mediator.path, mediator.room, mediator.user = division, division.path, room, user
    mediator.phone = cleaning.clean_phone(data.get("phone"), "phone")
    mediator.organization = str(data.get("organization") or "").strip()[:100]
    mediator.in_pool = bool(data.get("in_pool"))
    mediator.capacity = capacity
    mediator.active = bool(data.get("active", True))
    with transaction.atomic():
        mediator.save()
        audit.record(
            "mediator.save",
            user=actor,
            username="cli",
            obj=mediator,
            detail={"name": name, "kind": kind, "in_pool": mediator.in_pool, "specialties": specialties},
        )
    return mediator
