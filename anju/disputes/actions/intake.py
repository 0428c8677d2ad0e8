"""Taking in a dispute from any source: validate, place, assess the risk, route by grade, number,
link what it relates to, and tell whoever must act (and, for a grave one, the chief and the street)."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases import queries as case_queries
from anju.cases.actions.intake import clean_place, place
from anju.cases.models import Case
from anju.core import scope
from anju.core.errors import InvalidField
from anju.core.roles import Perm
from anju.core.validators import parse_id_number
from anju.disputes import routing
from anju.disputes.actions import procedure
from anju.disputes.models import (
    GRADES,
    Dispute,
    Flag,
    Grade,
    Kind,
    Level,
    MediationType,
    Party,
    PartyRole,
    RiskAssessment,
    Source,
)
from anju.registry import cleaning
from anju.registry.models import Organization, Person

MAX_TEXT = 4000
MAX_PARTIES = 20
# Case categories (anju/cases/data/categories.json) that are disputes, and the dispute kind of each.
KIND_OF_CATEGORY = {
    "0201": Kind.NEIGHBOUR,
    "0202": Kind.FAMILY,
    "0203": Kind.PROPERTY,
    "0204": Kind.LABOUR,
    "1203": Kind.SALE,
}


def from_case(case: Case) -> dict:
    """What a reported case already says about a dispute, to start its intake with."""
    return {
        "source": Source.CASE,
        "kind": KIND_OF_CATEGORY.get(case.category.code, Kind.OTHER),
        "summary": f"{case.category.name}：{case.description}"[:200],
        "facts": case.description,
        "address": case.address,
        "lng": case.lng,
        "lat": case.lat,
        "cases": case.number,
    }


def clean_risk(data: dict) -> dict:
    """Grade, flags and parallel routes of an assessment; the grade is raised to what the flags demand."""
    flags = data.get("flags") or []
    if isinstance(flags, str):
        flags = [f for f in flags.split(",") if f.strip()]
    flags = [str(f).strip() for f in flags]
    for f in flags:
        if f not in Flag.values:
            raise InvalidField("flags", _("Unknown risk flag: %(flag)s.") % {"flag": f})
    grade = str(data.get("grade") or Grade.ORDINARY)
    if grade not in Grade.values:
        raise InvalidField("grade", _("Unknown grade."))
    return {
        "grade": routing.graver(grade, routing.minimum_grade(flags)),
        "flags": sorted(set(flags), key=Flag.values.index),
        "petition_pending": bool(data.get("petition_pending")),
        "court_pending": bool(data.get("court_pending")),
    }


def _id_number(value, field: str) -> str:
    text = str(value or "").strip()
    return cleaning.validated(field, parse_id_number, text).number if text else ""


def clean_party(actor, data: dict, i: int) -> Party:
    """One party: a registry person (`person`: id), an organization (`organization`: id) or a name."""
    field = f"parties[{i}]"
    role = str(data.get("role") or "")
    if role not in PartyRole.values:
        raise InvalidField(f"{field}.role", _("Say whether the party applies, responds or is a third party."))
    party = Party(role=role, order=i)
    person_id, org_id = data.get("person"), data.get("organization")
    if person_id not in (None, ""):
        person = _reach(Person, actor).filter(pk=clean_int(person_id, f"{field}.person")).first()
        if person is None:
            raise InvalidField(f"{field}.person", _("No such person in your reach."))
        party.person, party.name, party.id_number, party.phone = (
            person,
            person.name,
            person.id_number or "",
            person.phone,
        )
    elif org_id not in (None, ""):
        org = _reach(Organization, actor).filter(pk=clean_int(org_id, f"{field}.organization")).first()
        if org is None:
            raise InvalidField(f"{field}.organization", _("No such organization in your reach."))
        party.organization, party.name, party.phone = org, org.name, org.phone
        party.representative = org.legal_representative
    else:
        name = str(data.get("name") or "").strip()
        if not name:
            raise InvalidField(f"{field}.name", _("Name the party, or pick them from the registry."))
        party.name = name[:120]
        party.id_number = _id_number(data.get("id_number"), f"{field}.id_number")
    party.phone = cleaning.clean_phone(data.get("phone"), f"{field}.phone") or party.phone
    party.address = str(data.get("address") or "").strip()[:200]
    party.representative = str(data.get("representative") or party.representative or "").strip()[:64]
    return party


def _reach(model, actor):
    """Rows the actor may name: those in their scope; all of them for the system (demo, imports)."""
    return model.objects.all() if actor is None else model.objects.restrict(actor)


def clean_int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidField(field, _("Give a number.")) from None


def clean_parties(actor, rows) -> list[Party]:
    if not isinstance(rows, list | tuple) or not rows:
        raise InvalidField("parties", _("A dispute has parties: give at least an applicant and a respondent."))
    if len(rows) > MAX_PARTIES:
        raise InvalidField("parties", _("At most 20 parties."))
    parties = [clean_party(actor, row if isinstance(row, dict) else {}, i) for i, row in enumerate(rows)]
    roles = {p.role for p in parties}
    if PartyRole.APPLICANT not in roles or PartyRole.RESPONDENT not in roles:
        raise InvalidField("parties", _("A dispute has parties: give at least an applicant and a respondent."))
    return parties


def clean_dispute(actor, data: dict) -> dict:
    """Everything of a new dispute but its parties and risk, validated."""
    out = {}
    for field, choices in (("source", Source), ("kind", Kind)):
        value = str(data.get(field) or "")
        if value not in choices.values:
            raise InvalidField(field, _("Choose one of the listed values."))
        out[field] = value
    mediation_type = str(data.get("mediation_type") or MediationType.PEOPLES)
    if mediation_type not in MediationType.values:
        raise InvalidField("mediation_type", _("Choose one of the listed values."))
    out["mediation_type"] = mediation_type
    out["summary"] = procedure.required(data.get("summary"), "summary", _("Give the dispute a one-line summary."))[:200]
    out["facts"] = procedure.required(data.get("facts"), "facts", _("Write down the facts as told."))[:MAX_TEXT]
    out["claims"] = str(data.get("claims") or "").strip()[:MAX_TEXT]
    amount = data.get("amount")
    if amount not in (None, ""):
        try:
            out["amount"] = Decimal(str(amount)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise InvalidField("amount", _("Give an amount in yuan.")) from None
        if out["amount"] < 0 or out["amount"] >= Decimal("1e10"):
            raise InvalidField("amount", _("Give an amount in yuan."))
    # The address as told is kept: it says where in the building, which the standard address may not.
    place = clean_place(data)
    out.update(lng=place["lng"], lat=place["lat"], address=place["address"])
    out["incident_number"] = str(data.get("incident_number") or "").strip()[:30]
    return out


def clean_cases(actor, numbers) -> list[Case]:
    """The related cases, each one the actor may read (any, for the system)."""
    numbers = [str(n).strip() for n in numbers or () if str(n).strip()]
    readable = Case.objects.all() if actor is None else case_queries.cases(actor)
    found = list(readable.filter(number__in=numbers)) if numbers else []
    missing = set(numbers) - {c.number for c in found}
    if missing:
        raise InvalidField(
            "cases", _("No such case in your reach: %(numbers)s.") % {"numbers": ", ".join(sorted(missing))}
        )
    return found


def earlier_dispute(parties: list[Party], before) -> Dispute | None:
    """The latest earlier dispute between the same people: two of its parties are two of these."""
    keys = Q()
    for p in parties:
        if p.person_id:
            # The same person may have been typed in by ID number in an earlier dispute.
            keys |= Q(person_id=p.person_id) | (Q(id_number=p.id_number) if p.id_number else Q(pk__in=[]))
        elif p.organization_id:
            keys |= Q(organization_id=p.organization_id)
        elif p.id_number:
            keys |= Q(id_number=p.id_number)
        elif p.phone:
            keys |= Q(name=p.name, phone=p.phone)
    if not keys:
        return None
    shared: dict[int, int] = {}
    for dispute_id in Party.objects.filter(keys, dispute__received_at__lt=before).values_list("dispute_id", flat=True):
        shared[dispute_id] = shared.get(dispute_id, 0) + 1
    ids = [i for i, n in shared.items() if n >= 2]
    return Dispute.objects.filter(pk__in=ids).order_by("-received_at").first() if ids else None


def record_dispute(actor, data: dict, now=None) -> Dispute:
    """Take in a dispute; returns it, received, at the level its grade gives, with a lead where one is free.

    `on_spot` (a 110 officer at the scene, an ordinary dispute) keeps it on the spot with the officer
    as its mediator. `cases`: numbers of related cases; `incident_number`: the 110 incident.
    """
    if actor is not None and not scope.has_perm(actor, Perm.DISPUTES_RECORD):
        raise PermissionDenied
    now = now or timezone.now()
    fields = clean_dispute(actor, data)
    risk = clean_risk(data)
    parties = clean_parties(actor, data.get("parties"))
    related = clean_cases(actor, data.get("cases"))
    dispute = Dispute(received_at=now, received_by=actor, **fields, **risk)
    place(dispute)
    if actor is not None and not scope.in_scope(actor, dispute.path):
        raise InvalidField("lng", _("The place lies outside your area."))
    on_spot = bool(data.get("on_spot")) and actor is not None
    if on_spot and not scope.has_perm(actor, Perm.DISPUTES_MEDIATE, dispute.path):
        raise InvalidField("on_spot", _("Only a mediating officer can keep a dispute on the spot."))
    level = routing.start_level(dispute.grade, on_spot)
    dispute.first_level = level
    procedure.route(dispute, level)
    if level == Level.ON_SPOT:
        dispute.lead = routing.mediator_for(actor)
        dispute._mediators = [dispute.lead]
    dispute.repeat_of = earlier_dispute(parties, now)
    with transaction.atomic():
        dispute.number = "T" + now.strftime("%H%M%S%f")
        dispute.save(force_insert=True)
        dispute.number = f"JF{timezone.localtime(now):%Y%m%d}{dispute.pk:05d}"
        Dispute.objects.filter(pk=dispute.pk).update(number=dispute.number)
        for p in parties:
            p.dispute = dispute
        Party.objects.bulk_create(parties)
        dispute.mediators.set([m for m in dispute._mediators if m is not None])
        if related:
            dispute.cases.set(related)
        RiskAssessment.objects.create(
            dispute=dispute, at=now, by=actor, context="intake", note=str(data.get("risk_note") or "")[:2000], **risk
        )
        procedure.record_event(
            dispute,
            actor,
            "receive",
            "",
            data={"source": dispute.source, "grade": dispute.grade, "level": level, "flags": dispute.flags},
            now=now,
        )
        subject = _("New dispute %(number)s: %(summary)s") % {"number": dispute.number, "summary": dispute.summary}
        people = procedure.mediator_people(dispute) or routing.managers(dispute)
        procedure.tell(people, dispute, subject, key="mediators")
        procedure.alert_if_grave(dispute)
    return dispute


def assess(actor, dispute: Dispute, data: dict, context: str = "review", now=None) -> RiskAssessment:
    """Record a new risk assessment; a graver grade or a new flag alerts the chief and the street."""
    procedure.require(actor, dispute)
    risk = clean_risk(data)
    now = now or timezone.now()
    with transaction.atomic():
        d = procedure.locked(dispute)
        graver = GRADES.index(risk["grade"]) > GRADES.index(d.grade) or bool(set(risk["flags"]) - set(d.flags))
        assessment = save_assessment(actor, d, risk, context, str(data.get("note") or "")[:2000], now)
        if graver:
            procedure.alert_if_grave(d)
    dispute.refresh_from_db()
    return assessment


def save_assessment(actor, d: Dispute, risk: dict, context: str, note: str, now) -> RiskAssessment:
    """Write the assessment, copy it onto the (locked) dispute, and put it on the timeline."""
    assessment = RiskAssessment.objects.create(dispute=d, at=now, by=actor, context=context, note=note, **risk)
    for k, v in risk.items():
        setattr(d, k, v)
    d.save(update_fields=list(risk))
    procedure.record_event(d, actor, "assess", d.state, note=note, data={"grade": d.grade, "flags": d.flags}, now=now)
    return assessment
