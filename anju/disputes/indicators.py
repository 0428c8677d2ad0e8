"""Figures of dispute mediation: how many disputes were taken in, settled, performed, followed up, escalated.

The disputes counted are those received in a period [from, to) (local days, Asia/Shanghai) in the reader's
reach (`queries.disputes`), under a division or grid when one is asked for. Each figure is a filtered count
(or a sum, or a mean) in one aggregate query grouped by the key asked for, plus one aggregate for the total
and one query for the keys' names: a fixed handful of queries whatever the number of disputes. Figures that
look past intake (agreements, terms, follow-ups, reviews) are read as they stand when computed.
`definitions()` says what every figure counts; the API, the pages and the workbooks use it.

A rate whose denominator is 0 is None (shown "—"), never 0 or 100%.
"""

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from anju.cases.indicators import COUNT, RATE, SCORE, Figure, clean_period
from anju.core import audit, scope
from anju.core.errors import InvalidField
from anju.core.roles import Perm
from anju.disputes import queries
from anju.disputes.models import (
    FIRST_LEVELS,
    LEVELS,
    Agreement,
    CourtAnswer,
    CourtConfirmation,
    DisputeEvent,
    DossierReview,
    FollowUp,
    Kind,
    Level,
    MediationRoom,
    Mediator,
    Outcome,
    Term,
    TermState,
)
from anju.geo.models import Division

GROUPING_LABELS = {
    "mediator": gettext_lazy("Lead mediator"),
    "room": gettext_lazy("Mediation room"),
    "community": gettext_lazy("Community"),
    "street": gettext_lazy("Street"),
    "kind": gettext_lazy("Kind"),
    "level": gettext_lazy("Level"),
    "outcome": gettext_lazy("Outcome"),
    "month": gettext_lazy("Month received"),
}
# Rows of disputes that have no key: what they are called.
NO_KEY = {
    "mediator": gettext_lazy("No lead"),
    "room": gettext_lazy("No room"),
    "community": gettext_lazy("Not in a community"),
    "street": gettext_lazy("Not in a street"),
    "outcome": gettext_lazy("Not concluded"),
}
# Groupings whose keys are rows of a table (named from it) or choices (named by their labels, in their order).
NAMED_BY = {"mediator": Mediator, "room": MediationRoom, "community": Division, "street": Division}
CHOICES = {"kind": Kind, "level": Level, "outcome": Outcome}
# Levels a dispute can be escalated to (all but the lowest).
ESCALATION_LEVELS = LEVELS[1:]


