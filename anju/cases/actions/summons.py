"""吹哨报到: the community or street summons departments onto a case; each reports in, then acts."""

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases.actions.lifecycle import DESK, is_unit_member, record_event, require, tell_desk, unit_people
from anju.cases.models import FINAL_STATES, Case, Summons, SummonsState, Unit, UnitKind
from anju.core import workcalendar
from anju.core.errors import Conflict, InvalidField
from anju.core.notify import notify

# A summoned department reports in within this much working time unless the summons says otherwise.
REPORT_IN_LIMIT = "2h"


def summon(actor, case: Case, units: list, note: str = "", within: str = REPORT_IN_LIMIT, now=None) -> list[Summons]:
    """Call one or more departments onto an open case; returns the new summonses."""
    require(actor, case, DESK)
    codes = [str(u.code if isinstance(u, Unit) else u).strip() for u in units or []]
    if not codes:
        raise InvalidField("units", _("Name at least one department."))
    # The departments of the case's own district.
    departments = Unit.objects.filter(
        code__in=codes, kind=UnitKind.DEPARTMENT, active=True, path__startswith=case.district.path
    )
    found = {u.code: u for u in departments}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidField("units", _("No such department: %(codes)s") % {"codes": ", ".join(missing)})
    try:
        minutes = workcalendar.parse_limit(within)
        if minutes <= 0:
            raise ValueError(within)
    except ValueError:
        raise InvalidField("within", _("Give the time as working hours or days, e.g. 2h or 1d.")) from None
    now = now or timezone.now()
    due = workcalendar.add_working(now, minutes)
    made = []
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.state in FINAL_STATES:
            raise Conflict(_("A closed or rejected case cannot summon anyone."))
        busy = set(case.summonses.exclude(state=SummonsState.DONE).values_list("unit__code", flat=True))
        if busy & set(codes):
            raise Conflict(_("That department is already summoned on this case."))
        for code in dict.fromkeys(codes):
            made.append(
                Summons.objects.create(
                    case=case, unit=found[code], summoned_by=actor, summoned_at=now, due_at=due, note=note
                )
            )
        record_event(
            case,
            actor,
            "summon",
            case.state,
            note,
            {"units": list(dict.fromkeys(codes)), "due_at": due.isoformat()},
            now=now,
        )
    for s in made:
        for user in unit_people(s.unit):
            notify(
                user,
                _("Summoned to case %(number)s: report in by %(due)s")
                % {"number": case.number, "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")},
                note or case.description[:200],
                case.get_absolute_url(),
            )
    return made


def _own(actor, summons: Summons) -> None:
    if actor is None:
        return
    if is_unit_member(actor, summons.unit):
        return
    require(actor, summons.case, DESK)


def get_summons(case: Case, summons_id) -> Summons:
    """One summons of a case (the case was read through the caller's scope), or 404."""
    summons = Summons.objects.select_related("unit", "case").filter(case=case, pk=summons_id).first()
    if summons is None:
        raise Http404
    return summons


def report_in(actor, summons: Summons, note: str = "", now=None) -> Summons:
    """The department says it is on the case (报到); late report-ins keep their red card."""
    _own(actor, summons)
    now = now or timezone.now()
    with transaction.atomic():
        updated = Summons.objects.filter(pk=summons.pk, state=SummonsState.SUMMONED).update(
            state=SummonsState.REPORTED_IN,
            reported_in_at=now,
            reported_in_by=actor,
            red=summons.red or now > summons.due_at,
        )
        if not updated:
            raise Conflict(_("This department has reported in already."))
        summons.refresh_from_db()
        record_event(
            summons.case,
            actor,
            "report_in",
            summons.case.state,
            note,
            {"unit": summons.unit.code, "late": summons.red},
            now=now,
        )
    tell_desk(
        summons.case,
        _("%(unit)s reported in on case %(number)s") % {"unit": summons.unit, "number": summons.case.number},
    )
    return summons


def summons_done(actor, summons: Summons, note: str = "", now=None) -> Summons:
    """The department did its part and says what it did."""
    _own(actor, summons)
    if not (note or "").strip():
        raise InvalidField("note", _("Say what was done."))
    now = now or timezone.now()
    with transaction.atomic():
        updated = Summons.objects.filter(pk=summons.pk, state=SummonsState.REPORTED_IN).update(
            state=SummonsState.DONE, done_at=now, note=note
        )
        if not updated:
            raise Conflict(_("Report in before saying the work is done."))
        summons.refresh_from_db()
        record_event(
            summons.case, actor, "summons_done", summons.case.state, note, {"unit": summons.unit.code}, now=now
        )
    tell_desk(
        summons.case,
        _("%(unit)s finished its part of case %(number)s") % {"unit": summons.unit, "number": summons.case.number},
    )
    return summons
