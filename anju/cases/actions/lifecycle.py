"""Every step of a case after it was reported: one function per transition, one `transition()` to pick it.

Each step checks who may act (404 outside scope, 403 for a role that may not, 409 for a step the
case's state does not allow), changes the case in one transaction with the row locked, restarts the
stage clock where the stage changes, writes the timeline event and the audit row, and tells whoever
must act next (on commit).

Who may do what:
* the desk (cases.dispatch on the node of the case's level, or above): accept, register, reject,
  dispatch, reroute, suspend, resume, approve_extension, close, reopen, escalate, summon;
* the members of the case's unit (or the desk): handle, report_back, extend;
* a checker (cases.check in the case's place, or the desk), or the reporter through their link: check, rework.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.cases import routing
from anju.cases.models import (
    STAGE_OF,
    Case,
    CaseEvent,
    CasePhoto,
    Rating,
    State,
    Supervision,
    Unit,
    UnitMember,
)
from anju.core import scope, timeline, workcalendar
from anju.core.errors import Conflict, InvalidField
from anju.core.models import User
from anju.core.notify import notify
from anju.core.roles import Perm
from anju.core.uploads import clean_photo

# An escalated case in these states goes back to the new level's desk to be dispatched again; work
# reported back stays reported back.
REDISPATCH_ON_ESCALATION = (State.DISPATCHED, State.HANDLING)
# A closed case may be reopened for this long.
REOPEN_DAYS = 7
DESK, UNIT, CHECKER = "desk", "unit", "checker"


# --- Who may act ---------------------------------------------------------------------------------


def level_path(case: Case) -> str:
    """The path of the node whose desk owns the case (its community, street or district)."""
    return routing.division_at(case, case.level).path


def is_desk(user, case: Case) -> bool:
    return scope.has_perm(user, Perm.CASES_DISPATCH, level_path(case))


def is_unit_member(user, unit: Unit) -> bool:
    return user is not None and user.is_authenticated and UnitMember.objects.filter(unit=unit, user=user).exists()


def may(user, case: Case, who: str) -> bool:
    """May `user` take a step reserved to `who` (desk / unit / checker) on this case?"""
    if user is None:  # the system: sweeper, command line
        return True
    if is_desk(user, case):
        return True
    if who == UNIT:
        return is_unit_member(user, case.unit)
    if who == CHECKER:
        return scope.has_perm(user, Perm.CASES_CHECK, case.path)
    return False


def require(user, case: Case, who: str) -> None:
    """404 outside the user's scope, 403 for a step their role may not take."""
    if user is None:
        return
    if not scope.in_scope(user, case.path) and not is_unit_member(user, case.unit):
        raise Http404
    if not may(user, case, who):
        raise PermissionDenied


# --- Clocks ----------------------------------------------------------------------------------------


def limit_minutes(case: Case, stage: str) -> float:
    return workcalendar.parse_limit(case.category.limits.get(stage) or "1d")


def start_stage(case: Case, now, minutes: float | None = None) -> None:
    """Start the clock of the stage of the case's state (none for a state without a stage)."""
    stage = STAGE_OF.get(case.state)
    case.supervision = Supervision.NONE
    if stage is None:
        case.stage_started_at = case.warn_at = case.due_at = None
        return
    minutes = limit_minutes(case, stage) if minutes is None else minutes
    case.stage_started_at = now
    case.warn_at = workcalendar.add_working(now, minutes * 0.8)
    case.due_at = workcalendar.add_working(now, minutes)


def _late(case: Case, now) -> bool:
    return case.due_at is not None and now > case.due_at


# --- Events ----------------------------------------------------------------------------------------


def record_event(case, actor, action, from_state, note="", data=None, photos=(), by="", now=None) -> CaseEvent:
    """The timeline event and the audit row of one step; photos are attached to the event."""
    event = timeline.record(
        CaseEvent,
        "case",
        case,
        actor,
        action,
        from_state,
        prefix="case",
        number=case.number,
        note=note,
        data=data,
        by=by,
        now=now,
    )
    for photo in photos:
        CasePhoto.objects.create(case=case, event=event, file=photo)
    return event