def definitions() -> list[Figure]:
    """Every figure in display order, with its precise definition."""
    out = [
        Figure(
            "received",
            pgettext("dispute figure", "Received"),
            COUNT,
            _("Disputes received in the period (received_at in [from, to))."),
        ),
        Figure(
            "accepted",
            pgettext("dispute figure", "Accepted"),
            COUNT,
            _("Of those, disputes accepted for mediation (accepted_at set)."),
        ),
        Figure(
            "concluded",
            _("Concluded"),
            COUNT,
            _("Disputes whose mediation ended in an agreement or a termination (declined and referred are not)."),
        ),
        Figure("settled", _("Settled"), COUNT, _("Concluded disputes whose outcome is an agreement.")),
        Figure(
            "terminated",
            pgettext("dispute figure", "Terminated"),
            COUNT,
            _("Concluded disputes whose mediation was terminated."),
        ),
        Figure("success_rate", _("Success rate"), RATE, _("Settled / concluded.")),
        Figure(
            "within_period",
            _("Concluded within 30 days"),
            COUNT,
            _("Concluded disputes concluded within the 30-day period (concluded_late false)."),
        ),
        Figure("within_period_rate", _("Within-period rate"), RATE, _("Concluded within 30 days / concluded.")),
        Figure(
            "terms_settled",
            _("Agreements with every term settled"),
            COUNT,
            _("Settled disputes whose agreement in force (highest version) has no term still pending."),
        ),
        Figure(
            "performed",
            _("Agreements performed"),
            COUNT,
            _("Settled disputes every term of whose agreement in force is recorded as performed."),
        ),
        Figure(
            "performance_rate",
            _("Performance rate"),
            RATE,
            _("Agreements performed / agreements with every term settled."),
        ),
        Figure(
            "follow_up_due",
            _("Follow-ups due"),
            COUNT,
            _("Settled disputes with a follow-up visit due before the period's end (due_on earlier than “to”)."),
        ),
        Figure(
            "followed_up",
            _("Followed up"),
            COUNT,
            _("Of the follow-ups due, disputes with at least one follow-up visit recorded (done_at set)."),
        ),
        Figure("follow_up_rate", _("Follow-up rate"), RATE, _("Followed up / follow-ups due.")),
        Figure(
            "court_confirmed",
            _("Court-confirmed"),
            COUNT,
            _("Disputes whose agreement a court confirmed (司法确认, answer confirmed)."),
        ),
        Figure(
            "escalated",
            _("Escalated"),
            COUNT,
            _("Disputes escalated at least once (an escalate step on their timeline)."),
        ),
        Figure("escalations", _("Escalation steps"), COUNT, _("Escalate steps taken, all disputes together.")),
    ]
    out += [
        Figure(
            f"escalated_to_{level}",
            _("Escalated to: %(level)s") % {"level": Level(level).label},
            COUNT,
            _("Disputes escalated at least once to this level (to_level of an escalate step)."),
        )
        for level in ESCALATION_LEVELS
    ]
    out += [
        Figure(
            "settled_first_level",
            _("Settled at the first level"),
            COUNT,
            _("Settled disputes settled on the spot or in a mediation room (settled_level)."),
        ),
        Figure("first_level_share", _("First-level share"), RATE, _("Settled at the first level / settled.")),
        Figure("repeats", _("Repeat disputes"), COUNT, _("Disputes linked to an earlier dispute of the same parties.")),
        Figure("reviewed", _("Dossiers reviewed"), COUNT, _("Disputes whose dossier has at least one review.")),
        Figure(
            "review_score",
            _("Average review score"),
            SCORE,
            _("0-100: mean over reviewed disputes of each dispute's mean review total."),
        ),
    ]
    return out


# The rates and the counts they divide: rate -> (numerator, denominator).
RATES = {
    "success_rate": ("settled", "concluded"),
    "within_period_rate": ("within_period", "concluded"),
    "performance_rate": ("performed", "terms_settled"),
    "follow_up_rate": ("followed_up", "follow_up_due"),
    "first_level_share": ("settled_first_level", "settled"),
}


@dataclass(frozen=True)
class Selection:
    """The disputes a report counts: received in [start, end), in reach, under `place` when given."""

    place: scope.Node | None
    start: date
    end: date
    disputes: QuerySet


def require_view(user) -> None:
    """403 for a reader without disputes.view."""
    if not scope.has_perm(user, Perm.DISPUTES_VIEW):
        raise PermissionDenied


def place_for(user, code: str | None) -> scope.Node | None:
    """The division or grid asked for (None: the reader's whole reach); 422 naming `division` for an unknown
    code, 404 for one outside the reader's scope."""
    code = (code or "").strip()
    if not code:
        return None
    node = scope.node_lookup(code)
    if node is None:
        raise InvalidField("division", _("No division or grid has this code."))
    if not scope.in_scope(user, node.path):
        raise Http404
    return node


def clean_by(by: str | None) -> str:
    """A grouping name (default: street); 422 naming `by` for anything else."""
    by = (by or "").strip() or "street"
    if by not in GROUPING_LABELS:
        raise InvalidField("by", _("Group by one of: %(names)s.") % {"names": ", ".join(GROUPING_LABELS)})
    return by


