"""API of the closed loop: report a case, list and read cases in reach, take the life-cycle steps,
summon departments, rate the result; categories and units for clients.

Every write goes through `anju.cases.actions`. A case outside the caller's reach answers 404; a step
their role may not take 403; a step the case's state does not allow 409; invalid input 422 naming
the field. Photos travel as base64 strings (or `data:` URIs) of JPEG or PNG images.
"""

import base64
import binascii
import inspect
from datetime import datetime
from typing import Annotated

from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import AfterValidator, Field

from anju.cases import actions, queries
from anju.cases.actions import intake, lifecycle
from anju.cases.actions.summons import REPORT_IN_LIMIT
from anju.cases.models import CasePhoto, Channel, State, Supervision
from anju.core.errors import InvalidField
from anju.core.uploads import clean_photo
from anju.registry.api import Page

router = Router(tags=["cases"])

# Channels an API client may report through; the others belong to their own intakes.
API_CHANNELS = (Channel.FIELD, Channel.HOTLINE, Channel.RESIDENT, Channel.API)


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


# Times are stored in UTC and answered in local time (Asia/Shanghai, "+08:00"), as the pages show them.
LocalTime = Annotated[datetime, AfterValidator(_local)]


# --- Schemas ---------------------------------------------------------------------------------------


class CategoryNode(Schema):
    code: str
    name: str
    children: list["CategoryNode"]


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    department: str
    level: str
    division: str


class CaseOut(Schema):
    number: str
    state: str
    category: str
    category_name: str
    description: str
    channel: str
    level: str
    unit: str
    unit_name: str
    assignee: str | None
    grid: str | None
    address: str
    lng: float | None
    lat: float | None
    reported_at: LocalTime
    due_at: LocalTime | None
    supervision: str


class ReportedOut(CaseOut):
    possible_duplicates: list[str]


class EventOut(Schema):
    at: LocalTime
    actor: str
    action: str
    from_: str = Field(alias="from")
    to: str
    note: str
    data: dict
    photos: list[str]


class SummonsOut(Schema):
    id: int
    unit: str
    unit_name: str
    state: str
    due_at: LocalTime
    reported_in_at: LocalTime | None
    done_at: LocalTime | None
    red: bool
    note: str


class CaseDetail(CaseOut):
    community: str | None
    street: str | None
    district: str
    stage: str | None
    warn_at: LocalTime | None
    close_due_at: LocalTime | None
    reporter_name: str
    reporter_phone: str
    accepted_at: LocalTime | None
    registered_at: LocalTime | None
    dispatched_at: LocalTime | None
    handled_at: LocalTime | None
    checked_at: LocalTime | None
    closed_at: LocalTime | None
    rework_count: int
    extension_count: int
    escalation_count: int
    extension_requested: str
    extension_reason: str
    duplicate_of: str | None
    rating: str
    score: int | None
    rating_comment: str
    flagged: bool
    events: list[EventOut]
    summonses: list[SummonsOut]
    allowed_actions: list[str]


class ReportIn(Schema):
    category: str = Field(..., description="a leaf category code, e.g. 0601")
    description: str
    lat: float | None = None
    lng: float | None = None
    address: str = Field("", description="used to place the case when no point is given")
    channel: str = Field("api", description="field, hotline, resident or api")
    photos: list[str] = Field([], description="base64 or data: URIs of JPEG/PNG images, at most 6")
    reporter_name: str = ""
    reporter_phone: str = ""


class TransitionIn(Schema):
    action: str = Field(..., description=", ".join(lifecycle.STEPS))
    note: str = ""
    unit: str | None = Field(None, description="dispatch, reroute: a unit code")
    assignee: str | None = Field(None, description="dispatch: a username in the unit")
    reason: str | None = Field(None, description="reject: invalid, duplicate or not_ours")
    duplicate_of: str | None = Field(None, description="reject as duplicate: the original case number")
    limit: str | None = Field(None, description="extend: more working time, e.g. 8h or 2d")
    approve: bool | None = Field(None, description="approve_extension: true to grant, false to refuse")
    photos: list[str] = Field([], description="report_back, check, rework: JPEG/PNG as base64")


