"""Indicators of the closed loop (GB/T 30428): how many cases went how far, how fast, and how well.

The cases counted are those reported in a period [from, to) (local days, Asia/Shanghai) under a division
or grid, inside the reader's scope. Each figure is a filtered count in one aggregate query grouped by the
key asked for (unit, grid, community, street, category or the category's parent), plus one aggregate for
the total and one query for the keys' names: a fixed handful of queries whatever the number of cases.
`DEFINITIONS` says what every figure counts; the API, the page, the workbook and the docs use it.

A rate whose denominator is 0 is None (shown "—"), never 0 or 100%.
"""

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from anju.cases.models import STAGE_OF, Case, Category, Rating, State, Unit
from anju.core import audit, scope
from anju.core.errors import InvalidField
from anju.core.roles import Perm
from anju.geo.models import Division, Grid

DEFAULT_DAYS = 30
# A rating of 4 or 5 (of 1-5) is "satisfied".
SATISFIED_SCORE = 4

# by -> (the key the cases are grouped on, the model holding the key's code and name, its code field).
GROUPINGS = {
    "unit": (F("unit_id"), Unit, "code"),
    "grid": (F("grid_id"), Grid, "code"),
    "community": (F("community_id"), Division, "code"),
    "street": (F("street_id"), Division, "code"),
    "category": (F("category_id"), Category, "code"),
    # The category's parent; a category without one stands for itself.
    "top_category": (Coalesce("category__parent_id", "category_id"), Category, "code"),
}
GROUPING_LABELS = {
    "unit": gettext_lazy("Handling unit"),
    "grid": gettext_lazy("Grid"),
    "community": gettext_lazy("Community"),
    "street": gettext_lazy("Street"),
    "category": gettext_lazy("Category"),
    "top_category": gettext_lazy("Top category"),
}
# Rows of cases that have no key (no grid, community or street): what they are called.
NO_KEY = {
    "grid": gettext_lazy("Not in a grid"),
    "community": gettext_lazy("Not in a community"),
    "street": gettext_lazy("Not in a street"),
}
# The grouping a page opens with: the level below the place asked for.
DEFAULT_BY = {"county": "street", "street": "community", "community": "grid", "grid": "category"}

# States a case has reached only after it was reported back.
AFTER_REPORT_BACK = (State.REPORTED_BACK, State.CHECKED, State.CLOSED)

# Composite score: weight of each term (they add up to 100).
WEIGHTS = {"handling": 30, "on_time_handling": 20, "no_rework": 20, "not_overdue": 20, "no_extension": 10}

COUNT, RATE, HOURS, SCORE = "count", "rate", "hours", "score"


@dataclass(frozen=True)
class Figure:
    """One indicator: its field name, heading, kind (count, rate, hours, score) and definition."""

    field: str
    heading: str
    kind: str
    definition: str