def unit_people(unit: Unit, leads_only: bool = False) -> list[User]:
    members = UnitMember.objects.filter(unit=unit, user__is_active=True).select_related("user")
    if leads_only:
        members = members.filter(lead=True)
    return [m.user for m in members]


def unit_targets(case: Case) -> list[User]:
    """The assignee, or every member of the case's unit when nobody has taken it."""
    return [case.assignee] if case.assignee_id else unit_people(case.unit)


def desk_people(case: Case) -> list[User]:
    """The leads of the centre that owns the case (all its members when it has no lead)."""
    desk = routing.centre(routing.division_at(case, case.level))
    return unit_people(desk, leads_only=True) or unit_people(desk)


def tell_unit(case: Case, subject: str, body: str = "") -> None:
    """The assignee, or every member of the case's unit when nobody has taken it."""
    for user in unit_targets(case):
        notify(user, subject, body, case.get_absolute_url(), key=f"case:{case.number}:unit")


def tell_desk(case: Case, subject: str, body: str = "") -> None:
    """The leads of the centre that owns the case."""
    for user in desk_people(case):
        notify(user, subject, body, case.get_absolute_url(), key=f"case:{case.number}:desk")


def tell_reporter(case: Case, subject: str, body: str = "") -> None:
    """The reporter, when they have an account."""
    if case.reporter_id is not None:
        notify(case.reporter, subject, body, case.get_absolute_url())


# --- The steps -------------------------------------------------------------------------------------


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "unit", "community", "street", "district")
        .get(pk=case.pk)
    )


def _expect(case: Case, action: str) -> None:
    if case.state not in FROM[action]:
        raise Conflict(
            _("“%(action)s” is not possible while the case is “%(state)s”.")
            % {"action": ACTION_LABELS.get(action, action), "state": case.get_state_display()}
        )


def _note_required(note: str, field: str = "note") -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidField(field, _("Say why."))
    return note


def _move(case, actor, action, to_state, now, note="", data=None, photos=(), by="", restart=True):
    from_state = case.state
    case.state = to_state
    if restart:
        start_stage(case, now)
    case.save()
    return record_event(case, actor, action, from_state, note, data, photos, by=by, now=now)


def accept(case, actor, now, note="", **rest):
    _expect(case, "accept")
    case.accepted_at = now
    return _move(case, actor, "accept", State.ACCEPTED, now, note)


def register(case, actor, now, note="", **rest):
    _expect(case, "register")
    case.registered_at = now
    stages = ("dispatch", "handle", "check", "close")
    case.close_due_at = workcalendar.add_working(now, sum(limit_minutes(case, s) for s in stages))
    event = _move(case, actor, "register", State.REGISTERED, now, note)
    tell_desk(case, _("Case %(number)s is registered and waits to be dispatched") % {"number": case.number})
    return event


REJECT_REASONS = ("invalid", "duplicate", "not_ours")


def reject(case, actor, now, note="", reason="invalid", duplicate_of=None, **rest):
    _expect(case, "reject")
    if reason not in REJECT_REASONS:
        raise InvalidField("reason", _("Choose invalid, duplicate or not_ours."))
    data = {"reason": reason}
    if reason == "duplicate":
        original = _original(actor, case, duplicate_of)
        case.duplicate_of = original
        # Cases merged into this one follow it to the original, so their reporters hear when it closes.
        case.duplicates.update(duplicate_of=original)
        data["duplicate_of"] = original.number
        note = note or _("Same as case %(number)s.") % {"number": original.number}
    event = _move(case, actor, "reject", State.REJECTED, now, _note_required(note), data)
    tell_reporter(case, _("Case %(number)s was not taken up") % {"number": case.number}, note)
    return event


def _original(actor, case: Case, number) -> Case:
    """The case `case` repeats, followed to the first report of the chain (a case outside the actor's
    scope is not named, as if it did not exist)."""
    original = Case.objects.filter(number=str(number or "").strip()).first()
    if original is not None and actor is not None and not scope.in_scope(actor, original.path):
        original = None
    seen = set()
    while original is not None and original.duplicate_of_id and original.pk not in seen:
        seen.add(original.pk)
        original = original.duplicate_of
    if original is None:
        raise InvalidField("duplicate_of", _("Name the case this one repeats."))
    if original.pk == case.pk:
        raise InvalidField("duplicate_of", _("That case repeats this one."))
    return original


