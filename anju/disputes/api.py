"""API of dispute mediation: take a dispute in, list and read the disputes in reach, take the steps of
the procedure, keep its records (assessments, sessions, the agreement and its terms, follow-up visits,
court confirmation, dossier reviews), download the agreement and the dossier as PDF; the mediators
and mediation rooms for clients.

Every write goes through `anju.disputes.actions`. A dispute outside the caller's reach answers 404; a
step their role may not take 403; a step the dispute's state does not allow 409; invalid input 422
naming the field. Parties' ID numbers and phones are masked unless the caller may mediate the dispute.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import AfterValidator, Field

from anju.cases.api import LocalTime
from anju.core import audit, masking, scope
from anju.core.roles import Perm
from anju.disputes import documents, queries
from anju.disputes.actions import intake, procedure, records, reviews
from anju.disputes.models import OPEN_STATES, Grade, Kind, Level, MediatorKind, State
from anju.registry.api import Page
from anju.registry.cleaning import clean_choice

router = Router(tags=["disputes"])


def _aware(moment: datetime) -> datetime:
    # A time sent without an offset is a local (Asia/Shanghai) time, as people write it.
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


AwareTime = Annotated[datetime, AfterValidator(_aware)]


# --- Schemas ---------------------------------------------------------------------------------------


class DisputeOut(Schema):
    # The dispute's identifier in every URL is its number; `id` repeats it for clients that expect one.
    id: str
    number: str
    source: str
    kind: str
    mediation_type: str
    summary: str
    grade: str
    flags: list[str]
    level: str
    state: str
    outcome: str
    room: int | None
    room_name: str
    lead: int | None
    lead_name: str
    grid: str | None
    address: str
    lng: float | None
    lat: float | None
    received_at: LocalTime
    due_at: LocalTime | None
    supervision: str


class CreatedOut(DisputeOut):
    repeat_of: str | None


class PartyOut(Schema):
    id: int
    role: str
    name: str
    id_number: str
    phone: str
    address: str
    representative: str
    person: int | None
    organization: int | None


class MediatorRef(Schema):
    id: int
    name: str
    kind: str


class AssessmentOut(Schema):
    at: LocalTime
    by: str | None
    context: str
    grade: str
    flags: list[str]
    petition_pending: bool
    court_pending: bool
    note: str


class SessionOut(Schema):
    number: int
    at: LocalTime
    place: str
    mediators: str
    attendees: str
    minutes: str
    outcome: str
    recorded_by: str | None
    recorded_at: LocalTime


class TermOut(Schema):
    order: int
    obligor: str
    text: str
    due_on: date
    state: str
    settled_at: LocalTime | None
    note: str


class AgreementOut(Schema):
    version: int
    versions: int
    made_at: LocalTime
    made_by: str | None
    facts: str
    responsibilities: str
    method: str
    deadline: date
    court_confirmation: bool
    signed_on: date | None
    terms: list[TermOut]


class FollowUpOut(Schema):
    id: int
    due_on: date
    method: str
    done_at: LocalTime | None
    by: str | None
    performed: bool | None
    satisfied: bool | None
    flare_up: bool | None
    note: str


class CourtOut(Schema):
    court: str
    agreement_version: int
    applied_on: date
    referral_number: str
    answer: str
    answered_on: date | None
    note: str


class ReviewOut(Schema):
    reviewer: str | None
    reviewed_at: LocalTime
    scores: dict[str, int]
    total: int
    comment: str


class EventOut(Schema):
    at: LocalTime
    actor: str
    action: str
    from_: str = Field(alias="from")
    to: str
    note: str
    data: dict


class DisputeDetail(DisputeOut):
    facts: str
    claims: str
    amount: Decimal | None
    petition_pending: bool
    court_pending: bool
    community: str | None
    street: str | None
    district: str
    first_level: str
    mediators: list[MediatorRef]
    outcome_reason: str
    other_routes: str
    referred_to: str
    cases: list[str]
    incident_number: str
    repeat_of: str | None
    received_by: str | None
    accepted_at: LocalTime | None
    warn_at: LocalTime | None
    concluded_at: LocalTime | None
    concluded_late: bool | None
    settled_level: str
    closed_at: LocalTime | None
    escalation_count: int
    parties: list[PartyOut]
    assessments: list[AssessmentOut]
    sessions: list[SessionOut]
    agreement: AgreementOut | None
    follow_ups: list[FollowUpOut]
    court_confirmation: CourtOut | None
    reviews: list[ReviewOut]
    events: list[EventOut]
    actions: list[str]


class TransitionOut(Schema):
    state: str
    level: str
    lead: int | None
    due_at: LocalTime | None
    event: EventOut


class MediatorOut(Schema):
    id: int
    name: str
    phone: str
    kind: str
    organization: str
    specialties: list[str]
    room: int | None
    room_name: str
    in_pool: bool
    division: str
    capacity: int
    load: int
    active: bool


class RoomOut(Schema):
    id: int
    name: str
    kind: str
    division: str
    address: str
    phone: str
    active: bool


class PartyIn(Schema):
    role: str = Field("", description="applicant, respondent or third")
    person: int | None = Field(None, description="a registry person's id (name, ID number and phone come from it)")
    organization: int | None = Field(None, description="a registry organization's id")
    name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    representative: str = ""


class DisputeIn(Schema):
    source: str = Field(..., description="police, walk_in, grid, court, petition, hotline or case")
    kind: str = Field(..., description=", ".join(Kind.values))
    mediation_type: str = Field("peoples", description="peoples, administrative or judicial")
    summary: str = ""
    facts: str = ""
    claims: str = ""
    amount: Decimal | None = Field(None, description="yuan")
    lng: float | None = None
    lat: float | None = None
    address: str = Field("", description="used to place the dispute when no point is given")
    grade: str = Field("", description="ordinary (default), difficult or major; raised to what the flags demand")
    flags: list[str] = Field([], description="threats, prior_violence, weapons, repeated_calls, mental_health")
    petition_pending: bool = False
    court_pending: bool = False
    parties: list[PartyIn] = Field([], description="at least an applicant and a respondent")
    cases: list[str] = Field([], description="numbers of related cases")
    incident_number: str = Field("", description="the 110 incident")
    on_spot: bool = Field(False, description="an officer at the scene keeps an ordinary dispute on the spot")
    risk_note: str = ""


class TransitionIn(Schema):
    action: str = Field(..., description=", ".join(procedure.STEPS))
    note: str = ""
    reason: str = Field("", description="decline, terminate: why")
    other_routes: str = Field("", description="decline, terminate: the other routes the parties were told of")
    to: str = Field("", description="refer: where the dispute goes")
    lead: int | None = Field(None, description="assign: the lead mediator's id")
    mediators: list[int] = Field([], description="assign: co-mediators' ids")


class RiskIn(Schema):
    grade: str | None = None
    flags: list[str] | None = None
    petition_pending: bool | None = None
    court_pending: bool | None = None
    note: str = ""


class SessionIn(Schema):
    at: AwareTime | None = Field(None, description="when it was held (default now)")
    place: str = ""
    mediators: str = Field("", description="who mediated (default the dispute's mediators)")
    attendees: str = ""
    minutes: str = ""
    outcome: str = Field("", description="continue, agreement or failed")
    risk: RiskIn | None = Field(None, description="the risk as re-assessed at the session (unchanged when left out)")


class TermIn(Schema):
    obligor: str = ""
    text: str = ""
    due_on: str = Field("", description="YYYY-MM-DD (default the agreement's deadline)")


class AgreementIn(Schema):
    facts: str = ""
    responsibilities: str = ""
    method: str = ""
    deadline: str = Field("", description="YYYY-MM-DD")
    court_confirmation: bool = False
    signed_on: str = Field("", description="YYYY-MM-DD")
    terms: list[TermIn] = []


class OnSpotIn(Schema):
    session: SessionIn = Field(..., description="the session held at the scene (its outcome is the agreement)")
    agreement: AgreementIn


class TermStateIn(Schema):
    state: str = Field(..., description="done or breached")
    note: str = ""


class FollowUpIn(Schema):
    due_on: str = Field("", description="schedule a visit for this day (YYYY-MM-DD)")
    method: str = Field("", description="visit or phone")
    performed: bool | None = None
    satisfied: bool | None = None
    flare_up: bool | None = None
    note: str = ""


class CourtIn(Schema):
    court: str = ""
    applied_on: str = Field("", description="YYYY-MM-DD, within 30 days of the agreement")
    referral_number: str = ""


class CourtAnswerIn(Schema):
    answer: str = Field(..., description="confirmed or rejected")
    answered_on: str = Field("", description="YYYY-MM-DD")
    note: str = ""


class ReviewIn(Schema):
    scores: dict[str, int] = Field(..., description=", ".join(code for code, _label, _points in reviews.CHECKLIST))
    comment: str = ""


# --- Shapes ----------------------------------------------------------------------------------------


def _username(user) -> str | None:
    return user.username if user is not None else None


def _summary(d) -> dict:
    return {
        "id": d.number,
        "number": d.number,
        "source": d.source,
        "kind": d.kind,
        "mediation_type": d.mediation_type,
        "summary": d.summary,
        "grade": d.grade,
        "flags": d.flags,
        "level": d.level,
        "state": d.state,
        "outcome": d.outcome,
        "room": d.room_id,
        "room_name": d.room.name if d.room_id else "",
        "lead": d.lead_id,
        "lead_name": d.lead.name if d.lead_id else "",
        "grid": d.grid.code if d.grid_id else None,
        "address": d.address,
        "lng": d.lng,
        "lat": d.lat,
        "received_at": d.received_at,
        "due_at": d.due_at,
        "supervision": d.supervision,
    }


def _event(e) -> dict:
    return {
        "at": e.at,
        "actor": e.username,
        "action": e.action,
        "from": e.from_state,
        "to": e.to_state,
        "note": e.note,
        "data": e.data,
    }


def _assessment(a) -> dict:
    return {
        "at": a.at,
        "by": _username(a.by),
        "context": a.context,
        "grade": a.grade,
        "flags": a.flags,
        "petition_pending": a.petition_pending,
        "court_pending": a.court_pending,
        "note": a.note,
    }


def _session(s) -> dict:
    return {
        "number": s.number,
        "at": s.at,
        "place": s.place,
        "mediators": s.mediators,
        "attendees": s.attendees,
        "minutes": s.minutes,
        "outcome": s.outcome,
        "recorded_by": _username(s.recorded_by),
        "recorded_at": s.recorded_at,
    }


def _term(t) -> dict:
    return {
        "order": t.order,
        "obligor": t.obligor,
        "text": t.text,
        "due_on": t.due_on,
        "state": t.state,
        "settled_at": t.settled_at,
        "note": t.note,
    }


def _agreement(a) -> dict:
    return {
        "version": a.version,
        "versions": a.dispute.agreements.count(),
        "made_at": a.made_at,
        "made_by": _username(a.made_by),
        "facts": a.facts,
        "responsibilities": a.responsibilities,
        "method": a.method,
        "deadline": a.deadline,
        "court_confirmation": a.court_confirmation,
        "signed_on": a.signed_on,
        "terms": [_term(t) for t in a.terms.all()],
    }


def _follow_up(f) -> dict:
    return {
        "id": f.pk,
        "due_on": f.due_on,
        "method": f.method,
        "done_at": f.done_at,
        "by": _username(f.by),
        "performed": f.performed,
        "satisfied": f.satisfied,
        "flare_up": f.flare_up,
        "note": f.note,
    }


def _court(c) -> dict:
    return {
        "court": c.court,
        "agreement_version": c.agreement.version,
        "applied_on": c.applied_on,
        "referral_number": c.referral_number,
        "answer": c.answer,
        "answered_on": c.answered_on,
        "note": c.note,
    }


def _review(r) -> dict:
    return {
        "reviewer": _username(r.reviewer),
        "reviewed_at": r.reviewed_at,
        "scores": r.scores,
        "total": r.total,
        "comment": r.comment,
    }


def _detail(user, number: str) -> dict:
    """The dispute as the user may see it now: parties (masked unless they may mediate), every record,
    the timeline and their next steps."""
    d = queries.get_dispute(user, number)
    agreement = records.current_agreement(d)
    court = getattr(d, "court_confirmation", None)
    return {
        **_summary(d),
        "facts": d.facts,
        "claims": d.claims,
        "amount": d.amount,
        "petition_pending": d.petition_pending,
        "court_pending": d.court_pending,
        "community": d.community_id,
        "street": d.street_id,
        "district": d.district_id,
        "first_level": d.first_level,
        "mediators": [{"id": m.pk, "name": m.name, "kind": m.kind} for m in d.mediators.all()],
        "outcome_reason": d.outcome_reason,
        "other_routes": d.other_routes,
        "referred_to": d.referred_to,
        "cases": [c.number for c in d.cases.order_by("number")],
        "incident_number": d.incident_number,
        "repeat_of": d.repeat_of.number if d.repeat_of_id else None,
        "received_by": _username(d.received_by),
        "accepted_at": d.accepted_at,
        "warn_at": d.warn_at,
        "concluded_at": d.concluded_at,
        "concluded_late": d.concluded_late,
        "settled_level": d.settled_level,
        "closed_at": d.closed_at,
        "escalation_count": d.escalation_count,
        "parties": queries.parties(user, d),
        "assessments": [_assessment(a) for a in d.assessments.select_related("by")],
        "sessions": [_session(s) for s in d.sessions.select_related("recorded_by")],
        "agreement": _agreement(agreement) if agreement else None,
        "follow_ups": [_follow_up(f) for f in d.follow_ups.select_related("by")],
        "court_confirmation": _court(court) if court else None,
        "reviews": [_review(r) for r in d.reviews.select_related("reviewer")],
        "events": [_event(e) for e in d.events.all()],
        "actions": procedure.allowed_actions(user, d),
    }


def _filter_choice(field: str, value: str, choices) -> str:
    """An optional filter: empty means any, anything else must be one of `choices`."""
    return clean_choice(value, field, choices) if value else ""


def _may_download(user, dispute) -> None:
    """The documents carry full ID numbers: only for those who may mediate the dispute (managers too)."""
    if not procedure.may_mediate(user, dispute):
        raise PermissionDenied


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Disputes --------------------------------------------------------------------------------------


@router.get("/disputes", response=list[DisputeOut])
def dispute_list(
    request,
    state: str = "",
    grade: str = "",
    level: str = "",
    kind: str = "",
    open: bool = False,
    q: str = "",
    page: Query[Page] = None,
):
    """Disputes in reach, newest first; `open=true` for those still being mediated, `q` searches the
    number and the summary."""
    qs = queries.disputes(request.user)
    filters = {
        "state": _filter_choice("state", state, State),
        "grade": _filter_choice("grade", grade, Grade),
        "level": _filter_choice("level", level, Level),
        "kind": _filter_choice("kind", kind, Kind),
    }
    qs = qs.filter(**{field: value for field, value in filters.items() if value})
    if open:
        qs = qs.filter(state__in=list(OPEN_STATES))
    if q.strip():
        qs = qs.filter(Q(number__icontains=q.strip()) | Q(summary__icontains=q.strip()))
    page = page or Page()
    return [_summary(d) for d in qs[page.offset : page.offset + page.limit]]


@router.post("/disputes", response={201: CreatedOut})
def dispute_create(request, payload: DisputeIn):
    """Take in a dispute; it is assessed, routed by grade to a level, a room and a lead, and numbered."""
    d = intake.record_dispute(request.user, payload.dict())
    return Status(201, {**_summary(d), "repeat_of": d.repeat_of.number if d.repeat_of_id else None})


@router.get("/disputes/{number}", response=DisputeDetail, by_alias=True)
def dispute_detail(request, number: str):
    """One dispute with its parties, risk assessments, sessions, agreement, follow-ups, court
    confirmation, reviews, timeline and the steps the caller may take."""
    return _detail(request.user, number)


@router.post("/disputes/{number}/transitions", response=TransitionOut, by_alias=True)
def transition(request, number: str, payload: TransitionIn):
    """Take one step of the procedure; answers the timeline event and where the dispute stands."""
    d = queries.get_dispute(request.user, number)
    params = payload.dict(exclude={"action"})
    event = procedure.transition(request.user, d, payload.action, **params)
    return {"state": d.state, "level": d.level, "lead": d.lead_id, "due_at": d.due_at, "event": _event(event)}


@router.post("/disputes/{number}/assessments", response={201: AssessmentOut})
def assess(request, number: str, payload: RiskIn):
    """Re-assess the risk; a graver grade or a new flag alerts the station chief and the street."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _assessment(intake.assess(request.user, d, payload.dict(exclude_none=True))))