def definitions() -> list[Figure]:
    """Every indicator in display order, with its precise definition (the docs repeat these)."""
    return [
        Figure(
            "reported",
            pgettext("case figure", "Reported"),
            COUNT,
            _("Cases reported in the period (reported_at in [from, to))."),
        ),
        Figure(
            "registered",
            pgettext("case figure", "Registered"),
            COUNT,
            _("Of those, cases registered (立案): registered_at set."),
        ),
        Figure(
            "dispatched",
            pgettext("case figure", "Dispatched"),
            COUNT,
            _("Cases dispatched at least once: dispatched_at set (escalation or reopening keep it)."),
        ),
        Figure(
            "handled",
            pgettext("case figure", "Handled"),
            COUNT,
            _(
                "Dispatched cases reported back at least once: handled_at set, or a report-back on record "
                "(handle_late set; kept through rework and reopening), or in state reported back, checked or closed."
            ),
        ),
        Figure(
            "closed",
            pgettext("case figure", "Closed"),
            COUNT,
            _("Cases in state closed now (a reopened case is not closed)."),
        ),
        Figure(
            "dispatch_on_time_rate",
            _("On-time dispatch"),
            RATE,
            _("Dispatched cases whose dispatch met its time limit (dispatch_late false) / dispatched."),
        ),
        Figure(
            "handle_on_time_rate",
            _("On-time handling"),
            RATE,
            _("Handled cases reported back within the handling limit (handle_late false) / handled."),
        ),
        Figure(
            "close_on_time_rate",
            _("On-time closing"),
            RATE,
            _("Closed cases closed within the whole-case limit, extensions included (close_late false) / closed."),
        ),
        Figure("handling_rate", _("Handling rate"), RATE, _("Handled / dispatched.")),
        Figure(
            "rework_rate",
            _("Rework rate"),
            RATE,
            _("Handled cases sent back for rework at least once (rework_count > 0) / handled."),
        ),
        Figure(
            "overdue_unhandled",
            _("Overdue, unfinished"),
            COUNT,
            _(
                "Open cases in a timed state (reported ... checked; not suspended) whose current stage is past "
                "its deadline (due_at earlier than the moment of computing)."
            ),
        ),
        Figure(
            "overdue_rate",
            _("Overdue rate"),
            RATE,
            _("Overdue, unfinished / dispatched (can pass 100% when undispatched cases are overdue)."),
        ),
        Figure(
            "extension_rate",
            _("Extension rate"),
            RATE,
            _("Dispatched cases granted at least one extension (extension_count > 0) / dispatched."),
        ),
        Figure(
            "avg_handling_hours",
            _("Average handling time (h)"),
            HOURS,
            _(
                "Mean of handled_at - dispatched_at over cases having both, in calendar hours (not working "
                "hours); a reworked case counts from its dispatch to its latest report-back."
            ),
        ),
        Figure("rated", pgettext("case figure", "Rated"), COUNT, _("Closed cases the reporter rated 1-5.")),
        Figure("satisfied", pgettext("case figure", "Satisfied"), COUNT, _("Rated cases with a score of 4 or 5.")),
        Figure(
            "no_rating",
            pgettext("case figure", "No rating"),
            COUNT,
            _("Closed cases left unrated for 3 days: counted apart, never as satisfied."),
        ),
        Figure(
            "awaiting_rating",
            pgettext("case figure", "Awaiting rating"),
            COUNT,
            _("Closed cases still inside the 3 rating days."),
        ),
        Figure(
            "satisfaction_rate",
            _("Satisfaction"),
            RATE,
            _("Satisfied / rated; cases without a rating are in neither number."),
        ),
        Figure(
            "composite",
            _("Composite score"),
            SCORE,
            _(
                "0-100: 30 x handling rate + 20 x on-time handling + 20 x (1 - rework rate) + 20 x (1 - overdue "
                "rate, taken as at most 1) + 10 x (1 - extension rate). None when nothing was dispatched; when "
                "nothing was handled, the on-time handling and rework terms give 0."
            ),
        ),
    ]


# The plain counts, and the counts behind the rates, given with them so that every rate can be checked.
COUNTS = (
    "reported",
    "registered",
    "dispatched",
    "handled",
    "closed",
    "overdue_unhandled",
    "rated",
    "satisfied",
    "no_rating",
    "awaiting_rating",
)
NUMERATORS = ("dispatched_on_time", "handled_on_time", "closed_on_time", "reworked", "extended")


@dataclass(frozen=True)
class Selection:
    """The cases a report counts: those reported in [start, end) under `place`, in the reader's scope."""

    place: scope.Node
    start: date
    end: date
    now: datetime
    cases: QuerySet


def default_code(user) -> str:
    """The code of the reader's first top node: where the page opens."""
    paths = scope.scope_paths(user)
    if not paths or not scope.has_perm(user, Perm.CASES_VIEW):
        raise Http404
    return paths[0].strip("/").split("/")[-1]


def place_for(user, code: str = "") -> scope.Node:
    """The division or grid asked for (default: the top of the reader's scope); 404 when the reader may
    not read cases or the place lies outside their scope (the divisions above it included)."""
    if not scope.has_perm(user, Perm.CASES_VIEW):
        raise Http404
    code = (code or "").strip() or default_code(user)
    node = scope.node_lookup(code)
    if node is None or not scope.in_scope(user, node.path):
        raise Http404
    return node


def default_by(level: str) -> str:
    return DEFAULT_BY.get(level, "street")


