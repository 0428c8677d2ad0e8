"""The mediation procedure: one function per step, one `transition()` to pick it.

Steps (People's Mediation Law): accept or decline -> inform the parties of their rights and duties ->
investigate -> sessions (`records.record_session`) -> agreement (`records.save_agreement`) or
terminate -> close. A dispute may be escalated to the next level, referred elsewhere, or given to
other mediators (assign) while it is open.

Who may act: the dispute's mediators; holders of disputes.mediate over its place while it is at the
first level (on the spot, a mediation room); holders of disputes.manage over its place always.
Outside the reader's reach 404, a step their role may not take 403, a step the state forbids 409.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from anju.cases.models import Supervision
from anju.core import scope, timeline
from anju.core.errors import Conflict, InvalidField
from anju.core.notify import notify
from anju.core.roles import Perm
from anju.disputes import routing
from anju.disputes.models import (
    FIRST_LEVELS,
    LEAD_KINDS,
    OPEN_STATES,
    TIMED_STATES,
    Dispute,
    DisputeEvent,
    Flag,
    Level,
    Mediator,
    Outcome,
    State,
)

# 人民调解法 art. 33 and the seeds: mediation is normally concluded within 30 days of acceptance.
PERIOD = timedelta(days=30)
WARN_SHARE = 0.8

ACTION_LABELS = {
    "accept": gettext_lazy("Accept"),
    "decline": gettext_lazy("Decline"),
    "inform": gettext_lazy("Inform the parties"),
    "investigate": gettext_lazy("Investigate"),
    "escalate": pgettext_lazy("dispute", "Escalate"),
    "refer": gettext_lazy("Refer elsewhere"),
    "terminate": gettext_lazy("Terminate mediation"),
    "close": gettext_lazy("Close"),
    "assign": gettext_lazy("Assign mediators"),
    "session": gettext_lazy("Record a session"),
    "agreement": gettext_lazy("Record the agreement"),
    "term": gettext_lazy("Record performance"),
    "follow_up": gettext_lazy("Follow-up visit"),
    "court": gettext_lazy("Court confirmation"),
    "review": gettext_lazy("Review the dossier"),
}
# Every entry a dispute's timeline can hold: the steps above and what the records and the sweep write.
EVENT_LABELS = {
    **ACTION_LABELS,
    "receive": pgettext_lazy("dispute event", "Taken in"),
    "assess": gettext_lazy("Risk assessed"),
    "follow_up_planned": gettext_lazy("Follow-up visit scheduled"),
    "court_applied": gettext_lazy("Applied for court confirmation"),
    "court_answer": gettext_lazy("The court answered"),
    "review": gettext_lazy("Dossier reviewed"),
    "yellow": gettext_lazy("Yellow card"),
    "red": gettext_lazy("Red card"),
}


# --- Who may act ---------------------------------------------------------------------------------


def is_manager(user, dispute: Dispute) -> bool:
    return scope.has_perm(user, Perm.DISPUTES_MANAGE, dispute.path)


def is_mediator_of(user, dispute: Dispute) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if dispute.lead_id is not None and dispute.lead.user_id == user.pk:
        return True
    return dispute.pk is not None and dispute.mediators.filter(user=user).exists()


def may_mediate(user, dispute: Dispute) -> bool:
    """May `user` take the procedure's steps on this dispute?"""
    if user is None:
        return True
    if is_manager(user, dispute) or is_mediator_of(user, dispute):
        return True
    return dispute.level in FIRST_LEVELS and scope.has_perm(user, Perm.DISPUTES_MEDIATE, dispute.path)


def may_read(user, dispute: Dispute) -> bool:
    return (scope.has_perm(user, Perm.DISPUTES_VIEW) and scope.in_scope(user, dispute.path)) or is_mediator_of(
        user, dispute
    )


def require(user, dispute: Dispute, manager: bool = False) -> None:
    """404 outside the user's reach, 403 for a step they may not take."""
    if user is None:
        return
    if not may_read(user, dispute):
        raise Http404
    if not (is_manager(user, dispute) if manager else may_mediate(user, dispute)):
        raise PermissionDenied


# --- Events, messages, clocks ----------------------------------------------------------------------


def record_event(dispute, actor, action, from_state, note="", data=None, now=None) -> DisputeEvent:
    """The timeline event and the audit row of one step."""
    return timeline.record(
        DisputeEvent,
        "dispute",
        dispute,
        actor,
        action,
        from_state,
        prefix="dispute",
        number=dispute.number,
        note=note,
        data=data,
        now=now,
    )