@router.post("/disputes/{number}/sessions", response={201: SessionOut})
def session(request, number: str, payload: SessionIn):
    """Minutes of a mediation session (调解笔录), with the risk re-assessed."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _session(records.record_session(request.user, d, _session_data(payload))))


def _session_data(payload: SessionIn) -> dict:
    data = payload.dict(exclude={"risk"})
    data["risk"] = payload.risk.dict(exclude_none=True) if payload.risk else {}
    return data


@router.post("/disputes/{number}/agreement", response={201: AgreementOut})
def agreement(request, number: str, payload: AgreementIn):
    """A new version of the mediation agreement (调解协议书); the first concludes the mediation."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _agreement(records.save_agreement(request.user, d, payload.dict())))


@router.post("/disputes/{number}/settled-on-spot", response={201: AgreementOut})
def settled_on_spot(request, number: str, payload: OnSpotIn):
    """出门一把抓: a dispute taken on the spot, settled there: accepted, the parties informed, the session
    and the agreement recorded in one go, or nothing when any part is refused."""
    d = queries.get_dispute(request.user, number)
    data = {"session": _session_data(payload.session), "agreement": payload.agreement.dict()}
    return Status(201, _agreement(records.settle_on_spot(request.user, d, data)))


@router.get("/disputes/{number}/agreement.pdf")
def agreement_pdf(request, number: str, version: int | None = None):
    """The agreement in force (or `version`) as PDF, for those who may mediate the dispute; audited."""
    d = queries.get_dispute(request.user, number)
    _may_download(request.user, d)
    found = d.agreements.filter(version=version).first() if version else records.current_agreement(d)
    if found is None:
        raise Http404
    content = documents.agreement_pdf(found)
    audit.record(
        "dispute.agreement_pdf", user=request.user, obj=d, object_id=d.number, detail={"version": found.version}
    )
    return _pdf(content, f"{d.number}-v{found.version}.pdf")


