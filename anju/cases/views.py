"""Pages of the closed loop for staff: the inbox of cases, reporting one, a case's page with its steps,
and the supervision board (督办).

Reads go through `queries` (a case outside the reader's reach answers 404), writes through `actions`;
a step the actions refuse comes back as a message on the case's page, with the status it carries.
"""

import mimetypes
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.cases import actions, queries, routing
from anju.cases.actions import lifecycle
from anju.cases.forms import (
    REJECT_LABELS,
    ActionForm,
    CaseFilterForm,
    NoteForm,
    RatingForm,
    ReportForm,
    SummonForm,
    error_text,
)
from anju.cases.models import (
    FINAL_STATES,
    OPEN_STATES,
    STAGE_OF,
    Case,
    CasePhoto,
    Channel,
    Level,
    Rating,
    State,
    Summons,
    SummonsState,
    Supervision,
    Unit,
    UnitKind,
)
from anju.core import scope, timeline
from anju.core.errors import ActionError
from anju.core.roles import Perm, Role
from anju.disputes import queries as dispute_queries
from anju.geo import queries as geo_queries
from anju.geo.models import Level as DivisionLevel
from anju.registry.forms import attempt

PAGE_SIZE = 50
# Grids offered in the list's place filter; a wider scope types a grid's code.
PLACE_GRIDS = 300
TABS = {
    "mine": (gettext_lazy("My work"), {"state": "open", "mine": True}),
    "open": (gettext_lazy("Open cases"), {"state": "open"}),
    "overdue": (gettext_lazy("Overdue"), {"overdue": True}),
    "all": (gettext_lazy("All cases"), {}),
}
# Timeline entries that are not steps of `lifecycle`.
EVENT_LABELS = {
    "report": gettext_lazy("Reported"),
    "yellow": gettext_lazy("Yellow card"),
    "red": gettext_lazy("Red card"),
    "summon": gettext_lazy("Departments summoned"),
    "report_in": gettext_lazy("Department reported in"),
    "summons_done": gettext_lazy("Department finished its part"),
    "rate": gettext_lazy("Rated"),
    "no_rating": gettext_lazy("No rating within 3 days"),
    "original_closed": gettext_lazy("The case it repeats was closed"),
    "summons_red": gettext_lazy("Red card: a department did not report in"),
}


def _reader(request):
    """The user, when they read cases at all (a role with cases.view, or a unit's member); 404 otherwise."""
    user = request.user
    if not (scope.has_perm(user, Perm.CASES_VIEW) or queries.my_units(user)):
        raise Http404
    return user


def _units(user):
    """Units the user may pick: those in reach of their scope, and their own."""
    mine = Unit.objects.filter(pk__in=queries.my_units(user), active=True)
    return (queries.units(user) | mine).distinct().order_by("path", "kind", "code")


def due_class(case: Case, now) -> str:
    """ "red" past the stage's limit, "yellow" past its warning point, "" otherwise (or with no clock)."""
    if case.state not in STAGE_OF or case.due_at is None:
        return ""
    if case.supervision == Supervision.RED or case.due_at <= now:
        return "red"
    if case.supervision == Supervision.YELLOW or (case.warn_at is not None and case.warn_at <= now):
        return "yellow"
    return ""


def _with_due(rows, now) -> list[Case]:
    rows = list(rows)
    for case in rows:
        case.due_class = due_class(case, now)
    return rows


def _places(user) -> list[tuple[str, str]]:
    """(code, name) of the streets, communities and grids offered in the place filter."""
    divisions = geo_queries.visible_divisions(user).filter(level__in=[DivisionLevel.STREET, DivisionLevel.COMMUNITY])
    grids = geo_queries.grids_in_scope(user).order_by("code")[:PLACE_GRIDS]
    return [(d.code, d.name) for d in divisions.order_by("code")] + [(g.code, g.name) for g in grids]


def _filter_categories() -> list[dict]:
    """Top categories and their sub-categories, flattened for one select (a top category takes its children)."""
    flat = []
    for top in queries.category_tree():
        flat.append({"code": top["code"], "name": top["name"]})
        flat.extend({"code": c["code"], "name": "— " + c["name"]} for c in top["children"])
    return flat