def mediator_people(dispute: Dispute) -> list:
    """The users of the dispute's lead and co-mediators (the room's mediators when nobody leads it)."""
    people = [m.user for m in dispute.mediators.exclude(user=None).select_related("user")]
    if dispute.lead_id and dispute.lead.user_id:
        people.append(dispute.lead.user)
    if not people and dispute.room_id:
        people = [m.user for m in dispute.room.mediators.filter(active=True).exclude(user=None).select_related("user")]
    return list({u.pk: u for u in people if u.is_active}.values())


def tell(people, dispute: Dispute, subject: str, body: str = "", key: str = "") -> None:
    for user in {u.pk: u for u in people}.values():
        notify(user, subject, body, dispute.get_absolute_url(), key=f"dispute:{dispute.number}:{key}" if key else "")


def alert_if_grave(dispute: Dispute) -> None:
    """A major grade or a red flag tells the station chief and the street at once."""
    if dispute.grade != "major" and not dispute.flags:
        return
    reasons = [dispute.get_grade_display()] + [_label_of_flag(f) for f in dispute.flags]
    subject = _("Risk alert: dispute %(number)s (%(reasons)s)") % {
        "number": dispute.number,
        "reasons": ", ".join(str(r) for r in reasons),
    }
    tell(routing.alert_people(dispute), dispute, subject, dispute.summary, key="alert")


def _label_of_flag(value: str) -> str:
    return str(Flag(value).label) if value in Flag.values else value


def start_period(dispute: Dispute, now) -> None:
    dispute.warn_at = now + PERIOD * WARN_SHARE
    dispute.due_at = now + PERIOD
    dispute.supervision = Supervision.NONE


def conclude(dispute: Dispute, outcome: str, now) -> None:
    """Mark the mediation concluded (once): its outcome, whether within the period, and where."""
    dispute.outcome = outcome
    if dispute.concluded_at is None:
        dispute.concluded_at = now
        dispute.concluded_late = dispute.due_at is not None and now > dispute.due_at
    if outcome == Outcome.AGREEMENT:
        dispute.settled_level = dispute.level


# --- The steps -------------------------------------------------------------------------------------


def locked(dispute: Dispute) -> Dispute:
    """The dispute's row, locked for the step; the places are read only by the few steps that need them."""
    return Dispute.objects.select_for_update(of=("self",)).select_related("lead").get(pk=dispute.pk)


def expect(dispute: Dispute, action: str, allowed=None) -> None:
    if dispute.state not in (FROM[action] if allowed is None else allowed):
        raise Conflict(
            _("“%(action)s” is not possible while the dispute is “%(state)s”.")
            % {"action": ACTION_LABELS.get(action, action), "state": dispute.get_state_display()}
        )