@router.get("/disputes/{number}/dossier.pdf")
def dossier_pdf(request, number: str):
    """The whole dossier (卷宗) as PDF, for those who may mediate the dispute; audited."""
    d = queries.get_dispute(request.user, number)
    _may_download(request.user, d)
    content = documents.dossier_pdf(d)
    audit.record("dispute.dossier_pdf", user=request.user, obj=d, object_id=d.number)
    return _pdf(content, f"{d.number}-dossier.pdf")


@router.post("/disputes/{number}/terms/{order}", response=TermOut)
def settle_term(request, number: str, order: int, payload: TermStateIn):
    """Record a term of the agreement in force as performed (done) or not (breached)."""
    d = queries.get_dispute(request.user, number)
    return _term(records.settle_term(request.user, d, order, payload.state, payload.note))


@router.post("/disputes/{number}/follow-ups", response={201: FollowUpOut})
def follow_up(request, number: str, payload: FollowUpIn):
    """Schedule a follow-up visit (`due_on` alone) or record one (performed, satisfied, flare_up, note)."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _follow_up(records.follow_up(request.user, d, payload.dict())))


@router.post("/disputes/{number}/court", response={201: CourtOut})
def court(request, number: str, payload: CourtIn):
    """The parties' application for court confirmation (司法确认) of the agreement in force."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _court(records.apply_court(request.user, d, payload.dict())))