def day_start(day: date) -> datetime:
    """00:00 local time of `day`."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def select(user, division: str | None = None, start: date | None = None, end: date | None = None) -> Selection:
    """The disputes a report counts; 403 without disputes.view, 404 outside scope, 422 for a bad period."""
    require_view(user)
    place = place_for(user, division)
    start, end = clean_period(start, end)
    disputes = queries.disputes(user).filter(received_at__gte=day_start(start), received_at__lt=day_start(end))
    if place is not None:
        disputes = disputes.filter(path__startswith=place.path)
    return Selection(place, start, end, disputes)


def _aggregates(selection: Selection) -> dict:
    """Every count of `definitions()` as an aggregate; follow-ups count as due when due before the period's end.

    What a count needs to know of a dispute's agreements, follow-ups, timeline and reviews is a set of
    disputes read once per query by an uncorrelated subquery (PostgreSQL hashes it), not a sub-query run
    once per dispute; each set is cut to the disputes received in the period so that it stays small."""
    received = {
        "dispute__received_at__gte": day_start(selection.start),
        "dispute__received_at__lt": day_start(selection.end),
    }

    def having(model, **filters) -> Q:
        """The disputes with at least one `model` row matching `filters`."""
        return Q(pk__in=model.objects.filter(**received, **filters).order_by().values("dispute_id"))

    def escalated_to(**filters) -> Q:
        # Every escalate step adds one to the dispute's escalation_count in the same action, so only
        # disputes with a count are looked for on the timeline (a few, instead of the period's every event).
        return having(DisputeEvent, dispute__escalation_count__gt=0, action="escalate", **filters)

    # Terms of the agreement in force: no later version of the same dispute's agreement exists.
    later = Agreement.objects.filter(dispute=OuterRef("agreement__dispute"), version__gt=OuterRef("agreement__version"))
    current_terms = Term.objects.filter(**{f"agreement__{k}": v for k, v in received.items()}).exclude(Exists(later))

    def with_current_term(condition: Q) -> Q:
        """The disputes whose agreement in force has a term meeting `condition`."""
        return Q(pk__in=current_terms.filter(condition).order_by().values("agreement__dispute_id"))

    reviewed = having(DossierReview)
    mean_review = DossierReview.objects.filter(dispute=OuterRef("pk")).order_by().values("dispute")
    concluded = Q(outcome__in=[Outcome.AGREEMENT, Outcome.TERMINATED])
    settled = Q(outcome=Outcome.AGREEMENT)
    due = settled & having(FollowUp, due_on__lt=selection.end)
    # Disputes with a follow-up due and one done (not necessarily the same): one pass over the follow-ups.
    due_and_done = (
        FollowUp.objects.filter(**received)
        .order_by()
        .values("dispute_id")
        .annotate(due=Count("pk", filter=Q(due_on__lt=selection.end)), done=Count("done_at"))
        .filter(due__gt=0, done__gt=0)
        .values("dispute_id")
    )
    out = {
        "received": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "concluded": Count("pk", filter=concluded),
        "settled": Count("pk", filter=settled),
        "terminated": Count("pk", filter=Q(outcome=Outcome.TERMINATED)),
        "within_period": Count("pk", filter=concluded & Q(concluded_late=False)),
        "terms_settled": Count("pk", filter=settled & ~with_current_term(Q(state=TermState.PENDING))),
        "performed": Count("pk", filter=settled & ~with_current_term(~Q(state=TermState.DONE))),
        "follow_up_due": Count("pk", filter=due),
        "followed_up": Count("pk", filter=settled & Q(pk__in=due_and_done)),
        "court_confirmed": Count("pk", filter=having(CourtConfirmation, answer=CourtAnswer.CONFIRMED)),
        "escalated": Count("pk", filter=escalated_to()),
        "escalations": Coalesce(Sum("escalation_count"), 0, output_field=IntegerField()),
        "settled_first_level": Count("pk", filter=settled & Q(settled_level__in=list(FIRST_LEVELS))),
        "repeats": Count("pk", filter=Q(repeat_of__isnull=False)),
        "reviewed": Count("pk", filter=reviewed),
        # Each reviewed dispute's mean review total, summed (the score is this over `reviewed`, so that a
        # total can be added up from its groups); the sub-query runs for the reviewed disputes only.
        "review_sum": Sum(Subquery(mean_review.annotate(mean=Avg("total")).values("mean")), filter=reviewed),
    }
    for level in ESCALATION_LEVELS:
        out[f"escalated_to_{level}"] = Count("pk", filter=escalated_to(data__to_level=level))
    return out


def rate(part: int, whole: int) -> float | None:
    """A share from 0 to 1, four decimals; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def _figures(counts: dict) -> dict:
    """The figures of one group from its aggregates (see `definitions()`)."""
    out = {name: value for name, value in counts.items() if name != "review_sum"}
    for name, (part, whole) in RATES.items():
        out[name] = rate(counts[part], counts[whole])
    reviewed = counts["reviewed"]
    out["review_score"] = round(float(counts["review_sum"]) / reviewed, 1) if reviewed else None
    return out


