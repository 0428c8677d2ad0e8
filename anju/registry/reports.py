"""Quality figures of the registry and the quarterly collection report (一标三实 季度通报).

Every figure is counted in the database grouped by the records' `path`. A record's path is its grid's
or its community's, so a report reads at most as many groups as there are grids and communities, and
those few groups are folded into streets, communities and grids here: a report is a fixed handful of
queries however many people are registered. Only records inside the reader's scope count, and nothing
personal leaves: the figures are counts; workers are named because the report is about their work.
"""

import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.errors import InvalidField
from anju.core.models import User
from anju.core.roles import Perm
from anju.geo import queries as geo_queries
from anju.geo.models import Level
from anju.registry.models import (
    RECORD_TYPES,
    Address,
    House,
    HouseUse,
    Organization,
    Person,
    PersonKind,
    Relation,
    Residence,
    Revision,
    Status,
    Vehicle,
)

# "Verified recently": the window of the quality report, a quarter's length.
RECENT_DAYS = 90
# Revisions that bring a record into the registry: field collection, a file import, and a worker
# taking up a QR self-declaration. Check-ins are counted apart: they register a move, not a record.
COLLECT_ACTIONS = ("collect", "import", "confirm")
WORKER_ACTIONS = (*COLLECT_ACTIONS, "check_in", "verify")
WAITING = Q(status=Status.PENDING) | ~Q(pending={})
# The levels of the tree, top down; a place's children are one step further.
LEVELS = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.STREET, Level.COMMUNITY, "grid"]


@dataclass(frozen=True)
class Place:
    """A division or a grid a report is about."""

    code: str
    name: str
    level: str
    path: str

    @property
    def depth(self) -> int:
        return self.path.count("/")


def place_for(user, code: str) -> Place:
    """The division or grid (15-digit code) a report is asked for; 404 when the reader may not read the
    registry or the place lies outside their scope (the divisions above it are visible, for navigation)."""
    if not scope.has_perm(user, Perm.REGISTRY_VIEW):
        raise Http404
    code = (code or "").strip()
    if len(code) == 15:
        grid = geo_queries.get_grid(user, code)
        return Place(grid.code, grid.name, "grid", grid.path)
    division = geo_queries.get_division(user, code)
    return Place(division.code, division.name, division.level, division.path)


def default_code(user) -> str:
    """The code of the reader's top node, where the quality page opens."""
    paths = scope.scope_paths(user)
    if not paths or not scope.has_perm(user, Perm.REGISTRY_VIEW):
        raise Http404
    return paths[0].strip("/").split("/")[-1]


def areas_at(user, place: Place, level: str) -> list[Place]:
    """The divisions (or grids) at `level` under a place, as far as the reader sees them."""
    if level == "grid":
        grids = geo_queries.grids_in_scope(user).filter(path__startswith=place.path).order_by("code")
        return [Place(g.code, g.name, "grid", g.path) for g in grids]
    divisions = geo_queries.visible_divisions(user).filter(path__startswith=place.path, level=level).order_by("code")
    return [Place(d.code, d.name, d.level, d.path) for d in divisions]


