"""The records of a mediation: session minutes, the agreement and its versions, performance of each
term, follow-up visits and court confirmation. Each write checks who may act and the dispute's state,
leaves a timeline event and an audit row, in one transaction."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.errors import Conflict, InvalidField
from anju.disputes import routing
from anju.disputes.actions import intake, procedure
from anju.disputes.models import (
    Agreement,
    CourtAnswer,
    CourtConfirmation,
    Dispute,
    FollowUp,
    FollowUpMethod,
    Level,
    Outcome,
    Session,
    SessionOutcome,
    State,
    Term,
    TermState,
)
from anju.registry.cleaning import clean_date

# A follow-up visit falls due this long after the agreement unless one is asked for earlier.
FOLLOW_UP_AFTER = timedelta(days=30)
# The parties must apply for court confirmation within 30 days of the agreement taking effect.
COURT_WINDOW = timedelta(days=30)
SESSION_STATES = {State.INFORMED, State.INVESTIGATING, State.MEDIATING}
AGREEMENT_STATES = {State.MEDIATING, State.AGREED}
MAX_TERMS = 30


def _text(data: dict, field: str, message: str, limit: int = 4000) -> str:
    return procedure.required(data.get(field), field, message)[:limit]


def record_session(actor, dispute: Dispute, data: dict, now=None) -> Session:
    """Minutes of one session, with the risk re-assessed; the dispute is then being mediated."""
    procedure.require(actor, dispute)
    now = now or timezone.now()
    outcome = str(data.get("outcome") or "")
    if outcome not in SessionOutcome.values:
        raise InvalidField("outcome", _("Choose one of the listed values."))
    held = data.get("at") or now
    if not hasattr(held, "tzinfo"):
        raise InvalidField("at", _("Give the date and time of the session."))
    if held > now + timedelta(minutes=5):
        raise InvalidField("at", _("A session cannot lie in the future."))
    risk = intake.clean_risk({**_current_risk(dispute), **(data.get("risk") or {})})
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "session", SESSION_STATES)
        mediators = str(data.get("mediators") or "").strip() or ", ".join(m.name for m in d.mediators.all())
        if not mediators:
            raise InvalidField("mediators", _("Name who mediated."))
        session = Session.objects.create(
            dispute=d,
            number=d.sessions.count() + 1,
            at=held,
            place=str(data.get("place") or "").strip()[:200],
            mediators=mediators[:300],
            attendees=_text(data, "attendees", _("Write down who attended.")),
            minutes=_text(data, "minutes", _("Write down what was said."), 20000),
            outcome=outcome,
            recorded_by=actor,
            recorded_at=now,
        )
        before = d.state
        d.state = State.MEDIATING
        d.save(update_fields=["state"])
        procedure.record_event(
            d,
            actor,
            "session",
            before,
            note=session.minutes[:300],
            data={"session": session.number, "outcome": outcome},
            now=now,
        )
        graver = intake.GRADES.index(risk["grade"]) > intake.GRADES.index(d.grade) or bool(
            set(risk["flags"]) - set(d.flags)
        )
        intake.save_assessment(actor, d, risk, "session", str((data.get("risk") or {}).get("note") or ""), now)
        if graver:
            procedure.alert_if_grave(d)
    dispute.refresh_from_db()
    return session


def _current_risk(dispute: Dispute) -> dict:
    return {
        "grade": dispute.grade,
        "flags": list(dispute.flags),
        "petition_pending": dispute.petition_pending,
        "court_pending": dispute.court_pending,
    }


def clean_terms(rows, deadline: date) -> list[Term]:
    if not isinstance(rows, list | tuple) or not rows:
        raise InvalidField("terms", _("An agreement has at least one term: who does what by when."))
    if len(rows) > MAX_TERMS:
        raise InvalidField("terms", _("At most 30 terms."))
    terms = []
    for i, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        field = f"terms[{i}]"
        due = clean_date(row.get("due_on") or deadline, f"{field}.due_on")
        terms.append(
            Term(
                order=i + 1,
                obligor=procedure.required(row.get("obligor"), f"{field}.obligor", _("Name who performs the term."))[
                    :120
                ],
                text=procedure.required(row.get("text"), f"{field}.text", _("Write the term.")),
                due_on=due,
            )
        )
    return terms


def save_agreement(actor, dispute: Dispute, data: dict, now=None) -> Agreement:
    """A new version of the agreement (the first one concludes the mediation); schedules the follow-up."""
    procedure.require(actor, dispute)
    now = now or timezone.now()
    deadline = clean_date(data.get("deadline"), "deadline")
    facts = _text(data, "facts", _("State the facts and the dispute."))
    responsibilities = _text(data, "responsibilities", _("State each party's responsibility."))
    method = _text(data, "method", _("Say how the agreement is performed."), 200)
    signed_on = clean_date(data.get("signed_on"), "signed_on", required=False, not_future=True)
    terms = clean_terms(data.get("terms"), deadline)
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "agreement", AGREEMENT_STATES)
        if not d.sessions.exists():
            raise Conflict(_("Record the mediation session first."))
        version = (d.agreements.order_by("-version").values_list("version", flat=True).first() or 0) + 1
        agreement = Agreement.objects.create(
            dispute=d,
            version=version,
            made_at=now,
            made_by=actor,
            facts=facts,
            responsibilities=responsibilities,
            method=method,
            deadline=deadline,
            court_confirmation=bool(data.get("court_confirmation")),
            signed_on=signed_on,
        )
        for t in terms:
            t.agreement = agreement
        Term.objects.bulk_create(terms)
        before = d.state
        d.state = State.AGREED
        procedure.conclude(d, Outcome.AGREEMENT, now)
        d.save()
        if not d.follow_ups.filter(done_at=None).exists():
            FollowUp.objects.create(dispute=d, due_on=timezone.localdate(now) + FOLLOW_UP_AFTER)
        procedure.record_event(d, actor, "agreement", before, data={"version": version, "terms": len(terms)}, now=now)
    dispute.refresh_from_db()
    return agreement


def settle_on_spot(actor, dispute: Dispute, data: dict, now=None) -> Agreement:
    """出门一把抓: the officer who took a dispute on the spot records it settled there, in one go.

    The steps are the ordinary ones (accept, inform the parties, the session's minutes, the
    agreement), so the dossier reads as if each had been taken in turn; `data` holds "session" and
    "agreement" as those steps take them. A refusal names its field under its part
    ("session.minutes", "agreement.terms[0].text") and takes back every step.
    """
    procedure.require(actor, dispute)
    now = now or timezone.now()
    session = data.get("session") if isinstance(data.get("session"), dict) else {}
    agreement = data.get("agreement") if isinstance(data.get("agreement"), dict) else {}
    try:
        with transaction.atomic():
            d = procedure.locked(dispute)
            if d.level != Level.ON_SPOT:
                raise Conflict(_("Only a dispute taken on the spot can be recorded as settled at the scene."))
            procedure.expect(d, "accept")
            procedure.transition(actor, dispute, "accept", now=now)
            procedure.transition(actor, dispute, "inform", now=now)
            outcome = {"outcome": SessionOutcome.AGREEMENT}
            _part("session", lambda: record_session(actor, dispute, {**session, **outcome}, now))
            return _part("agreement", lambda: save_agreement(actor, dispute, agreement, now))
    except Exception:
        # The steps taken before the refusal moved `dispute` in memory; the database has none of them.
        dispute.refresh_from_db()
        raise


def _part(name: str, write):
    """Run the write of one part of a larger form, its refusal naming the field under the part."""
    try:
        return write()
    except InvalidField as exc:
        raise InvalidField(f"{name}.{exc.field}", str(exc)) from exc


def current_agreement(dispute: Dispute) -> Agreement | None:
    return dispute.agreements.order_by("-version").first()


def settle_term(actor, dispute: Dispute, order: int, state: str, note: str = "", now=None) -> Term:
    """Record a term of the agreement in force as performed or not performed."""
    procedure.require(actor, dispute)
    if state not in (TermState.DONE, TermState.BREACHED):
        raise InvalidField("state", _("A term is performed or not performed."))
    now = now or timezone.now()
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "term", {State.AGREED})
        agreement = current_agreement(d)
        term = agreement.terms.filter(order=order).first() if agreement else None
        if term is None:
            raise InvalidField("term", _("No such term in the agreement."))
        term.state, term.settled_at, term.note = state, now, str(note or "").strip()[:300]
        term.save()
        procedure.record_event(d, actor, "term", d.state, note=term.note, data={"term": order, "state": state}, now=now)
        if state == TermState.BREACHED:
            procedure.tell(
                procedure.mediator_people(d),
                d,
                _("Dispute %(number)s: a term of the agreement was not performed") % {"number": d.number},
            )
    return term


def follow_up(actor, dispute: Dispute, data: dict, now=None) -> FollowUp:
    """Record a follow-up visit (filling the earliest one scheduled), or, with `due_on` and no record,
    schedule one. A sign of flare-up re-alerts the chief and the street."""
    procedure.require(actor, dispute)
    now = now or timezone.now()
    recording = any(data.get(k) is not None for k in ("performed", "satisfied", "flare_up")) or bool(data.get("note"))
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "follow_up", {State.AGREED, State.CLOSED})
        if not recording:
            due = clean_date(data.get("due_on"), "due_on")
            if due < timezone.localdate(now):
                raise InvalidField("due_on", _("A visit is scheduled for today or later."))
            visit = FollowUp.objects.create(dispute=d, due_on=due)
            procedure.record_event(d, actor, "follow_up_planned", d.state, data={"due_on": due.isoformat()}, now=now)
            return visit
        method = str(data.get("method") or FollowUpMethod.VISIT)
        if method not in FollowUpMethod.values:
            raise InvalidField("method", _("Choose one of the listed values."))
        for field in ("performed", "satisfied", "flare_up"):
            if not isinstance(data.get(field), bool):
                raise InvalidField(field, _("Answer yes or no."))
        visit = d.follow_ups.filter(done_at=None).order_by("due_on").first() or FollowUp(
            dispute=d, due_on=timezone.localdate(now)
        )
        visit.method, visit.done_at, visit.by = method, now, actor
        visit.performed, visit.satisfied, visit.flare_up = data["performed"], data["satisfied"], data["flare_up"]
        visit.note = str(data.get("note") or "").strip()[:4000]
        visit.save()
        procedure.record_event(
            d,
            actor,
            "follow_up",
            d.state,
            note=visit.note,
            data={"performed": visit.performed, "satisfied": visit.satisfied, "flare_up": visit.flare_up},
            now=now,
        )
        if visit.flare_up:
            subject = _("Dispute %(number)s may flare up again") % {"number": d.number}
            procedure.tell([*procedure.mediator_people(d), *routing.alert_people(d)], d, subject, visit.note)
    return visit


def apply_court(actor, dispute: Dispute, data: dict, now=None) -> CourtConfirmation:
    """The parties' joint application for court confirmation of the agreement in force (within 30 days)."""
    procedure.require(actor, dispute)
    now = now or timezone.now()
    applied_on = clean_date(data.get("applied_on"), "applied_on", not_future=True)
    court = _text(data, "court", _("Name the court."), 100)
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "court", {State.AGREED, State.CLOSED})
        agreement = current_agreement(d)
        made = timezone.localdate(agreement.made_at)
        if applied_on < made or applied_on > made + COURT_WINDOW:
            raise InvalidField(
                "applied_on",
                _("The application must be made within 30 days of the agreement (%(start)s to %(end)s).")
                % {"start": made, "end": made + COURT_WINDOW},
            )
        if CourtConfirmation.objects.filter(dispute=d).exists():
            raise Conflict(_("The court application is already recorded."))
        confirmation = CourtConfirmation.objects.create(
            dispute=d,
            agreement=agreement,
            court=court,
            applied_on=applied_on,
            referral_number=str(data.get("referral_number") or "").strip()[:60],
            recorded_by=actor,
        )
        procedure.record_event(
            d, actor, "court_applied", d.state, data={"court": court, "referral": confirmation.referral_number}, now=now
        )
    return confirmation