def total(selection: Selection) -> dict:
    """The figures over the whole selection: one query."""
    return _figures(selection.disputes.aggregate(**_aggregates(selection)))


def _key(by: str):
    if by == "month":
        return TruncMonth("received_at", tzinfo=timezone.get_default_timezone())
    return F({"mediator": "lead_id", "room": "room_id", "community": "community_id", "street": "street_id"}.get(by, by))


def _names(by: str, keys: list) -> dict:
    """Each key's (code shown, name, sort position)."""
    if by == "month":
        return {k: (f"{k:%Y-%m}", f"{k:%Y-%m}", k.isoformat()) for k in keys}
    if by in CHOICES:
        choices = CHOICES[by]
        return {k: (k, str(choices(k).label), f"{choices.values.index(k):03d}") for k in keys if k in choices.values}
    model = NAMED_BY[by]
    rows = model.objects.filter(pk__in=keys).order_by().values_list("pk", "name")
    return {pk: (str(pk), name, name) for pk, name in rows}


def _grouped(selection: Selection, by: str) -> list[dict]:
    """The aggregates of each key of the grouping: one query."""
    disputes = selection.disputes.annotate(group=_key(by)).values("group").order_by()
    return list(disputes.annotate(**_aggregates(selection)))


def _rows(by: str, grouped: list[dict]) -> list[dict]:
    """One row per group of `_grouped` (disputes without a key in a last row, key None): one query for the names."""
    names = _names(by, [g["group"] for g in grouped if g["group"] not in (None, "")])
    out = []
    for group in grouped:
        counts = {name: value for name, value in group.items() if name != "group"}
        code, name, position = names.get(group["group"], (None, str(NO_KEY.get(by, "—")), ""))
        out.append({"key": code, "name": name, "position": position, **_figures(counts)})
    out.sort(key=lambda r: (r["key"] is None, r.pop("position")))
    return out


def _added_up(selection: Selection, grouped: list[dict]) -> dict:
    """The figures over the whole selection from its groups' aggregates, which are all counts or sums."""
    names = list(_aggregates(selection))
    return _figures({name: sum(group[name] or 0 for group in grouped) for name in names})


def rows(selection: Selection, by: str) -> list[dict]:
    """One row per key of the grouping (disputes without one in a last row, key None): two queries."""
    return _rows(by, _grouped(selection, by))


def definitions_out() -> list[dict]:
    """The definitions as plain dicts (for the API and the pages' scripts)."""
    return [{"field": f.field, "heading": f.heading, "kind": f.kind, "definition": f.definition} for f in definitions()]


def report(selection: Selection, by: str) -> dict:
    """{period, division, by, rows, total, definitions} of a selection grouped `by`."""
    place = selection.place
    grouped = _grouped(selection, by)
    return {
        "period": {"from": selection.start, "to": selection.end},
        "division": None if place is None else {"code": place.code, "name": place.name, "level": place.level},
        "by": by,
        "rows": _rows(by, grouped),
        "total": _added_up(selection, grouped),
        "definitions": definitions_out(),
    }