def dispatch(case, actor, now, note="", unit=None, assignee=None, **rest):
    _expect(case, "dispatch")
    if unit is not None:
        case.unit, case.assignee = _unit(unit, case), None
    if assignee is not None:
        case.assignee = _member(case.unit, assignee)
    case.dispatched_at = now
    case.dispatch_late = _late(case, now)
    event = _move(case, actor, "dispatch", State.DISPATCHED, now, note, {"unit": case.unit.code})
    tell_unit(case, _("Case %(number)s was dispatched to you") % {"number": case.number}, case.description[:200])
    return event


def handle(case, actor, now, note="", **rest):
    """The unit signs for the case and starts work; the handling clock started at dispatch runs on."""
    _expect(case, "handle")
    if case.assignee_id is None and actor is not None:
        case.assignee = actor
    return _move(case, actor, "handle", State.HANDLING, now, note, restart=False)


def report_back(case, actor, now, note="", photos=(), **rest):
    _expect(case, "report_back")
    case.handled_at = now
    case.handle_late = _late(case, now)
    case.extension_requested = case.extension_reason = ""
    event = _move(case, actor, "report_back", State.REPORTED_BACK, now, _note_required(note), photos=photos)
    tell_desk(case, _("Case %(number)s was handled and waits to be checked") % {"number": case.number})
    return event


def check(case, actor, now, note="", photos=(), by="", **rest):
    _expect(case, "check")
    if case.category.reporter_confirms and by != "public":
        # The reporter must agree: staff who check for them say how they asked.
        note = _note_required(note)
    case.checked_at = now
    return _move(case, actor, "check", State.CHECKED, now, note, photos=photos, by=by)


def rework(case, actor, now, note="", photos=(), by="", **rest):
    _expect(case, "rework")
    case.rework_count += 1
    case.handled_at = None
    event = _move(case, actor, "rework", State.HANDLING, now, _note_required(note), photos=photos, by=by)
    tell_unit(case, _("Case %(number)s failed its check and is back with you") % {"number": case.number}, note)
    return event


def close(case, actor, now, note="", **rest):
    _expect(case, "close")
    case.closed_at = now
    case.close_late = case.close_due_at is not None and now > case.close_due_at
    case.rating, case.score, case.rating_comment, case.rated_at = Rating.PENDING, None, "", None
    event = _move(case, actor, "close", State.CLOSED, now, note)
    tell_reporter(
        case,
        _("Case %(number)s is closed: please rate how it was handled") % {"number": case.number},
        _("Give a score from 1 to 5 on the case's page within 3 days."),
    )
    for dup in case.duplicates.filter(state=State.REJECTED).select_related("reporter"):
        record_event(dup, actor, "original_closed", dup.state, note=case.number, now=now)
        # Their link is to their own report: the original may lie outside what they can read.
        tell_reporter(
            dup,
            _("Case %(original)s, which your report %(number)s repeated, is closed")
            % {"original": case.number, "number": dup.number},
            note,
        )
    return event


def suspend(case, actor, now, note="", **rest):
    _expect(case, "suspend")
    remaining = workcalendar.working_minutes(now, case.due_at) if case.due_at else 0
    case.resume_state = case.state
    return _move(case, actor, "suspend", State.SUSPENDED, now, _note_required(note), {"remaining": remaining})


def resume(case, actor, now, note="", **rest):
    _expect(case, "resume")
    paused = case.events.filter(action="suspend").order_by("-at", "-id").first()
    remaining = (paused.data or {}).get("remaining") if paused else None
    from_state = case.state
    case.state, case.resume_state = case.resume_state or State.REGISTERED, ""
    # The stage goes on with the working time it had left, at least one working hour.
    start_stage(case, now, max(float(remaining), 60.0) if remaining is not None else None)
    case.save()
    return record_event(case, actor, "resume", from_state, note, now=now)


def clean_extension(limit) -> str:
    """More time as asked for: "2d", "8h" (positive, spaces dropped: the column holds 8 characters)."""
    limit = "".join(str(limit or "").split())
    try:
        if workcalendar.parse_limit(limit) <= 0 or len(limit) > 8:
            raise ValueError(limit)
    except ValueError:
        raise InvalidField("limit", _("Give the extra time as working hours or days, e.g. 8h or 2d.")) from None
    return limit