def court_answer(actor, dispute: Dispute, data: dict, now=None) -> CourtConfirmation:
    """The court's answer: confirmed or not (with its reasons in the note)."""
    procedure.require(actor, dispute)
    now = now or timezone.now()
    answer = str(data.get("answer") or "")
    if answer not in (CourtAnswer.CONFIRMED, CourtAnswer.REJECTED):
        raise InvalidField("answer", _("The court confirmed the agreement or did not."))
    answered_on = clean_date(data.get("answered_on"), "answered_on", not_future=True)
    with transaction.atomic():
        d = procedure.locked(dispute)
        confirmation = CourtConfirmation.objects.select_for_update().filter(dispute=d).first()
        if confirmation is None:
            raise Conflict(_("Record the application to the court first."))
        if confirmation.answer != CourtAnswer.PENDING:
            raise Conflict(_("The court's answer is already recorded."))
        if answered_on < confirmation.applied_on:
            raise InvalidField("answered_on", _("The answer cannot come before the application."))
        confirmation.answer, confirmation.answered_on = answer, answered_on
        confirmation.note = str(data.get("note") or "").strip()[:4000]
        confirmation.save()
        procedure.record_event(
            d, actor, "court_answer", d.state, note=confirmation.note, data={"answer": answer}, now=now
        )
    return confirmation