def figures(user, division=None, start=None, end=None, by="street") -> dict:
    """The figures of the disputes received in [start, end) in the reader's reach (under `division` when
    given), grouped `by` mediator, room, community, street, kind, level, outcome or month. 403 without
    disputes.view, 404 for a division outside scope, 422 naming the field for a bad division, period or
    grouping."""
    by = clean_by(by)
    return report(select(user, division, start, end), by)


# --- Workbooks -------------------------------------------------------------------------------------

FORMATS = {COUNT: "0", RATE: "0.0%", SCORE: "0.0"}


def cell(value):
    """What a workbook cell holds: the value, or "—" for a figure with nothing to count."""
    return "—" if value is None else value


def write_table(sheet, by: str, table: list[dict], overall: dict) -> None:
    """A sheet of one row per key of `by`, the total first, one column per figure."""
    from openpyxl.styles import Font

    figures_ = definitions()
    sheet.append([_("Code"), str(GROUPING_LABELS[by])] + [f.heading for f in figures_])
    for row in [{"key": "", "name": _("Total"), **overall}, *table]:
        sheet.append([row["key"] or "", row["name"]] + [cell(row[f.field]) for f in figures_])
        for column, figure in enumerate(figures_, start=3):
            sheet.cell(sheet.max_row, column).number_format = FORMATS[figure.kind]
    for c in sheet[1] + sheet[2]:
        c.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["B"].width = 28


def write_definitions(sheet, about: list[tuple[str, str]]) -> None:
    """A sheet saying what the workbook covers (`about`: label, value), then every figure's definition."""
    from openpyxl.styles import Font

    for label, value in about:
        sheet.append([label, value])
    sheet.append([])
    sheet.append([_("Figure"), _("Definition")])
    for c in sheet[sheet.max_row]:
        c.font = Font(bold=True)
    for figure in definitions():
        sheet.append([figure.heading, figure.definition])
    sheet.append([])
    sheet.append([_("No denominator"), _("A rate with nothing to divide by is shown as —, not as 0 or 100%.")])
    sheet.append([_("Scope"), _("Only disputes inside the reader's reach are counted.")])
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 100


def about(user, selection: Selection) -> list[tuple[str, str]]:
    """What a workbook covers: the place, the period, who made it and when (Asia/Shanghai)."""
    place = selection.place
    generated = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    return [
        (_("Division"), _("Whole scope") if place is None else f"{place.name} ({place.code})"),
        (_("Period"), f"{selection.start.isoformat()} – {(selection.end - timedelta(days=1)).isoformat()}"),
        (_("Disputes counted"), _("Received from the first day 00:00 to the last day 24:00, Asia/Shanghai.")),
        (_("Generated at"), f"{generated:%Y-%m-%d %H:%M:%S} (Asia/Shanghai)"),
        (_("Generated by"), getattr(user, "username", "")),
    ]


def workbook(user, division=None, start=None, end=None, by="street") -> bytes:
    """The figures as XLSX (the table grouped `by`, then the definitions), in the platform's language;
    audited as an export."""
    from openpyxl import Workbook

    by = clean_by(by)
    selection = select(user, division, start, end)
    grouped = _grouped(selection, by)
    table, overall = _rows(by, grouped), _added_up(selection, grouped)
    with translation.override(settings.LANGUAGE_CODE):
        book = Workbook()
        sheet = book.active
        sheet.title = _("Figures")[:31]
        write_table(sheet, by, table, overall)
        write_definitions(book.create_sheet(_("Definitions")[:31]), about(user, selection))
    out = io.BytesIO()
    book.save(out)
    audit.record(
        "disputes.figures_export",
        user=user,
        object_type="geo.division",
        object_id=selection.place.code if selection.place else "",
        detail={"from": selection.start.isoformat(), "to": selection.end.isoformat(), "by": by},
    )
    return out.getvalue()