@router.post("/disputes/{number}/court/answer", response=CourtOut)
def court_answer(request, number: str, payload: CourtAnswerIn):
    """The court's answer to the application: confirmed or rejected."""
    d = queries.get_dispute(request.user, number)
    return _court(records.court_answer(request.user, d, payload.dict()))


@router.post("/disputes/{number}/reviews", response={201: ReviewOut})
def review(request, number: str, payload: ReviewIn):
    """Score a concluded dossier against the checklist (卷宗评查); managers, not the dispute's lead."""
    d = queries.get_dispute(request.user, number)
    return Status(201, _review(reviews.review_dossier(request.user, d, payload.scores, payload.comment)))


# --- Mediators and rooms ---------------------------------------------------------------------------


def _mediator(m, full: bool) -> dict:
    return {
        "id": m.pk,
        "name": m.name,
        "phone": m.phone if full else masking.mask_phone(m.phone),
        "kind": m.kind,
        "organization": m.organization,
        "specialties": m.specialties,
        "room": m.room_id,
        "room_name": m.room.name if m.room_id else "",
        "in_pool": m.in_pool,
        "division": m.division_id,
        "capacity": m.capacity,
        "load": m.load,
        "active": m.active,
    }


@router.get("/mediators", response=list[MediatorOut])
def mediator_list(request, kind: str = "", specialty: str = "", in_pool: bool | None = None, page: Query[Page] = None):
    """Mediators serving the caller's area and the pools above it, with their load (disputes they lead
    that are still someone's work); phones are masked unless the caller manages disputes."""
    qs = queries.mediators(request.user)
    kind = _filter_choice("kind", kind, MediatorKind)
    if kind:
        qs = qs.filter(kind=kind)
    specialty = _filter_choice("specialty", specialty, Kind)
    if specialty:
        # Specialties are a JSON list of Kind values; matching the quoted value works on every database.
        qs = qs.filter(specialties__icontains=f'"{specialty}"')
    if in_pool is not None:
        qs = qs.filter(in_pool=in_pool)
    page = page or Page()
    full = scope.has_perm(request.user, Perm.DISPUTES_MANAGE)
    return [_mediator(m, full) for m in qs[page.offset : page.offset + page.limit]]


@router.get("/mediators/{mediator_id}", response=MediatorOut)
def mediator_detail(request, mediator_id: int):
    """One mediator serving the caller's area."""
    found = queries.mediators(request.user).filter(pk=mediator_id).first()
    if found is None:
        raise Http404
    return _mediator(found, scope.has_perm(request.user, Perm.DISPUTES_MANAGE))


@router.get("/mediation-rooms", response=list[RoomOut])
def room_list(request):
    """Mediation rooms in the caller's scope."""
    return [
        {
            "id": r.pk,
            "name": r.name,
            "kind": r.kind,
            "division": r.division_id,
            "address": r.address,
            "phone": r.phone,
            "active": r.active,
        }
        for r in queries.rooms(request.user)
    ]