class SummonIn(Schema):
    units: list[str] = Field(..., description="department unit codes")
    note: str = ""
    within: str = Field(REPORT_IN_LIMIT, description="working time to report in, e.g. 2h")


class NoteIn(Schema):
    note: str = ""


class RatingIn(Schema):
    score: int
    comment: str = ""


# --- Shapes ----------------------------------------------------------------------------------------


def decode_photos(items: list[str]) -> list[ContentFile]:
    """Base64 strings or data: URIs -> checked JPEG/PNG files; 422 naming `photos` otherwise."""
    if len(items) > intake.MAX_PHOTOS:
        raise InvalidField("photos", _("At most 6 photos."))
    files = []
    for item in items:
        text = item.strip()
        if text.startswith("data:"):
            header, _sep, text = text.partition(",")
            if not header.endswith(";base64"):
                raise InvalidField("photos", _("A photo must be sent as base64."))
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidField("photos", _("A photo must be sent as base64.")) from None
        files.append(clean_photo(ContentFile(raw, name="photo"), "photos"))
    return files


def _summary(case) -> dict:
    return {
        "number": case.number,
        "state": case.state,
        "category": case.category.code,
        "category_name": case.category.name,
        "description": case.description,
        "channel": case.channel,
        "level": case.level,
        "unit": case.unit.code,
        "unit_name": case.unit.name,
        "assignee": case.assignee.username if case.assignee_id else None,
        "grid": case.grid.code if case.grid_id else None,
        "address": case.address,
        "lng": case.lng,
        "lat": case.lat,
        "reported_at": case.reported_at,
        "due_at": case.due_at,
        "supervision": case.supervision,
    }


def _photo_url(case, photo) -> str:
    return reverse("api:case_photo", kwargs={"number": case.number, "photo_id": photo.pk})


def _event(case, event) -> dict:
    return {
        "at": event.at,
        "actor": event.username,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "note": event.note,
        "data": event.data,
        "photos": [_photo_url(case, p) for p in event.photos.all()],
    }


def _summons(s) -> dict:
    return {
        "id": s.pk,
        "unit": s.unit.code,
        "unit_name": s.unit.name,
        "state": s.state,
        "due_at": s.due_at,
        "reported_in_at": s.reported_in_at,
        "done_at": s.done_at,
        "red": s.red,
        "note": s.note,
    }


def _detail(user, number: str) -> dict:
    """The case as the user may see it now: timeline, summonses, their next steps, reporter masked."""
    case = queries.get_case(user, number)
    milestones = ("accepted_at", "registered_at", "dispatched_at", "handled_at", "checked_at", "closed_at")
    progress = ("rework_count", "extension_count", "escalation_count", "extension_requested", "extension_reason")
    return {
        **_summary(case),
        "community": case.community_id,
        "street": case.street_id,
        "district": case.district_id,
        "stage": case.stage,
        "warn_at": case.warn_at,
        "close_due_at": case.close_due_at,
        **queries.reporter_fields(user, case),
        **{name: getattr(case, name) for name in milestones + progress},
        "duplicate_of": case.duplicate_of.number if case.duplicate_of_id else None,
        "rating": case.rating,
        "score": case.score,
        "rating_comment": case.rating_comment,
        "flagged": case.flagged,
        "events": [_event(case, e) for e in queries.timeline(case)],
        "summonses": [_summons(s) for s in queries.summonses(user, case)],
        "allowed_actions": actions.allowed_actions(user, case),
    }


def _choice(field: str, value: str, allowed) -> str:
    if value and value not in allowed:
        raise InvalidField(field, _("Choose one of: %(values)s") % {"values": ", ".join(allowed)})
    return value


# --- Reference data --------------------------------------------------------------------------------


@router.get("/case-categories", response=list[CategoryNode])
def case_categories(request):
    """The active case categories as a tree; cases are filed under a leaf."""
    return queries.category_tree()


@router.get("/units", response=list[UnitOut])
def units(request):
    """Units in the caller's scope and the departments of the districts above it."""
    return [
        {
            "code": u.code,
            "name": u.name,
            "kind": u.kind,
            "department": u.department,
            "level": u.level,
            "division": u.division_id,
        }
        for u in queries.units(request.user)
    ]


# --- Cases -----------------------------------------------------------------------------------------