def clean_by(by: str, level: str) -> str:
    """A grouping name (default: the level below the place); 422 naming `by` for anything else."""
    by = (by or "").strip() or default_by(level)
    if by not in GROUPINGS:
        raise InvalidField("by", _("Group by one of: %(names)s.") % {"names": ", ".join(GROUPINGS)})
    return by


def clean_period(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """[start, end) in local days; default: the last 30 days, today included. 422 naming `from` when the
    period does not begin before it ends."""
    today = today or timezone.localdate()
    end = end or today + timedelta(days=1)
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidField("from", _("The period must begin before it ends (“to” is not included)."))
    return start, end


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def select(user, code: str = "", start: date | None = None, end: date | None = None, now=None) -> Selection:
    """The cases a report at `code` over [start, end) counts; 404 outside scope, 422 for a bad period."""
    place = place_for(user, code)
    start, end = clean_period(start, end)
    cases = Case.objects.restrict(user).filter(
        path__startswith=place.path, reported_at__gte=_local_start(start), reported_at__lt=_local_start(end)
    )
    return Selection(place, start, end, now or timezone.now(), cases)


def _aggregates(now) -> dict:
    """Every count of `definitions()` as a filtered aggregate, and the handling time's sum."""
    dispatched = Q(dispatched_at__isnull=False)
    handled = dispatched & (Q(handled_at__isnull=False) | Q(handle_late__isnull=False) | Q(state__in=AFTER_REPORT_BACK))
    closed = Q(state=State.CLOSED)
    timed = Q(handled_at__isnull=False, dispatched_at__isnull=False)
    rated = Q(state=State.CLOSED, rating=Rating.RATED)
    return {
        "reported": Count("pk"),
        "registered": Count("pk", filter=Q(registered_at__isnull=False)),
        "dispatched": Count("pk", filter=dispatched),
        "dispatched_on_time": Count("pk", filter=dispatched & Q(dispatch_late=False)),
        "handled": Count("pk", filter=handled),
        "handled_on_time": Count("pk", filter=handled & Q(handle_late=False)),
        "reworked": Count("pk", filter=handled & Q(rework_count__gt=0)),
        "closed": Count("pk", filter=closed),
        "closed_on_time": Count("pk", filter=closed & Q(close_late=False)),
        "overdue_unhandled": Count("pk", filter=Q(state__in=list(STAGE_OF), due_at__lt=now)),
        "extended": Count("pk", filter=dispatched & Q(extension_count__gt=0)),
        "timed": Count("pk", filter=timed),
        "handling_time": Sum(
            ExpressionWrapper(F("handled_at") - F("dispatched_at"), output_field=DurationField()), filter=timed
        ),
        "rated": Count("pk", filter=rated),
        "satisfied": Count("pk", filter=rated & Q(score__gte=SATISFIED_SCORE)),
        "no_rating": Count("pk", filter=closed & Q(rating=Rating.NONE)),
        "awaiting_rating": Count("pk", filter=closed & Q(rating=Rating.PENDING)),
    }


def _rate(part: int, whole: int) -> float | None:
    """A share from 0 to 1, four decimals; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def figures(counts: dict) -> dict:
    """The indicators from one group's counts (see `definitions()`)."""
    dispatched, handled = counts["dispatched"], counts["handled"]
    out = {name: counts[name] for name in (*COUNTS, *NUMERATORS)}
    out["dispatch_on_time_rate"] = _rate(counts["dispatched_on_time"], dispatched)
    out["handle_on_time_rate"] = _rate(counts["handled_on_time"], handled)
    out["close_on_time_rate"] = _rate(counts["closed_on_time"], counts["closed"])
    out["handling_rate"] = _rate(handled, dispatched)
    out["rework_rate"] = _rate(counts["reworked"], handled)
    out["overdue_rate"] = _rate(counts["overdue_unhandled"], dispatched)
    out["extension_rate"] = _rate(counts["extended"], dispatched)
    out["satisfaction_rate"] = _rate(counts["satisfied"], counts["rated"])
    spent = counts["handling_time"]
    out["avg_handling_hours"] = round(spent.total_seconds() / 3600 / counts["timed"], 2) if counts["timed"] else None
    out["composite"] = composite(counts)
    return out


def composite(counts: dict) -> float | None:
    """The composite score, 0-100, one decimal, from unrounded rates; None when nothing was dispatched."""
    dispatched, handled = counts["dispatched"], counts["handled"]
    if not dispatched:
        return None
    terms = {
        "handling": handled / dispatched,
        # Nothing handled earns nothing for handling on time or without rework.
        "on_time_handling": counts["handled_on_time"] / handled if handled else 0.0,
        "no_rework": 1 - counts["reworked"] / handled if handled else 0.0,
        "not_overdue": 1 - min(counts["overdue_unhandled"] / dispatched, 1.0),
        "no_extension": 1 - counts["extended"] / dispatched,
    }
    return round(sum(WEIGHTS[name] * value for name, value in terms.items()), 1)


def total(selection: Selection) -> dict:
    """The place's figures over the whole selection: one query."""
    return figures(selection.cases.aggregate(**_aggregates(selection.now)))


def rows(selection: Selection, by: str) -> list[dict]:
    """One row per key of the grouping (cases without one in a last row, key None): two queries."""
    key, model, code_field = GROUPINGS[by]
    grouped = list(
        selection.cases.annotate(group=key).values("group").order_by().annotate(**_aggregates(selection.now))
    )
    names = {
        pk: (code, name)
        for pk, code, name in model.objects.filter(pk__in=[g["group"] for g in grouped if g["group"] is not None])
        .order_by()
        .values_list("pk", code_field, "name")
    }
    out = []
    for group in grouped:
        pk = group.pop("group")
        code, name = names.get(pk, (None, str(NO_KEY.get(by, "—"))))
        out.append({"key": code, "name": name, **figures(group)})
    out.sort(key=lambda r: (r["key"] is None, r["key"] or ""))
    return out


def indicators(user, code: str = "", start: date | None = None, end: date | None = None, by: str = "", now=None):
    """The indicators at a division or grid in scope over [start, end), grouped `by`: {division, from,
    to, by, at (the moment overdue is measured at), total, rows}. 404 outside scope; 422 naming the field
    for a bad period or grouping."""
    selection = select(user, code, start, end, now)
    by = clean_by(by, selection.place.level)
    return report(selection, by)


def report(selection: Selection, by: str) -> dict:
    """The figures of a selection: the place, the period, the total and one row per key of `by`."""
    place = selection.place
    return {
        "division": {"code": place.code, "name": place.name, "level": place.level},
        "from": selection.start,
        "to": selection.end,
        "by": by,
        "at": selection.now,
        "total": total(selection),
        "rows": rows(selection, by),
    }


def series(selection: Selection) -> dict:
    """Cases reported, and of them closed, per day (periods up to 62 days), week (up to two years) or
    month, over the period: one query grouped by (reporting bucket, closing bucket). Closings after the
    period's end fall outside the chart."""
    days = (selection.end - selection.start).days
    tz = timezone.get_default_timezone()
    trunc, step = (TruncDate, "day") if days <= 62 else (TruncWeek, "week") if days <= 731 else (TruncMonth, "month")
    pairs = (
        selection.cases.values(r=trunc("reported_at", tzinfo=tz), c=trunc("closed_at", tzinfo=tz))
        .order_by()
        .annotate(n=Count("pk"))
    )
    buckets = _buckets(selection.start, selection.end, step)
    reported, closed = dict.fromkeys(buckets, 0), dict.fromkeys(buckets, 0)
    for pair in pairs:
        if _day(pair["r"]) in reported:
            reported[_day(pair["r"])] += pair["n"]
        if pair["c"] is not None and _day(pair["c"]) in closed:
            closed[_day(pair["c"])] += pair["n"]
    return {
        "step": step,
        "labels": [b.isoformat() for b in buckets],
        "reported": list(reported.values()),
        "closed": list(closed.values()),
    }


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _buckets(start: date, end: date, step: str) -> list[date]:
    """The first day of every day, week (Monday) or month touching [start, end)."""
    if step == "day":
        return [start + timedelta(days=i) for i in range((end - start).days)]
    out = [start - timedelta(days=start.weekday()) if step == "week" else start.replace(day=1)]
    while True:
        following = out[-1] + timedelta(weeks=1) if step == "week" else _next_month(out[-1])
        if following >= end:
            return out
        out.append(following)


def presets(today: date | None = None) -> dict[str, tuple[date, date]]:
    """The page's ready-made periods, each [from, to): this month, last month, this quarter, this year."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    quarter = month.replace(month=3 * ((today.month - 1) // 3) + 1)
    return {
        "this_month": (month, _next_month(month)),
        "last_month": ((month - timedelta(days=1)).replace(day=1), month),
        "this_quarter": (quarter, _next_month(_next_month(_next_month(quarter)))),
        "this_year": (today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)),
    }


def workbook(user, code: str = "", start=None, end=None, groupings=(), now=None) -> bytes:
    """The indicators as an XLSX workbook, in the platform's language; audited as an export.

    A cover sheet (division, period, scope, generation time in Asia/Shanghai, the definitions), then one
    sheet per grouping asked for (default: the page's), each with the place's total first. Counts are
    numbers, rates percentages, "—" where a rate has nothing to divide by.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    selection = select(user, code, start, end, now)
    place = selection.place
    groupings = list(dict.fromkeys(clean_by(by, place.level) for by in (groupings or [""])))
    overall = total(selection)
    generated = timezone.localtime(selection.now, timezone.get_default_timezone())
    bold = Font(bold=True)
    formats = {COUNT: "0", RATE: "0.0%", HOURS: "0.00", SCORE: "0.0"}
    # The workbook circulates as a bulletin: it is written in the platform's language.
    with translation.override(settings.LANGUAGE_CODE):
        figures_ = definitions()
        book = Workbook()
        cover = book.active
        cover.title = _("Cover")[:31]
        cover.append([_("Case indicators (GB/T 30428)")])
        cover["A1"].font = Font(bold=True, size=14)
        cover.append([_("Division"), f"{place.name} ({place.code})"])
        last_day = selection.end - timedelta(days=1)
        cover.append([_("Period"), f"{selection.start.isoformat()} – {last_day.isoformat()}"])
        cover.append([_("Cases counted"), _("Reported from the first day 00:00 to the last day 24:00, Asia/Shanghai.")])
        cover.append([_("Scope"), _("Only cases inside the reader's scope are counted.")])
        cover.append([_("Generated at"), f"{generated:%Y-%m-%d %H:%M:%S} (Asia/Shanghai)"])
        cover.append([_("Generated by"), getattr(user, "username", "")])
        cover.append([_("Overdue measured at"), _("The moment of generation.")])
        cover.append([_("No denominator"), _("A rate with nothing to divide by is shown as —, not as 0 or 100%.")])
        cover.append([])
        cover.append([_("Indicator"), _("Definition")])
        for cell in cover[cover.max_row]:
            cell.font = bold
        for figure in figures_:
            cover.append([figure.heading, figure.definition])
        cover.column_dimensions["A"].width = 26
        cover.column_dimensions["B"].width = 110

        headings = [_("Code"), _("Name")] + [f.heading for f in figures_]
        for by in groupings:
            sheet = book.create_sheet(str(GROUPING_LABELS[by])[:31])
            sheet.append(headings)
            total_row = {"key": place.code, "name": _("Total: %(name)s") % {"name": place.name}, **overall}
            for row in [total_row, *rows(selection, by)]:
                sheet.append([row["key"] or "", row["name"]] + [_cell(row[f.field]) for f in figures_])
                for column, figure in enumerate(figures_, start=3):
                    sheet.cell(sheet.max_row, column).number_format = formats[figure.kind]
            for cell in sheet[1] + sheet[2]:
                cell.font = bold
            sheet.freeze_panes = "C2"
            sheet.column_dimensions["B"].width = 28
    out = io.BytesIO()
    book.save(out)
    audit.record(
        "cases.indicators_export",
        user=user,
        object_type="geo.grid" if place.level == "grid" else "geo.division",
        object_id=place.code,
        detail={"from": selection.start.isoformat(), "to": selection.end.isoformat(), "by": groupings},
    )
    return out.getvalue()


def _cell(value):
    return "—" if value is None else value
