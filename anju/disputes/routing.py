"""Where a dispute is mediated: its grade gives its level, its place gives the room, and the expert
pool is matched by the dispute's kind against each expert's specialty and load."""

from django.db.models import Count, Q

from anju.core import scope
from anju.core.models import Assignment
from anju.core.roles import PERMISSIONS, Perm, Role
from anju.disputes.models import (
    ACTIVE_STATES,
    GRADES,
    LEAD_KINDS,
    LEVELS,
    Dispute,
    Flag,
    Grade,
    Level,
    MediationRoom,
    Mediator,
    MediatorKind,
    RoomKind,
)

GRADE_LEVEL = {Grade.ORDINARY: Level.ROOM, Grade.DIFFICULT: Level.EXPERT, Grade.MAJOR: Level.JOINT}
# The rooms that serve each level, nearest kind first.
LEVEL_ROOMS = {
    Level.ON_SPOT: (),
    Level.ROOM: (RoomKind.COMPOUND, RoomKind.COMMUNITY, RoomKind.STATION),
    Level.EXPERT: (RoomKind.STATION, RoomKind.STREET),
    Level.JOINT: (RoomKind.STREET,),
}
# The mediator an officer or a room's worker becomes when they take a dispute themselves.
ROLE_MEDIATOR_KIND = {Role.OFFICER: MediatorKind.POLICE, Role.STATION_CHIEF: MediatorKind.POLICE}


def covering(path: str) -> list[str]:
    """The path and those of the nodes above it: whatever serves a place is held on one of them."""
    return [*scope.ancestors(path), path]


def minimum_grade(flags) -> str:
    """The least grade the risk flags allow: weapons, or threats with prior violence, make a dispute
    major; any other flag makes it difficult."""
    flags = set(flags)
    if Flag.WEAPONS in flags or {Flag.THREATS, Flag.PRIOR_VIOLENCE} <= flags:
        return Grade.MAJOR
    return Grade.DIFFICULT if flags else Grade.ORDINARY


def graver(a: str, b: str) -> str:
    return GRADES[max(GRADES.index(a), GRADES.index(b))]


def start_level(grade: str, on_spot: bool) -> str:
    """Ordinary disputes an officer settles at the scene stay on the spot; the rest go by grade."""
    if grade == Grade.ORDINARY and on_spot:
        return Level.ON_SPOT
    return GRADE_LEVEL[grade]


def level_above(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def room_for(dispute: Dispute, level: str) -> MediationRoom | None:
    """The active room of the level nearest the dispute's place (deepest path, then kind order)."""
    kinds = LEVEL_ROOMS[level]
    if not kinds:
        return None
    prefixes = covering(dispute.path)
    rooms = list(MediationRoom.objects.filter(active=True, kind__in=kinds, path__in=prefixes))
    rooms.sort(key=lambda r: (-len(r.path), kinds.index(r.kind), r.pk))
    return rooms[0] if rooms else None


def with_load(mediators):
    """Annotate each mediator with `load`: the disputes they lead that are still someone's work."""
    return mediators.annotate(load=Count("led_disputes", filter=Q(led_disputes__state__in=list(ACTIVE_STATES))))


def candidates(dispute: Dispute, level: str, room: MediationRoom | None):
    """Mediators who may lead the dispute at `level` (the pool's above its place for the expert level, the
    room's elsewhere), best first: those below their capacity, then those whose specialty is the dispute's
    kind, then the least loaded relative to capacity."""
    base = Mediator.objects.filter(active=True, kind__in=LEAD_KINDS[dispute.mediation_type]).exclude(user=None)
    if level == Level.EXPERT:
        prefixes = covering(dispute.path)
        base = base.filter(in_pool=True, path__in=prefixes)
    elif room is not None:
        base = base.filter(room=room)
    else:
        return []
    people = list(with_load(base))
    people.sort(
        key=lambda m: (
            m.load >= m.capacity,
            dispute.kind not in (m.specialties or []),
            m.load / max(m.capacity, 1),
            m.pk,
        )
    )
    return people


def mediator_for(user) -> Mediator:
    """The user's own mediator record, made on first need (an officer settling a dispute at the scene)."""
    existing = Mediator.objects.filter(user=user).first()
    if existing is not None:
        return existing
    held = scope.assignments(user)
    working = [a for a in held if Perm.DISPUTES_MEDIATE in PERMISSIONS.get(a.role, ())] or held
    first = working[0]
    from anju.geo.models import Division, Grid

    grid = Grid.objects.filter(code=first.node_code).select_related("community").first()
    division = grid.community if grid else Division.objects.get(code=first.node_code)
    return Mediator.objects.create(
        user=user,
        name=user.full_name or user.username,
        phone=user.phone,
        kind=ROLE_MEDIATOR_KIND.get(first.role, MediatorKind.PEOPLES),
        division=division,
        path=division.path,
    )


def alert_people(dispute: Dispute) -> list:
    """Who hears at once of a major or red-flagged dispute: the station chiefs and the street's admins
    over its place."""
    prefixes = covering(dispute.path)
    held = Assignment.objects.filter(
        role__in=[Role.STATION_CHIEF, Role.STREET_ADMIN], path__in=prefixes, user__is_active=True
    ).select_related("user")
    return list({a.user_id: a.user for a in held}.values())


def managers(dispute: Dispute) -> list:
    """Holders of disputes.manage over the dispute's place."""
    prefixes = covering(dispute.path)
    roles = [r for r, perms in PERMISSIONS.items() if Perm.DISPUTES_MANAGE in perms]
    held = Assignment.objects.filter(role__in=roles, path__in=prefixes, user__is_active=True).select_related("user")
    return list({a.user_id: a.user for a in held}.values())