@router.post("/cases", response={201: ReportedOut})
def report(request, payload: ReportIn):
    """Report a case at a point (lat, lng) or an address; answers the case and the open cases it may repeat."""
    channel = _choice("channel", payload.channel, API_CHANNELS)
    data = payload.dict(exclude={"channel", "photos"})
    case, duplicates = actions.report_case(request.user, data, channel, photos=decode_photos(payload.photos))
    return Status(201, {**_summary(case), "possible_duplicates": [d.number for d in duplicates]})


@router.get("/cases", response=list[CaseOut])
def case_list(
    request,
    state: str = "",
    overdue: bool | None = None,
    grid: str = "",
    unit: str = "",
    under: str = "",
    category: str = "",
    supervision: str = "",
    mine: bool = False,
    page: Query[Page] = None,
):
    """Cases in reach, newest first; `state=open` for every open state, `mine=true` for the caller's work."""
    qs = queries.filtered(
        request.user,
        state=_choice("state", state, ["open", *State.values]),
        overdue=overdue,
        grid=grid,
        unit=unit,
        under=under,
        category=category,
        supervision=_choice("supervision", supervision, Supervision.values),
        mine=mine,
    )
    page = page or Page()
    return [_summary(c) for c in qs[page.offset : page.offset + page.limit]]


@router.get("/cases/{number}", response=CaseDetail, by_alias=True)
def case_detail(request, number: str):
    """One case with its timeline, summonses, deadlines and the steps the caller may take."""
    return _detail(request.user, number)


@router.get("/cases/{number}/photos/{photo_id}", url_name="case_photo")
def case_photo(request, number: str, photo_id: int):
    """A photo of a case's timeline, for those who may read the case."""
    case = queries.get_case(request.user, number)
    photo = CasePhoto.objects.filter(case=case, pk=photo_id).first()
    if photo is None:
        raise Http404
    return FileResponse(photo.file.open("rb"))


@router.post("/cases/{number}/transitions", response=CaseDetail, by_alias=True)
def transition(request, number: str, payload: TransitionIn):
    """Take one step of the life cycle; answers the case as it is afterwards."""
    user = request.user
    case = queries.get_case(user, number)
    params = payload.dict(include={"unit", "assignee", "reason", "duplicate_of", "limit", "approve"}, exclude_none=True)
    step = lifecycle.STEPS.get(payload.action)
    if payload.photos and step is not None:
        if "photos" not in inspect.signature(step[0]).parameters:
            raise InvalidField("photos", _("This step takes no photos."))
        params["photos"] = decode_photos(payload.photos)
    actions.transition(user, case, payload.action, note=payload.note, **params)
    return _detail(user, number)


@router.post("/cases/{number}/summons", response={201: list[SummonsOut]})
def summon(request, number: str, payload: SummonIn):
    """吹哨报到: call departments onto the case; each must report in within `within` working time."""
    case = queries.get_case(request.user, number)
    made = actions.summon(request.user, case, payload.units, note=payload.note, within=payload.within)
    return Status(201, [_summons(s) for s in made])


@router.post("/cases/{number}/summons/{summons_id}/report-in", response=SummonsOut)
def report_in(request, number: str, summons_id: int, payload: NoteIn = None):
    """A summoned department reports in (报到); late is red-carded."""
    case = queries.get_case(request.user, number)
    summons = actions.get_summons(case, summons_id)
    return _summons(actions.report_in(request.user, summons, note=payload.note if payload else ""))


@router.post("/cases/{number}/summons/{summons_id}/done", response=SummonsOut)
def summons_done(request, number: str, summons_id: int, payload: NoteIn):
    """A summoned department says what it did."""
    case = queries.get_case(request.user, number)
    summons = actions.get_summons(case, summons_id)
    return _summons(actions.summons_done(request.user, summons, note=payload.note))


@router.post("/cases/{number}/rating", response=CaseDetail, by_alias=True)
def rating(request, number: str, payload: RatingIn):
    """The reporter's score (1-5) of a closed case, within 3 days of closing (or the desk, for a phone rating)."""
    case = queries.get_case(request.user, number)
    actions.rate(case, payload.score, payload.comment, actor=request.user)
    return _detail(request.user, number)