def _child_level(place: Place) -> str | None:
    index = LEVELS.index(place.level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def _cut(path: str, depth: int) -> str | None:
    """The first `depth` parts of a path ("37/3702/370203/", 2 -> "37/3702/"); None when shorter."""
    parts = path.split("/")
    return "/".join(parts[:depth]) + "/" if len(parts) > depth else None


def _fold(tallies: dict[str, Counter], areas: list[Place]) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Sum per-path tallies into the areas (all of one level) whose path begins them.

    What falls in none of them, the records of a community that lie in no grid, is returned apart, by
    path, so that rows and leftovers add up to the place's total.
    """
    by_path = {a.path: Counter() for a in areas}
    rest: dict[str, Counter] = defaultdict(Counter)
    depth = areas[0].depth if areas else 0
    for path, counts in tallies.items():
        target = by_path.get(_cut(path, depth)) if areas else None
        (target if target is not None else rest[path]).update(counts)
    return by_path, rest


def _total(tallies: dict[str, Counter]) -> Counter:
    total = Counter()
    for counts in tallies.values():
        total.update(counts)
    return total


def _scoped(model, user, place: Place):
    return model.objects.restrict(user).filter(path__startswith=place.path)


def _tally(into: dict[str, Counter], queryset, **aggregates) -> None:
    """One query: the aggregates per path, added into `into` (same names add up across models)."""
    for row in queryset.values("path").order_by().annotate(**aggregates):
        into[row.pop("path")].update(row)


def _percent(part: int, whole: int) -> float | None:
    """A share in percent, one decimal; None (shown "—") when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


# --- Revisions: who collected and verified, and where ---------------------------------------------


def _revisions(user, place: Place, start: datetime, end: datetime) -> list[dict]:
    """Revisions of the workers' actions in [start, end) on records under the place and in scope, counted
    per (path, user, action, record type), in one query.

    Revisions carry no path and no foreign key to their record, so the ORM cannot join them; a
    correlated subquery per revision costs seconds at a district's scale. Both sides are built as
    querysets (the record side through `restrict`, so the scope rule stays in one place), compiled, and
    joined here on the record's id: the database hash-joins them. The record's path is its current
    one: a person who moved counts where they live now.
    """
    parts, params = [], []
    for kind, model in RECORD_TYPES.items():
        revisions = Revision.objects.filter(
            record_type=kind, action__in=WORKER_ACTIONS, at__gte=start, at__lt=end
        ).values("record_id", "user_id", "action")
        records = _scoped(model, user, place).values("id", "path")
        rev_sql, rev_params = revisions.order_by().query.sql_with_params()
        rec_sql, rec_params = records.order_by().query.sql_with_params()
        parts.append(
            f"SELECT r.path, v.user_id, v.action, %s AS record_type, COUNT(*) AS n FROM ({rev_sql}) v "
            f"JOIN ({rec_sql}) r ON r.id = v.record_id GROUP BY r.path, v.user_id, v.action"
        )
        params += [kind, *rev_params, *rec_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _workers(revisions: list[dict]) -> list[dict]:
    """Per worker: records collected (by type), check-ins registered and verifications, most active first."""
    per_user: dict[int | None, Counter] = defaultdict(Counter)
    for row in revisions:
        counts = per_user[row["user_id"]]
        if row["action"] in COLLECT_ACTIONS:
            counts["collected"] += row["n"]
            counts[f"collected_{row['record_type']}"] += row["n"]
        elif row["action"] == "check_in":
            counts["check_ins"] += row["n"]
        else:
            counts["verified"] += row["n"]
    users = {
        u["pk"]: u for u in User.objects.filter(pk__in=[k for k in per_user if k]).values("pk", "username", "full_name")
    }
    out = []
    for user_id, counts in per_user.items():
        account = users.get(user_id)
        out.append(
            {
                "username": account["username"] if account else "",
                # Revisions without an account come from the command line or a QR self-declaration.
                "name": (account["full_name"] or account["username"]) if account else _("Without an account"),
                "collected": counts["collected"],
                **{f"collected_{kind}": counts[f"collected_{kind}"] for kind in RECORD_TYPES},
                "check_ins": counts["check_ins"],
                "verified": counts["verified"],
            }
        )
    out.sort(key=lambda w: (-w["collected"], -w["check_ins"], -w["verified"], w["username"]))
    return out


# --- Quality ---------------------------------------------------------------------------------------

QUALITY_FIGURES = (
    "houses",
    "houses_known_use",
    "people",
    "residents",
    "residents_verified_recently",
    "pending",
    "overdue_rentals",
    "organizations",
    "vehicles",
)


def _quality_figures(counts: Counter) -> dict:
    figures = {name: counts[name] for name in QUALITY_FIGURES}
    figures["houses_known_use_percent"] = _percent(figures["houses_known_use"], figures["houses"])
    figures["residents_verified_percent"] = _percent(figures["residents_verified_recently"], figures["residents"])
    return figures


def _quality_tallies(user, place: Place) -> dict[str, Counter]:
    now = timezone.now()
    recent = now - timedelta(days=RECENT_DAYS)
    tallies: dict[str, Counter] = defaultdict(Counter)
    _tally(
        tallies,
        _scoped(House, user, place),
        houses=Count("id"),
        houses_known_use=Count("id", filter=~Q(use=HouseUse.UNKNOWN)),
        pending=Count("id", filter=WAITING),
    )
    _tally(tallies, _scoped(Person, user, place), people=Count("id"), pending=Count("id", filter=WAITING))
    # Residents apart: EXISTS in WHERE is a semi-join, inside an aggregate's FILTER it runs once per person.
    _tally(
        tallies,
        _scoped(Person, user, place).filter(Exists(Residence.objects.filter(person=OuterRef("pk"), end=None))),
        residents=Count("id"),
        residents_verified_recently=Count("id", filter=Q(verified_at__gte=recent)),
    )
    _tally(
        tallies,
        _scoped(Residence, user, place),
        pending=Count("id", filter=WAITING),
        # As in queries.overdue_rentals, so the figure matches the list it leads to.
        overdue_rentals=Count(
            "id", filter=Q(end=None, status=Status.PENDING, registration_due__lt=timezone.localdate())
        ),
    )
    _tally(tallies, _scoped(Organization, user, place), organizations=Count("id"), pending=Count("id", filter=WAITING))
    _tally(tallies, _scoped(Vehicle, user, place), vehicles=Count("id"), pending=Count("id", filter=WAITING))
    return tallies


def quality(user, division_code: str, *, since: date | None = None, until: date | None = None) -> dict:
    """The quality of the registry at a division or grid, inside the reader's scope.

    The place's own totals, one row per child (streets of a district, communities of a street, grids
    of a community, the grid itself for a grid; plus "not in a grid" for a community's records outside
    its grids) and the workers' collection counts over [since, until] (local days; default: the last
    90 days). Figures are described in `QUALITY_DEFINITIONS`.
    """
    place = place_for(user, division_code)
    until = until or timezone.localdate()
    since = since or until - timedelta(days=RECENT_DAYS - 1)
    if since > until:
        raise InvalidField("since", _("The period starts after it ends."))
    tallies = _quality_tallies(user, place)
    child = _child_level(place)
    children = areas_at(user, place, child) if child else [place]
    by_path, rest = _fold(tallies, children)
    rows = [{"code": a.code, "name": a.name, "level": a.level, **_quality_figures(by_path[a.path])} for a in children]
    if rest:
        rows.append({"code": "", "name": _("Not in a grid"), "level": "", **_quality_figures(_total(rest))})
    revisions = _revisions(user, place, _local_start(since), _local_start(until + timedelta(days=1)))
    return {
        "division": {"code": place.code, "name": place.name, "level": place.level, "path": place.path},
        "period": {"since": since, "until": until},
        "totals": _quality_figures(_total(tallies)),
        "rows": rows,
        "workers": _workers(revisions),
    }


def quality_definitions() -> list[tuple[str, str]]:
    """What each quality figure counts, for the page and the API documentation."""
    return [
        (_("Houses"), _("Houses registered in scope.")),
        (_("Known use"), _("Houses whose use is recorded (anything but unknown), and their share of all houses.")),
        (_("Residents"), _("People with an open residence (moved in, not moved out).")),
        (
            _("Verified in 90 days"),
            _("Residents whose record was last verified in the last 90 days, and their share of residents."),
        ),
        (
            _("Pending"),
            _(
                "People, houses, residences, organizations and vehicles waiting for verification: new records "
                "and proposed changes."
            ),
        ),
        (_("Overdue rentals"), _("Open tenant residences still unverified after their registration was due.")),
        (
            _("Collected by worker"),
            _(
                "Records a worker collected, imported or took up from a self-declaration in the period; "
                "check-ins and verifications apart. Records count where they are now."
            ),
        ),
    ]


# --- Quarterly report -----------------------------------------------------------------------------


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First day of the quarter and first day of the next one; 422 naming the field when out of range."""
    if not isinstance(quarter, int) or not 1 <= quarter <= 4:
        raise InvalidField("quarter", _("A quarter is 1, 2, 3 or 4."))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidField("year", _("Give a year between 2000 and 2100."))
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    if start > timezone.localdate():
        raise InvalidField("quarter", _("This quarter has not begun."))
    return start, end


QUARTER_FIGURES = (
    "addresses",
    "houses",
    "people",
    "organizations",
    "vehicles",
    "verified",
    "check_ins",
    "check_ins_floating",
    "check_outs",
    "check_outs_floating",
    "tenants_on_time",
    "tenants_late",
    "overdue_at_end",
)


def _quarter_tallies(user, place: Place, start: date, end: date, revisions: list[dict]) -> dict[str, Counter]:
    begins, ends = _local_start(start), _local_start(end)
    new = Q(created_at__gte=begins, created_at__lt=ends)
    tallies: dict[str, Counter] = defaultdict(Counter)
    _tally(tallies, _scoped(Address, user, place).filter(new), addresses=Count("id"))
    for name, model in (("houses", House), ("people", Person), ("organizations", Organization), ("vehicles", Vehicle)):
        _tally(tallies, _scoped(model, user, place).filter(new), **{name: Count("id")})

    moved_in = Q(start__gte=start, start__lt=end)
    moved_out = Q(end__gte=start, end__lt=end)
    floating = Q(person__kind=PersonKind.FLOATING)
    registered = Q(relation=Relation.TENANT, verified_at__gte=begins, verified_at__lt=ends)
    # Unverified when the quarter ended, due before it ended, and still living there then; only what
    # the registry knew by then (a residence entered later was not yet overdue in it).
    overdue = (
        Q(registration_due__lt=end, created_at__lt=ends)
        & ~Q(status=Status.REJECTED)
        & (Q(verified_at=None) | Q(verified_at__gte=ends))
        & (Q(end=None) | Q(end__gte=end))
    )
    residences = (
        _scoped(Residence, user, place)
        .filter(moved_in | moved_out | registered | overdue)
        .annotate(verified_day=TruncDate("verified_at"))
    )
    _tally(
        tallies,
        residences,
        check_ins=Count("id", filter=moved_in),
        check_ins_floating=Count("id", filter=moved_in & floating),
        check_outs=Count("id", filter=moved_out),
        check_outs_floating=Count("id", filter=moved_out & floating),
        tenants_on_time=Count("id", filter=registered & Q(verified_day__lte=F("registration_due"))),
        tenants_late=Count("id", filter=registered & Q(verified_day__gt=F("registration_due"))),
        overdue_at_end=Count("id", filter=overdue),
    )
    for row in revisions:
        if row["action"] == "verify":
            tallies[row["path"]]["verified"] += row["n"]
    return tallies


def quarterly(user, division_code: str, year: int, quarter: int) -> dict:
    """The quarter's figures at a division or grid: its total and one table per level below it
    (streets, communities, grids), and the workers' counts. Figures: `quarterly_definitions()`."""
    start, end = quarter_bounds(year, quarter)
    place = place_for(user, division_code)
    revisions = _revisions(user, place, _local_start(start), _local_start(end))
    tallies = _quarter_tallies(user, place, start, end, revisions)
    tables = []
    levels = LEVELS[LEVELS.index(place.level) + 1 :] if place.level != "grid" else ["grid"]
    for level in levels:
        areas = areas_at(user, place, level)
        if not areas:
            continue
        by_path, rest = _fold(tallies, areas)
        rows = [(a.code, a.name, {f: by_path[a.path][f] for f in QUARTER_FIGURES}) for a in areas]
        # Records of a community that lie in no grid: one row per community, so the table adds up.
        names = {a.path: a for a in areas_at(user, place, Level.COMMUNITY)} if rest else {}
        for path, counts in sorted(rest.items()):
            community = names.get(path)
            label = _("%(name)s (not in a grid)") % {"name": community.name if community else path}
            rows.append((community.code if community else "", label, {f: counts[f] for f in QUARTER_FIGURES}))
        tables.append((level, rows))
    total = _total(tallies)
    return {
        "place": place,
        "start": start,
        "end": end,
        "totals": {f: total[f] for f in QUARTER_FIGURES},
        "tables": tables,
        "workers": _workers(revisions),
    }


def quarterly_definitions() -> list[tuple[str, str]]:
    """Column heading and definition of every quarterly figure, in `QUARTER_FIGURES` order."""
    return [
        (_("New addresses"), _("Standard addresses created in the quarter.")),
        (_("New houses"), _("Houses collected (new records) in the quarter.")),
        (_("New people"), _("People collected (new records) in the quarter, counted where they live now.")),
        (_("New organizations"), _("Organizations collected (new records) in the quarter.")),
        (_("New vehicles"), _("Vehicles collected (new records) in the quarter.")),
        (_("Verifications"), _("Verifications in the quarter of new records and of changes, all record types.")),
        (_("Check-ins"), _("Residences that began in the quarter (moving-in date).")),
        (_("Floating check-ins"), _("Check-ins of floating population.")),
        (_("Check-outs"), _("Residences that ended in the quarter (moving-out date, 核销).")),
        (_("Floating check-outs"), _("Check-outs of floating population.")),
        (
            _("Tenants on time"),
            _("Tenant registrations verified in the quarter on or before their due day (3 days after moving in)."),
        ),
        (_("Tenants late"), _("Tenant registrations verified in the quarter after their due day.")),
        (
            _("Overdue at quarter end"),
            _("Tenants still living there at the end of the quarter, past their due day and not yet verified."),
        ),
    ]


def _sheet_title(level: str) -> str:
    titles = {
        Level.CITY: _("Cities"),
        Level.COUNTY: _("Districts"),
        Level.STREET: _("Streets"),
        Level.COMMUNITY: _("Communities"),
        "grid": _("Grids"),
    }
    return titles[level][:31]


def quarterly_xlsx(user, division_code: str, year: int, quarter: int) -> bytes:
    """The quarterly collection report (一标三实 季度通报) as an XLSX workbook, in Chinese; audited.

    A cover sheet (division, period, generation time in Asia/Shanghai, the definitions), one sheet per
    level below the division (each with the division's total first) and the workers' sheet.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    report = quarterly(user, division_code, year, quarter)
    place = report["place"]
    generated = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    bold = Font(bold=True)
    # The report circulates as an official bulletin: it is written in the platform's language.
    with translation.override(settings.LANGUAGE_CODE):
        definitions = quarterly_definitions()
        book = Workbook()
        cover = book.active
        cover.title = _("Cover")[:31]
        cover.append([_("Registry collection report, %(year)d Q%(quarter)d") % {"year": year, "quarter": quarter}])
        cover["A1"].font = Font(bold=True, size=14)
        cover.append([_("Division"), f"{place.name} ({place.code})"])
        last_day = report["end"] - timedelta(days=1)
        cover.append([_("Period"), f"{report['start'].isoformat()} – {last_day.isoformat()}"])
        cover.append([_("Generated at"), f"{generated:%Y-%m-%d %H:%M:%S} (Asia/Shanghai)"])
        cover.append([_("Generated by"), getattr(user, "username", "")])
        cover.append([_("Scope"), _("Only records inside the reader's scope are counted.")])
        cover.append([])
        cover.append([_("Figure"), _("Definition")])
        for cell in cover[cover.max_row]:
            cell.font = bold
        for heading, meaning in definitions:
            cover.append([heading, meaning])
        cover.append(
            [
                _("Collected (workers)"),
                _("Records a worker collected, imported or took up from a self-declaration in the quarter."),
            ]
        )
        cover.column_dimensions["A"].width = 24
        cover.column_dimensions["B"].width = 90

        headings = [_("Code"), _("Name")] + [heading for heading, _meaning in definitions]
        for level, rows in report["tables"]:
            sheet = book.create_sheet(_sheet_title(level))
            sheet.append(headings)
            sheet.append([place.code, _("Total: %(name)s") % {"name": place.name}, *report["totals"].values()])
            for code, name, figures in rows:
                sheet.append([code, name, *figures.values()])
            for cell in sheet[1] + sheet[2]:
                cell.font = bold
            sheet.freeze_panes = "C2"
            sheet.column_dimensions["B"].width = 28

        workers = book.create_sheet(_("Workers")[:31])
        workers.append(
            [
                _("Account"),
                _("Name"),
                _("Collected"),
                _("People"),
                _("Houses"),
                _("Residences"),
                _("Organizations"),
                _("Vehicles"),
                _("Check-ins"),
                _("Verifications"),
            ]
        )
        for cell in workers[1]:
            cell.font = bold
        for w in report["workers"]:
            workers.append(
                [
                    w["username"],
                    w["name"],
                    w["collected"],
                    *(w[f"collected_{kind}"] for kind in ("person", "house", "residence", "organization", "vehicle")),
                    w["check_ins"],
                    w["verified"],
                ]
            )
    out = io.BytesIO()
    book.save(out)
    audit.record(
        "registry.quarterly_export",
        user=user,
        object_type="geo.division" if place.level != "grid" else "geo.grid",
        object_id=place.code,
        detail={"year": year, "quarter": quarter},
    )
    return out.getvalue()