def extend(case, actor, now, note="", limit="", **rest):
    """The unit asks for more time ("2d", "8h"); the desk decides."""
    _expect(case, "extend")
    if case.extension_requested:
        raise Conflict(_("An extension is already waiting for a decision."))
    case.extension_requested, case.extension_reason = clean_extension(limit), _note_required(note)[:300]
    event = _move(case, actor, "extend", case.state, now, note, {"limit": case.extension_requested}, restart=False)
    tell_desk(case, _("Case %(number)s: more time asked for") % {"number": case.number}, note)
    return event


def approve_extension(case, actor, now, note="", approve=True, **rest):
    _expect(case, "approve_extension")
    if not case.extension_requested:
        raise Conflict(_("No extension was asked for."))
    limit = case.extension_requested
    data = {"limit": limit, "approved": bool(approve)}
    if approve:
        extra = workcalendar.parse_limit(limit)
        base = max(case.due_at or now, now)
        case.due_at = workcalendar.add_working(base, extra)
        case.warn_at = workcalendar.add_working(base, extra * 0.8)
        case.supervision = Supervision.NONE
        if case.close_due_at:
            case.close_due_at = workcalendar.add_working(max(case.close_due_at, now), extra)
        case.extension_count += 1
    case.extension_requested = case.extension_reason = ""
    event = _move(case, actor, "approve_extension", case.state, now, note, data, restart=False)
    subject = _("Case %(number)s: extension approved") if approve else _("Case %(number)s: extension refused")
    tell_unit(case, subject % {"number": case.number}, note)
    return event


def reroute(case, actor, now, note="", unit=None, **rest):
    _expect(case, "reroute")
    new = _unit(unit, case)
    if new.pk == case.unit_id:
        raise Conflict(_("The case is with this unit already."))
    old = case.unit
    case.unit, case.assignee = new, None
    to_state = State.DISPATCHED if case.state == State.HANDLING else case.state
    event = _move(
        case,
        actor,
        "reroute",
        to_state,
        now,
        _note_required(note),
        {"from": old.code, "to": new.code},
        restart=to_state != case.state,
    )
    if case.state == State.DISPATCHED:
        tell_unit(case, _("Case %(number)s was passed to you") % {"number": case.number}, note)
    return event


def reopen(case, actor, now, note="", **rest):
    _expect(case, "reopen")
    if case.closed_at and now - case.closed_at > timedelta(days=REOPEN_DAYS):
        raise Conflict(_("A case can be reopened within 7 days of closing."))
    case.closed_at, case.close_late, case.checked_at, case.handled_at = None, None, None, None
    case.rating, case.score, case.rating_comment, case.rated_at = "", None, "", None
    event = _move(case, actor, "reopen", State.DISPATCHED, now, _note_required(note))
    tell_unit(case, _("Case %(number)s was reopened") % {"number": case.number}, note)
    return event


def escalate(case, actor, now, note="", **rest):
    """One level up (community -> street -> district): the new level's centre takes it over."""
    _expect(case, "escalate")
    above = routing.level_above(case.level)
    if above is None:
        raise Conflict(_("The case is at district level already."))
    old_unit, old_level = case.unit, case.level
    case.level = above
    case.unit, case.assignee = routing.default_unit(case, above), None
    case.escalation_count += 1
    # Work not yet done waits on the new desk to be dispatched again; a case handled and waiting for its
    # check or its closing stays where it is, for the new level to check or close.
    to_state = State.REGISTERED if case.state in REDISPATCH_ON_ESCALATION else case.state
    event = _move(
        case,
        actor,
        "escalate",
        to_state,
        now,
        _note_required(note),
        {"from_level": old_level, "to_level": above, "from": old_unit.code, "to": case.unit.code},
    )
    tell_desk(case, _("Case %(number)s was escalated to you") % {"number": case.number}, note)
    return event