def required(value, field: str, message: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidField(field, message)
    return text[:2000]


def accept(d, actor, now, note="", **rest):
    d.state, d.accepted_at = State.ACCEPTED, now
    start_period(d, now)
    return note, {}


def decline(d, actor, now, note="", reason="", other_routes="", **rest):
    d.outcome_reason = required(reason, "reason", _("Say why the dispute is not accepted."))
    d.other_routes = required(other_routes, "other_routes", _("Tell the parties which other routes they have."))[:300]
    d.state = State.DECLINED
    conclude(d, Outcome.DECLINED, now)
    return note, {"reason": d.outcome_reason, "other_routes": d.other_routes}


def inform(d, actor, now, note="", **rest):
    d.state = State.INFORMED
    return note or _("The parties were told their rights and duties in mediation."), {}


def investigate(d, actor, now, note="", **rest):
    d.state = State.INVESTIGATING
    return required(note, "note", _("Write down what the investigation found.")), {}


def terminate(d, actor, now, note="", reason="", other_routes="", **rest):
    d.outcome_reason = required(reason, "reason", _("Say why mediation ends without agreement."))
    d.other_routes = required(other_routes, "other_routes", _("Tell the parties which other routes they have."))[:300]
    d.state = State.TERMINATED
    conclude(d, Outcome.TERMINATED, now)
    return note, {"reason": d.outcome_reason, "other_routes": d.other_routes}


def refer(d, actor, now, note="", to="", **rest):
    d.referred_to = required(to, "to", _("Name where the dispute goes (court, arbitration, department...)."))[:100]
    d.outcome_reason = required(note, "note", _("Say why the dispute is referred."))
    d.state = State.REFERRED
    conclude(d, Outcome.REFERRED, now)
    return d.outcome_reason, {"to": d.referred_to}


def close(d, actor, now, note="", **rest):
    if d.state == State.AGREED:
        agreement = d.agreements.order_by("-version").first()
        if agreement is not None and agreement.terms.filter(state="pending").exists():
            raise Conflict(_("Every term of the agreement must be performed or recorded as not performed first."))
        if not d.follow_ups.exclude(done_at=None).exists():
            raise Conflict(_("Record a follow-up visit before closing."))
    d.state, d.closed_at = State.CLOSED, now
    return note, {}


def escalate(d, actor, now, note="", **rest):
    reason = required(note, "note", _("Say why the dispute goes to the next level."))
    above = routing.level_above(d.level)
    if above is None:
        raise Conflict(_("Joint mediation is the highest level."))
    previous = d.level
    route(d, above)
    d.escalation_count += 1
    return reason, {"from_level": previous, "to_level": above}


def assign(d, actor, now, note="", lead=None, mediators=(), **rest):
    """Give the dispute a lead (a mediator's id) and co-mediators."""
    chosen = _mediator(lead, "lead", d)
    if chosen.user_id is None:
        raise InvalidField("lead", _("The lead needs an account to work the dispute."))
    if chosen.kind not in LEAD_KINDS[d.mediation_type]:
        raise InvalidField(
            "lead",
            _("A %(kind)s cannot lead %(type)s.")
            % {"kind": chosen.get_kind_display(), "type": d.get_mediation_type_display()},
        )
    others = [_mediator(m, "mediators", d) for m in mediators or ()]
    d.lead = chosen
    d._mediators = [chosen, *others]
    return note, {"lead": chosen.pk, "mediators": [m.pk for m in others]}


def _mediator(value, field: str, d: Dispute) -> Mediator:
    """An active mediator serving the dispute's place: its street (or district) and what lies below,
    or a pool above it."""
    area = (d.street or d.district).path
    try:
        found = Mediator.objects.filter(pk=int(value), active=True).first()
    except (TypeError, ValueError):
        found = None
    if found is not None and not (found.path.startswith(area) or found.path in routing.covering(d.path)):
        found = None
    if found is None:
        raise InvalidField(field, _("No such mediator."))
    return found


def route(d: Dispute, level: str) -> None:
    """Put the dispute at `level`: the room of that level near it and the best lead there."""
    d.level = level
    d.room = routing.room_for(d, level)
    best = routing.candidates(d, level, d.room)
    if level != Level.ON_SPOT:
        d.lead = best[0] if best else None
    d._mediators = [d.lead] if d.lead_id else []


# Which states each step may start from; where it leads is in its function.
FROM = {
    "accept": {State.RECEIVED},
    "decline": {State.RECEIVED},
    "inform": {State.ACCEPTED},
    "investigate": {State.INFORMED},
    "escalate": OPEN_STATES,
    "refer": OPEN_STATES | {State.TERMINATED},
    "terminate": TIMED_STATES,
    "close": {State.AGREED, State.TERMINATED},
    "assign": OPEN_STATES | {State.AGREED},
}
STEPS = {
    "accept": accept,
    "decline": decline,
    "inform": inform,
    "investigate": investigate,
    "escalate": escalate,
    "refer": refer,
    "terminate": terminate,
    "close": close,
    "assign": assign,
}
# Steps only a manager (disputes.manage) may take.
MANAGER_STEPS = frozenset({"assign"})


def transition(actor, dispute: Dispute, action: str, now=None, **params) -> DisputeEvent:
    """Take one step; returns its timeline event."""
    step = STEPS.get(action)
    if step is None:
        raise InvalidField("action", _("Unknown action."))
    require(actor, dispute, manager=action in MANAGER_STEPS)
    now = now or timezone.now()
    with transaction.atomic():
        d = locked(dispute)
        expect(d, action)
        before = d.state
        note, data = step(d, actor, now, **params)
        d.save()
        if hasattr(d, "_mediators"):
            d.mediators.set([m for m in d._mediators if m is not None])
        event = record_event(d, actor, action, before, note=note or "", data=data, now=now)
        _tell_after(d, action)
    dispute.refresh_from_db()
    return event


def _tell_after(d: Dispute, action: str) -> None:
    if action in ("escalate", "assign"):
        # Nobody free at the new level: the managers over the place must find someone.
        tell(
            mediator_people(d) or routing.managers(d),
            d,
            _("Dispute %(number)s is yours: %(summary)s") % {"number": d.number, "summary": d.summary},
            key="mediators",
        )
    if action == "escalate" and d.level == Level.JOINT:
        tell(routing.managers(d), d, _("Dispute %(number)s needs joint mediation") % {"number": d.number})


def allowed_actions(user, dispute: Dispute) -> list[str]:
    """The steps the user may take on the dispute now (for the page's buttons)."""
    if not may_read(user, dispute):
        return []
    manager = is_manager(user, dispute)
    if not (manager or may_mediate(user, dispute)):
        return []
    out = []
    for action, states in FROM.items():
        if dispute.state not in states or (action in MANAGER_STEPS and not manager):
            continue
        if action == "escalate" and routing.level_above(dispute.level) is None:
            continue
        out.append(action)
    return out
