"""The station's working rhythm around disputes (four fixed meetings): the weekly risk list, the monthly
dossier review, the quarterly joint-meeting pack and the annual mediator ranking.

Every reader needs disputes.view and sees only the disputes in their reach (`queries.disputes`);
workbooks are written in the platform's language and audited as exports.
"""

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.cases.models import Supervision
from anju.core import audit
from anju.core.errors import InvalidField
from anju.disputes import indicators, queries
from anju.disputes.models import ACTIVE_STATES, DossierReview, Flag, Grade

# Risk order: the grade's weight, then the card's.
GRADE_WEIGHT = {Grade.MAJOR: 2, Grade.DIFFICULT: 1, Grade.ORDINARY: 0}
CARD_WEIGHT = {Supervision.RED: 2, Supervision.YELLOW: 1, Supervision.NONE: 0}
# The joint-meeting pack's sheets of figures, in order.
QUARTER_GROUPINGS = ("kind", "level", "outcome", "street")


def _flag_labels(flags) -> list[str]:
    return [str(Flag(f).label) if f in Flag.values else f for f in flags]


# --- Weekly risk list -------------------------------------------------------------------------------


def risk_key(dispute) -> tuple:
    """Gravest first: major, then more red flags, then difficult, then red before yellow card, then oldest."""
    return (
        dispute.grade != Grade.MAJOR,
        -len(dispute.flags),
        -GRADE_WEIGHT.get(dispute.grade, 0),
        -CARD_WEIGHT.get(dispute.supervision, 0),
        dispute.received_at,
        dispute.pk,
    )


def risk_list(user, now=None) -> list[dict]:
    """The disputes in the reader's reach still being worked (open or agreed), gravest first."""
    indicators.require_view(user)
    now = now or timezone.now()
    disputes = queries.disputes(user).filter(state__in=list(ACTIVE_STATES)).prefetch_related("mediators")
    out = []
    for d in sorted(disputes, key=risk_key):
        out.append(
            {
                "dispute": d,
                "grade": d.get_grade_display(),
                "flags": _flag_labels(d.flags),
                "petition_pending": d.petition_pending,
                "court_pending": d.court_pending,
                "level": d.get_level_display(),
                "lead": d.lead.name if d.lead_id else "",
                "mediators": [m.name for m in d.mediators.all() if m.pk != d.lead_id],
                "days_open": (now - d.received_at).days,
                "due_at": d.due_at,
                "supervision": d.supervision,
            }
        )
    return out


def _local(moment: datetime | None) -> str:
    return "" if moment is None else f"{timezone.localtime(moment, timezone.get_default_timezone()):%Y-%m-%d %H:%M}"


def risk_workbook(user, now=None) -> bytes:
    """The weekly risk list as XLSX; audited as an export."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    now = now or timezone.now()
    rows = risk_list(user, now)
    with translation.override(settings.LANGUAGE_CODE):
        book = Workbook()
        sheet = book.active
        sheet.title = _("Risk list")[:31]
        sheet.append(
            [
                _("Number"),
                _("Summary"),
                _("Grade"),
                _("Risk flags"),
                _("Also before the petition office"),
                _("Also before a court"),
                _("Supervision"),
                _("Level"),
                _("Lead mediator"),
                _("Mediators"),
                _("Days open"),
                _("Due"),
                _("State"),
            ]
        )
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in rows:
            d = row["dispute"]
            sheet.append(
                [
                    d.number,
                    d.summary,
                    row["grade"],
                    ", ".join(row["flags"]),
                    _("Yes") if row["petition_pending"] else "",
                    _("Yes") if row["court_pending"] else "",
                    d.get_supervision_display(),
                    row["level"],
                    row["lead"],
                    ", ".join(row["mediators"]),
                    row["days_open"],
                    _local(row["due_at"]),
                    d.get_state_display(),
                ]
            )
        sheet.freeze_panes = "B2"
        sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    audit.record("disputes.risk_export", user=user, object_type="disputes.dispute", detail={"rows": len(rows)})
    return out.getvalue()


# --- Monthly dossier review -------------------------------------------------------------------------


def clean_month(value: str | None, today: date | None = None) -> date:
    """The first day of the month written YYYY-MM (default: the previous month); 422 naming `month`."""
    text = (value or "").strip()
    if not text:
        first = (today or timezone.localdate()).replace(day=1)
        return (first - timedelta(days=1)).replace(day=1)
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise InvalidField("month", _("Write the month as YYYY-MM, e.g. 2026-10.")) from None


def next_month(first: date) -> date:
    return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)


def _mean(values: list) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _averages(rows: list[dict], name_of) -> list[dict]:
    """Per lead or room (`name_of(dispute)`): disputes concluded, reviewed, and the mean of their scores."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(name_of(row["dispute"]), []).append(row["score"])
    out = [
        {
            "name": name,
            "concluded": len(scores),
            "reviewed": sum(s is not None for s in scores),
            "average": _mean([s for s in scores if s is not None]),
        }
        for name, scores in groups.items()
    ]
    return sorted(out, key=lambda r: (r["average"] is None, -(r["average"] or 0), r["name"]))