def _unit(value, case: Case) -> Unit:
    """An active unit working in the case's district (by code, or the unit itself)."""
    unit = value if isinstance(value, Unit) else Unit.objects.filter(code=str(value or "").strip()).first()
    if unit is None or not unit.active:
        raise InvalidField("unit", _("No such unit."))
    if not unit.path.startswith(case.district.path):
        raise InvalidField("unit", _("The unit works elsewhere."))
    return unit


def _member(unit: Unit, value) -> User:
    user = value if isinstance(value, User) else User.objects.filter(username=value or "").first()
    if user is None or not is_unit_member(user, unit):
        raise InvalidField("assignee", _("The assignee must be a member of the unit."))
    return user


# action -> the states it may be taken in
FROM = {
    "accept": (State.REPORTED,),
    "register": (State.ACCEPTED,),
    "reject": (State.REPORTED, State.ACCEPTED),
    "dispatch": (State.REGISTERED,),
    "handle": (State.DISPATCHED,),
    "report_back": (State.HANDLING,),
    "check": (State.REPORTED_BACK,),
    "rework": (State.REPORTED_BACK,),
    "close": (State.CHECKED,),
    "suspend": (State.REGISTERED, State.DISPATCHED, State.HANDLING),
    "resume": (State.SUSPENDED,),
    "extend": (State.DISPATCHED, State.HANDLING),
    "approve_extension": (State.DISPATCHED, State.HANDLING),
    "reroute": (State.ACCEPTED, State.REGISTERED, State.DISPATCHED, State.HANDLING),
    "reopen": (State.CLOSED,),
    "escalate": tuple(STAGE_OF),
}
# action -> (function, who may take it)
STEPS = {
    "accept": (accept, DESK),
    "register": (register, DESK),
    "reject": (reject, DESK),
    "dispatch": (dispatch, DESK),
    "handle": (handle, UNIT),
    "report_back": (report_back, UNIT),
    "check": (check, CHECKER),
    "rework": (rework, CHECKER),
    "close": (close, DESK),
    "suspend": (suspend, DESK),
    "resume": (resume, DESK),
    "extend": (extend, UNIT),
    "approve_extension": (approve_extension, DESK),
    "reroute": (reroute, DESK),
    "reopen": (reopen, DESK),
    "escalate": (escalate, DESK),
}
ACTION_LABELS = {
    "accept": gettext_lazy("Accept"),
    "register": gettext_lazy("Register"),
    "reject": gettext_lazy("Reject"),
    "dispatch": gettext_lazy("Dispatch"),
    "handle": gettext_lazy("Start handling"),
    "report_back": gettext_lazy("Report back"),
    "check": gettext_lazy("Check: done"),
    "rework": gettext_lazy("Check: send back"),
    "close": gettext_lazy("Close"),
    "suspend": gettext_lazy("Suspend"),
    "resume": gettext_lazy("Resume"),
    "extend": gettext_lazy("Ask for more time"),
    "approve_extension": gettext_lazy("Decide on more time"),
    "reroute": gettext_lazy("Re-route"),
    "reopen": gettext_lazy("Reopen"),
    "escalate": gettext_lazy("Escalate"),
}


def transition(actor, case: Case, action: str, now=None, by: str = "", **params) -> CaseEvent:
    """Take one step on a case; illegal steps raise Conflict (409) and change nothing."""
    if action not in STEPS:
        raise InvalidField("action", _("Unknown action."))
    step, who = STEPS[action]
    if params.get("photos"):
        params["photos"] = [clean_photo(p, "photos") for p in params["photos"]]
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(case)
        # Checked on the row as it is now: another step (an escalation) may have moved it since it was read.
        require(actor, locked, who)
        event = step(locked, actor, now, by=by, **params)
    case.refresh_from_db()
    return event


def allowed_actions(user, case: Case) -> list[str]:
    """The steps this user could take on the case now, for buttons and the API."""
    out = []
    for action, (_step, who) in STEPS.items():
        if case.state not in FROM[action] or not may(user, case, who):
            continue
        if action == "extend" and case.extension_requested:
            continue
        if action == "approve_extension" and not case.extension_requested:
            continue
        if action == "escalate" and routing.level_above(case.level) is None:
            continue
        if action == "reopen" and case.closed_at and timezone.now() - case.closed_at > timedelta(days=REOPEN_DAYS):
            continue
        out.append(action)
    return out