@login_required
def case_list(request):
    """The inbox: my work, open, overdue or all cases in reach, filtered, 50 a page; and my summonses."""
    user = _reader(request)
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "mine"
    form = CaseFilterForm(request.GET, categories=_filter_categories(), units=_units(user))
    params = dict(TABS[tab][1])
    if form.is_valid():
        params.update({k: v for k, v in form.cleaned_data.items() if v})
    try:
        rows = queries.filtered(user, **params)
    except Http404:
        form.add_error("under", _("No such street, community or grid in your area."))
        params.pop("under")
        rows = queries.filtered(user, **params)
    if tab == "all":
        rows = rows.order_by("-reported_at", "-id")
    else:
        rows = rows.order_by(F("due_at").asc(nulls_last=True), "reported_at", "id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    page.object_list = _with_due(page.object_list, now)
    kept = urlencode([(k, v) for k, v in request.GET.items() if k not in ("page", "tab") and v])
    return render(
        request,
        "cases/list.html",
        {
            "tab": tab,
            "tabs": [(key, label) for key, (label, _params) in TABS.items()],
            "form": form,
            "page": page,
            "kept": kept,
            "places": _places(user),
            "summonses": queries.open_summonses_for(user).order_by("due_at"),
            "now": now,
            "can_report": scope.has_perm(user, Perm.CASES_REPORT),
        },
    )


def _district_outline(user):
    """The county-level division of the user's scope that has an outline, drawn under the grids."""
    divisions = geo_queries.visible_divisions(user).filter(level=DivisionLevel.COUNTY)
    return divisions.exclude(geometry="").first()


@login_required
def case_new(request):
    """Report a case: a grid worker in the field (point and photos), a hotline clerk (the caller's contact)."""
    user = _reader(request)
    if not scope.has_perm(user, Perm.CASES_REPORT):
        raise PermissionDenied
    hotline = any(a.role == Role.DISPATCHER for a in scope.assignments(user))
    form = ReportForm(
        request.POST or None,
        request.FILES or None,
        categories=queries.leaf_categories(),
        initial={"channel": Channel.HOTLINE if hotline else Channel.FIELD},
    )
    if request.method == "POST" and form.is_valid():
        reported = attempt(
            form,
            actions.report_case,
            user,
            form.report_data(),
            form.cleaned_data["channel"],
            photos=form.cleaned_data["photos"],
        )
        if reported is not None:
            case, duplicates = reported
            messages.success(request, _("Case %(number)s reported.") % {"number": case.number})
            if duplicates:
                messages.info(
                    request,
                    _("It may repeat %(count)d open case(s) nearby; see “Possible duplicates”.")
                    % {"count": len(duplicates)},
                )
            return redirect(case)
    return render(
        request,
        "cases/new.html",
        {"form": form, "district": _district_outline(user)},
        status=422 if form.errors else 200,
    )


# --- A case's page ---------------------------------------------------------------------------------


def who_acts(case: Case) -> str:
    """Who must act now, read from the case's state."""
    state = case.state
    if state in (State.REPORTED, State.ACCEPTED, State.REGISTERED, State.CHECKED, State.SUSPENDED):
        place = routing.division_at(case, case.level)
        return _("The desk of %(place)s (%(level)s level)") % {"place": place.name, "level": case.get_level_display()}
    if state in (State.DISPATCHED, State.HANDLING):
        return f"{case.unit} · {case.assignee}" if case.assignee_id else str(case.unit)
    if state == State.REPORTED_BACK:
        if case.category.reporter_confirms:
            return _("The reporter, who confirms the result (or a checker for them)")
        return _("A checker on the spot, or the reporter")
    if state == State.CLOSED and case.rating == Rating.PENDING:
        return _("The reporter, who rates the handling")
    return _("Nobody: the case is finished")


def _local(iso: str) -> str:
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M") if iso else ""


def _event_detail(event, names: dict) -> str:
    """What an event's data says, in words (unit names for codes, labels for reasons and levels)."""
    d = event.data or {}
    action = event.action

    def name(code):
        return names.get(code, code)

    if action == "report" and d.get("channel") in Channel.values:
        return Channel(d["channel"]).label
    if action == "dispatch":
        return name(d.get("unit"))
    if action == "reroute":
        return f"{name(d.get('from'))} → {name(d.get('to'))}"
    if action == "escalate" and {d.get("from_level"), d.get("to_level")} <= set(Level.values):
        return f"{Level(d['from_level']).label} → {Level(d['to_level']).label} ({name(d.get('to'))})"
    if action == "summon":
        units = "、".join(name(c) for c in d.get("units", []))
        return _("%(units)s; report in by %(due)s") % {"units": units, "due": _local(d.get("due_at", ""))}
    if action in ("report_in", "summons_done", "summons_red"):
        return name(d.get("unit")) + (" · " + _("late") if d.get("late") else "")
    if action == "rate":
        return _("Score %(score)s of 5") % {"score": d.get("score")}
    if action == "extend":
        return d.get("limit", "")
    if action == "approve_extension":
        return f"{d.get('limit', '')} · " + (_("approved") if d.get("approved") else _("refused"))
    if action == "reject":
        reason = str(REJECT_LABELS.get(d.get("reason"), d.get("reason", "")))
        return f"{reason} {d['duplicate_of']}" if d.get("duplicate_of") else reason
    if action in ("yellow", "red") and d.get("due_at"):
        return _("Due %(due)s") % {"due": _local(d["due_at"])}
    return ""


# Who a step without an account was taken by.
_ACTOR_NAMES = {"system": gettext_lazy("System"), "public": gettext_lazy("The reporter, through their link")}


def timeline_rows(case: Case) -> list[dict]:
    """The case's events with their label, actor, state change and details, for the timeline."""
    events = list(queries.timeline(case))
    codes = set()
    for e in events:
        d = e.data or {}
        codes.update(str(d[k]) for k in ("unit", "from", "to") if d.get(k))
        codes.update(d.get("units") or [])
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
    states = dict(State.choices)
    return [
        timeline.row(
            e,
            lifecycle.ACTION_LABELS.get(e.action) or EVENT_LABELS.get(e.action, e.action),
            states,
            _event_detail(e, names),
            _ACTOR_NAMES,
            photo_urls=[reverse("case_photo", args=[case.number, p.pk]) for p in e.photos.all()],
        )
        for e in events
    ]


def _case_page(request, case: Case, status: int = 200, bound: dict | None = None):
    """Render the case's page; `bound` holds forms sent back with their input after a refusal."""
    user = request.user
    bound = bound or {}
    now = timezone.now()
    allowed = lifecycle.allowed_actions(user, case)
    units = list(_units(user)) if {"dispatch", "reroute"} & set(allowed) else []
    members = [m.user for m in case.unit.members.select_related("user")] if "dispatch" in allowed else []
    action_forms = [
        bound.get(a) or ActionForm(action=a, case=case, units=units, members=members, auto_id=f"id_{a}_%s")
        for a in allowed
    ]
    desk = lifecycle.is_desk(user, case)
    mine = set(queries.my_units(user))
    summonses = queries.summonses(user, case)
    for s in summonses:
        s.mine = s.unit_id in mine
        s.late = s.state == SummonsState.SUMMONED and s.due_at <= now
    can_summon = desk and case.state not in FINAL_STATES
    departments = queries.units(user).filter(kind=UnitKind.DEPARTMENT) if can_summon else []
    can_rate = case.state == State.CLOSED and case.rating == Rating.PENDING and (case.reporter_id == user.pk or desk)
    duplicates = []
    if case.state in OPEN_STATES:
        found = [c.pk for c in actions.possible_duplicates(case)]
        duplicates = list(queries.cases(user).filter(pk__in=found).order_by("reported_at"))
    case.due_class = due_class(case, now)
    context = {
        "case": case,
        "who_acts": who_acts(case),
        "reporter": queries.reporter_fields(user, case),
        "photos": list(case.photos.all()),
        "timeline": timeline_rows(case),
        "action_forms": action_forms,
        "summonses": summonses,
        "summon_form": bound.get("summon") or SummonForm(departments=departments),
        "can_summon": can_summon,
        "done_form": NoteForm(required=True, auto_id=False),
        "rating_form": bound.get("rate") or RatingForm(),
        "can_rate": can_rate,
        "duplicates": duplicates,
        "can_merge": "reject" in allowed,
        "merged": queries.cases(user).filter(duplicate_of=case),
        "show_grid": case.grid_id is not None and scope.has_perm(user, Perm.GEO_VIEW, case.grid.path),
        # Disputes taken in from this case, and whether the reader may take it in for mediation.
        "disputes": dispute_queries.disputes(user).filter(cases=case),
        "can_mediate": scope.has_perm(user, Perm.DISPUTES_RECORD, case.path),
    }
    return render(request, "cases/case.html", context, status=status)


@login_required
def case_detail(request, number):
    """A case's page: header, place, photos, summonses, the timeline, and the steps the reader may take."""
    return _case_page(request, queries.get_case(request.user, number))


def _refused(request, case: Case, exc: Exception, bound: dict | None = None):
    """The case's page again, with why the step was refused as a message and the status it carries."""
    if isinstance(exc, PermissionDenied):
        messages.error(request, _("You may not take this step on this case."))
        return _case_page(request, case, status=403, bound=bound)
    messages.error(request, str(exc))
    return _case_page(request, case, status=exc.status, bound=bound)


def _run(request, case: Case, step, done: str, bound: dict | None = None):
    """Run one write on the case: back to its page with `done`, or with the refusal."""
    try:
        step()
    except (ActionError, PermissionDenied) as exc:
        return _refused(request, case, exc, bound)
    messages.success(request, done)
    return redirect(case)


def _invalid(request, case: Case, form, key: str):
    messages.error(request, error_text(form))
    return _case_page(request, case, status=422, bound={key: form})


@login_required
@require_POST
def case_act(request, number):
    """Take one life-cycle step (`action` and its fields) on a case."""
    user = request.user
    case = queries.get_case(user, number)
    action = request.POST.get("action", "")
    if action not in lifecycle.STEPS:
        messages.error(request, _("Unknown action."))
        return _case_page(request, case, status=422)
    units = list(_units(user)) if action in ("dispatch", "reroute") else []
    members = [m.user for m in case.unit.members.select_related("user")] if action == "dispatch" else []
    form = ActionForm(
        request.POST, request.FILES, action=action, case=case, units=units, members=members, auto_id=f"id_{action}_%s"
    )
    if not form.is_valid():
        return _invalid(request, case, form, action)
    label = lifecycle.ACTION_LABELS[action]
    return _run(
        request,
        case,
        lambda: actions.transition(user, case, action, **form.params()),
        _("Done: %(action)s.") % {"action": label},
        bound={action: form},
    )


@login_required
@require_POST
def case_summon(request, number):
    """吹哨: call departments onto the case; each must report in within the time given."""
    user = request.user
    case = queries.get_case(user, number)
    departments = queries.units(user).filter(kind=UnitKind.DEPARTMENT)
    form = SummonForm(request.POST, departments=departments)
    if not form.is_valid():
        return _invalid(request, case, form, "summon")
    data = form.cleaned_data
    return _run(
        request,
        case,
        lambda: actions.summon(user, case, data["units"], data["note"], data["within"]),
        _("Summoned: %(count)d department(s).") % {"count": len(data["units"])},
        bound={"summon": form},
    )


@login_required
@require_POST
def summons_report_in(request, number, summons_id):
    """报到: a summoned department says it is on the case."""
    case = queries.get_case(request.user, number)
    summons = actions.get_summons(case, summons_id)
    return _run(
        request,
        case,
        lambda: actions.report_in(request.user, summons),
        _("%(unit)s reported in.") % {"unit": summons.unit},
    )


@login_required
@require_POST
def summons_done(request, number, summons_id):
    """The summoned department did its part and says what it did."""
    case = queries.get_case(request.user, number)
    summons = actions.get_summons(case, summons_id)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _run(
        request,
        case,
        lambda: actions.summons_done(request.user, summons, note),
        _("%(unit)s finished its part.") % {"unit": summons.unit},
    )


@login_required
@require_POST
def case_rate(request, number):
    """The reporter's rating: by the reporter themselves, or recorded by the desk after a phone call."""
    user = request.user
    case = queries.get_case(user, number)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _invalid(request, case, form, "rate")
    return _run(
        request,
        case,
        lambda: actions.rate(case, form.cleaned_data["score"], form.cleaned_data["comment"], actor=user),
        _("The rating was recorded."),
        bound={"rate": form},
    )


@login_required
def case_photo(request, number, photo_id):
    """One photo of a case, for those who may read the case; photos are never public files."""
    case = queries.get_case(request.user, number)
    photo = CasePhoto.objects.filter(case=case, pk=photo_id).first()
    if photo is None:
        raise Http404
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(photo.file.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Supervision -----------------------------------------------------------------------------------


@login_required
def case_supervision(request):
    """督办: red and yellow cases in reach (red first, the most overdue first), and missed report-ins."""
    user = _reader(request)
    now = timezone.now()
    board = queries.supervision_board(user)
    red = _with_due(board.filter(supervision=Supervision.RED).order_by("due_at", "id"), now)
    yellow = _with_due(board.filter(supervision=Supervision.YELLOW).order_by("due_at", "id"), now)
    missed = (
        Summons.objects.filter(case__in=queries.cases(user), state=SummonsState.SUMMONED, red=True)
        .select_related("case", "unit")
        .order_by("due_at")
    )
    return render(request, "cases/supervision.html", {"red": red, "yellow": yellow, "missed": missed, "now": now})