def monthly_review(user, month: str | None = None) -> dict:
    """The disputes concluded in the month (any outcome), each with its review score (the mean of its
    reviews' totals, None when not reviewed), and the scores averaged per lead mediator and per room."""
    indicators.require_view(user)
    first = clean_month(month)
    following = next_month(first)
    mean = DossierReview.objects.filter(dispute=OuterRef("pk")).order_by().values("dispute")
    disputes = (
        queries.disputes(user)
        .filter(concluded_at__gte=indicators.day_start(first), concluded_at__lt=indicators.day_start(following))
        .annotate(score=Subquery(mean.annotate(m=Avg("total")).values("m")), reviews_count=Count("reviews"))
        .order_by("concluded_at", "pk")
    )
    rows = [
        {
            "dispute": d,
            "score": None if d.score is None else round(float(d.score), 1),
            "reviews": d.reviews_count,
        }
        for d in disputes
    ]
    return {
        "month": first,
        "previous": (first - timedelta(days=1)).replace(day=1),
        "next": following,
        "rows": rows,
        "by_lead": _averages(rows, lambda d: d.lead.name if d.lead_id else str(_("No lead"))),
        "by_room": _averages(rows, lambda d: d.room.name if d.room_id else str(_("No room"))),
    }


# --- Quarterly joint-meeting pack -------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        return date(self.year + 1, 1, 1) if self.quarter == 4 else date(self.year, 3 * self.quarter + 1, 1)


def clean_year(value, default: int) -> int:
    """A year from 2000 to 2100 (default `default`); 422 naming `year`."""
    if value in (None, ""):
        return default
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise InvalidField("year", _("Give a year such as 2026."))
    return year


def clean_quarter(year, quarter, today: date | None = None) -> Quarter:
    """The quarter asked for (default: the current one); 422 naming `year` or `quarter`."""
    today = today or timezone.localdate()
    if quarter in (None, ""):
        number = (today.month - 1) // 3 + 1
    else:
        number = int(quarter) if str(quarter).strip() in ("1", "2", "3", "4") else 0
        if not number:
            raise InvalidField("quarter", _("A quarter is 1, 2, 3 or 4."))
    return Quarter(clean_year(year, today.year), number)


def open_major(user):
    """Major disputes in the reader's reach still being worked, oldest first."""
    return queries.disputes(user).filter(state__in=list(ACTIVE_STATES), grade=Grade.MAJOR).order_by("received_at", "pk")


def quarter_workbook(user, year=None, quarter=None) -> bytes:
    """The joint-meeting pack of a quarter as XLSX: summary figures, figures by kind, level, outcome and
    street, the open major disputes, the definitions. Audited as an export."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    period = clean_quarter(year, quarter)
    selection = indicators.select(user, None, period.start, period.end)
    overall = indicators.total(selection)
    tables = {by: indicators.rows(selection, by) for by in QUARTER_GROUPINGS}
    majors = list(open_major(user))
    bold = Font(bold=True)
    with translation.override(settings.LANGUAGE_CODE):
        book = Workbook()
        summary = book.active
        summary.title = _("Summary")[:31]
        summary.append(
            [_("Dispute mediation, %(year)d Q%(quarter)d") % {"year": period.year, "quarter": period.quarter}]
        )
        summary["A1"].font = Font(bold=True, size=14)
        summary.append([_("Figure"), _("Value")])
        for c in summary[2]:
            c.font = bold
        for figure in indicators.definitions():
            summary.append([figure.heading, indicators.cell(overall[figure.field])])
            summary.cell(summary.max_row, 2).number_format = indicators.FORMATS[figure.kind]
        summary.column_dimensions["A"].width = 36
        for by in QUARTER_GROUPINGS:
            indicators.write_table(book.create_sheet(str(indicators.GROUPING_LABELS[by])[:31]), by, tables[by], overall)
        sheet = book.create_sheet(_("Open major disputes")[:31])
        sheet.append(
            [_("Number"), _("Summary"), _("Risk flags"), _("Level"), _("Lead mediator"), _("Received at"), _("Due")]
        )
        for c in sheet[1]:
            c.font = bold
        for d in majors:
            sheet.append(
                [
                    d.number,
                    d.summary,
                    ", ".join(_flag_labels(d.flags)),
                    d.get_level_display(),
                    d.lead.name if d.lead_id else "",
                    _local(d.received_at),
                    _local(d.due_at),
                ]
            )
        sheet.column_dimensions["B"].width = 40
        indicators.write_definitions(book.create_sheet(_("Definitions")[:31]), indicators.about(user, selection))
    out = io.BytesIO()
    book.save(out)
    audit.record(
        "disputes.quarter_export",
        user=user,
        object_type="disputes.dispute",
        detail={"year": period.year, "quarter": period.quarter},
    )
    return out.getvalue()


# --- Annual mediator ranking ------------------------------------------------------------------------


def _desc(value) -> tuple:
    """Sort key putting higher values first and missing ones last."""
    return (value is None, -(value or 0))


def ranking(user, year=None) -> dict:
    """Lead mediators of the disputes received in the year, ranked by settled disputes, then success rate,
    performance rate and average review score (missing rates last); each with its figures."""
    year = clean_year(year, timezone.localdate().year)
    selection = indicators.select(user, None, date(year, 1, 1), date(year + 1, 1, 1))
    rows = [r for r in indicators.rows(selection, "mediator") if r["key"] is not None]
    rows.sort(
        key=lambda r: (
            -r["settled"],
            _desc(r["success_rate"]),
            _desc(r["performance_rate"]),
            _desc(r["review_score"]),
            r["name"],
        )
    )
    for place, row in enumerate(rows, start=1):
        row["rank"] = place
    return {"year": year, "rows": rows}
