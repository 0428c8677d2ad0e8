"""Pages of dispute mediation for staff: the list, taking a dispute in, a dispute's page with the steps and
records of its mediation, its papers as PDF, and the set-up of rooms and mediators.

Reads go through `queries` (a dispute outside the reader's reach answers 404), writes through `actions`;
a step the actions refuse comes back as a message on the dispute's page, with the status it carries.
"""

import re
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from anju.cases import queries as case_queries
from anju.cases.forms import error_text
from anju.cases.models import Supervision
from anju.core import audit, scope, timeline
from anju.core.errors import ActionError, InvalidField
from anju.core.roles import Perm, Role
from anju.disputes import documents, queries
from anju.disputes.actions import intake, procedure, records, reviews, setup
from anju.disputes.forms import (
    AgreementForm,
    CourtAnswerForm,
    CourtApplyForm,
    DisputeFilterForm,
    FollowUpForm,
    FollowUpPlanForm,
    IntakeForm,
    MediatorForm,
    OnSpotSessionForm,
    PostedAgreement,
    ReviewForm,
    RiskFields,
    RiskForm,
    RoomForm,
    SessionForm,
    StepForm,
    TermStateForm,
    party_forms,
    term_forms,
)
from anju.disputes.models import (
    ACTIVE_STATES,
    FINAL_STATES,
    OPEN_STATES,
    TIMED_STATES,
    CourtAnswer,
    CourtConfirmation,
    Dispute,
    Flag,
    Grade,
    Kind,
    Level,
    MediationRoom,
    Mediator,
    SessionOutcome,
    State,
    TermState,
)
from anju.geo import queries as geo_queries
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel

PAGE_SIZE = 50
TABS = {
    "mine": (gettext_lazy("My disputes"), {"mine": True}),
    "open": (pgettext_lazy("dispute list", "Open"), {"state": "open"}),
    "cards": (gettext_lazy("Red and yellow cards"), {"cards": True}),
    "all": (gettext_lazy("All in my area"), {}),
}
# The source a dispute taken in by each role most often comes from.
ROLE_SOURCES = {
    Role.OFFICER: "police",
    Role.STATION_CHIEF: "police",
    Role.DISPATCHER: "hotline",
    Role.GRID_WORKER: "grid",
    Role.AUXILIARY: "grid",
}
ROW_FIELD = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")


def _reader(request):
    """The user, when they read disputes at all (disputes.view, or a mediator's account); 404 otherwise."""
    user = request.user
    if not (scope.has_perm(user, Perm.DISPUTES_VIEW) or Mediator.objects.filter(user=user).exists()):
        raise Http404
    return user


def due_class(dispute: Dispute, now) -> str:
    """ "red" past the 30 days, "yellow" past their 80 % mark, "" otherwise (or while the clock is not running)."""
    if dispute.state not in TIMED_STATES or dispute.due_at is None:
        return ""
    if dispute.supervision == Supervision.RED or dispute.due_at <= now:
        return "red"
    if dispute.supervision == Supervision.YELLOW or (dispute.warn_at is not None and dispute.warn_at <= now):
        return "yellow"
    return ""


def _flag_labels(record) -> list[str]:
    """The labels of a dispute's (or an assessment's) red flags."""
    return [str(Flag(f).label) if f in Flag.values else f for f in record.flags]


def _decorated(rows, now) -> list[Dispute]:
    """Rows with their card colour and flag labels, for the templates."""
    rows = list(rows)
    for d in rows:
        d.timed = d.state in TIMED_STATES and d.due_at is not None
        d.due_class = due_class(d, now)
        d.flag_labels = _flag_labels(d)
    return rows


def filtered(user, *, mine=False, cards=False, state="", grade="", level="", kind="", q=""):
    """The disputes of a tab and its filters, in the reader's reach."""
    rows = queries.disputes(user)
    if mine:
        rows = rows.filter(Q(lead__user=user) | Q(mediators__user=user)).distinct()
    if cards:
        rows = rows.filter(state__in=list(TIMED_STATES), supervision__in=[Supervision.YELLOW, Supervision.RED])
    if state == "open":
        rows = rows.filter(state__in=list(OPEN_STATES))
    elif state:
        rows = rows.filter(state=state)
    for field, value in (("grade", grade), ("level", level), ("kind", kind)):
        if value:
            rows = rows.filter(**{field: value})
    if q:
        rows = rows.filter(
            Q(number__icontains=q) | Q(summary__icontains=q) | Q(address__icontains=q) | Q(incident_number=q)
        )
    return rows


@login_required
def dispute_list(request):
    """The list: my disputes, open ones, red and yellow cards, or all in reach; filtered, 50 a page."""
    user = _reader(request)
    is_mediator = Mediator.objects.filter(user=user).exists()
    default = "mine" if is_mediator else "open"
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else default
    form = DisputeFilterForm(request.GET)
    params = dict(TABS[tab][1])
    if form.is_valid():
        params.update({k: v for k, v in form.cleaned_data.items() if v})
    rows = filtered(user, **params)
    if tab == "all":
        rows = rows.order_by("-received_at", "-id")
    else:
        rows = rows.order_by(F("due_at").asc(nulls_last=True), "received_at", "id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    page.object_list = _decorated(page.object_list, now)
    kept = urlencode([(k, v) for k, v in request.GET.items() if k not in ("page", "tab") and v])
    return render(
        request,
        "disputes/list.html",
        {
            "tab": tab,
            "tabs": [(key, label) for key, (label, _params) in TABS.items()],
            "form": form,
            "page": page,
            "kept": kept,
            "can_record": scope.has_perm(user, Perm.DISPUTES_RECORD),
            "can_manage": scope.has_perm(user, Perm.DISPUTES_MANAGE),
        },
    )


# --- Intake --------------------------------------------------------------------------------------------


def _default_source(user) -> str:
    for a in scope.assignments(user):
        if a.role in ROLE_SOURCES:
            return ROLE_SOURCES[a.role]
    return "walk_in"


def _put_back(exc: InvalidField, form, rows: dict) -> None:
    """Put the action's refusal next to the field it names: a form's own, or a row's ("parties[1].name")."""
    match = ROW_FIELD.match(exc.field)
    if match and match.group(1) in rows:
        row_forms = rows[match.group(1)]
        index, name = int(match.group(2)), match.group(3)
        if index < len(row_forms) and name in row_forms[index].fields:
            row_forms[index].add_error(name, str(exc))
            return
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


@login_required
def dispute_new(request):
    """Take in a dispute: its source, the facts and claims, the place, the risk, the parties."""
    user = _reader(request)
    if not scope.has_perm(user, Perm.DISPUTES_RECORD):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    initial = {"source": _default_source(user)}
    if request.GET.get("case"):
        # Taken in from a reported case (a dispute the closed loop hands to mediation).
        initial.update(intake.from_case(case_queries.get_case(user, request.GET["case"])))
    form = IntakeForm(data, initial=initial)
    if not scope.has_perm(user, Perm.DISPUTES_MEDIATE):
        del form.fields["on_spot"]
    parties = party_forms(data)
    if data is not None and all([form.is_valid(), *(p.is_valid() for p in parties)]):
        filled = [p for p in parties if not p.is_empty()]
        try:
            dispute = intake.record_dispute(user, form.dispute_data([p.cleaned_data for p in filled]))
        except InvalidField as exc:
            _put_back(exc, form, {"parties": filled})
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Dispute %(number)s taken in.") % {"number": dispute.number})
            if dispute.repeat_of_id:
                messages.info(
                    request,
                    _("The same parties had dispute %(number)s before.") % {"number": dispute.repeat_of.number},
                )
            return redirect(dispute)
    errors = bool(form.errors) or any(p.errors for p in parties)
    return render(
        request,
        "disputes/new.html",
        {"form": form, "parties": parties, "district": _district_outline(user)},
        status=422 if errors else 200,
    )


def _district_outline(user):
    """The county-level division of the user's scope that has an outline, drawn under the map's grids."""
    divisions = geo_queries.visible_divisions(user).filter(level=DivisionLevel.COUNTY)
    return divisions.exclude(geometry="").first()


# --- A dispute's page ---------------------------------------------------------------------------------------


def _local(iso: str) -> str:
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M") if iso else ""


def _choice(choices, value) -> str:
    return str(dict(choices.choices).get(value, value or ""))


def _event_detail(event, names: dict) -> str:
    """What an event's data says, in words (labels for levels, grades and answers, names for mediators)."""
    d = event.data or {}
    action = event.action
    if action == "receive":
        return f"{_choice(Level, d.get('level'))} · {_choice(Grade, d.get('grade'))}"
    if action == "escalate":
        return f"{_choice(Level, d.get('from_level'))} → {_choice(Level, d.get('to_level'))}"
    if action in ("decline", "terminate"):
        return _("Other routes: %(routes)s") % {"routes": d.get("other_routes", "")}
    if action == "refer":
        return d.get("to", "")
    if action == "assign":
        others = [names.get(m, "") for m in d.get("mediators", [])]
        return "、".join([names.get(d.get("lead"), ""), *others])
    if action == "assess":
        return " · ".join([_choice(Grade, d.get("grade")), *(_choice(Flag, f) for f in d.get("flags", []))])
    if action == "session":
        return _("Session %(n)s: %(outcome)s") % {
            "n": d.get("session"),
            "outcome": _choice(SessionOutcome, d.get("outcome")),
        }
    if action == "agreement":
        return _("Version %(version)s") % {"version": d.get("version")}
    if action == "term":
        return _("Term %(n)s: %(state)s") % {"n": d.get("term"), "state": _choice(TermState, d.get("state"))}
    if action == "follow_up_planned":
        return d.get("due_on", "")
    if action == "court_applied":
        return d.get("court", "")
    if action == "court_answer":
        return _choice(CourtAnswer, d.get("answer"))
    if action == "review":
        return _("Score %(total)s of 100") % {"total": d.get("total")}
    if action in ("yellow", "red") and d.get("due_at"):
        return _("Due %(due)s") % {"due": _local(d["due_at"])}
    return ""


# Who a step without an account was taken by.
_ACTOR_NAMES = {"system": gettext_lazy("System")}


def timeline_rows(dispute: Dispute) -> list[dict]:
    """The dispute's events with their label, actor, state change and details, for the timeline."""
    events = list(dispute.events.select_related("actor"))
    ids = set()
    for e in events:
        if e.action == "assign":
            ids.update([e.data.get("lead"), *e.data.get("mediators", [])])
    names = dict(Mediator.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name"))
    states = dict(State.choices)
    return [
        timeline.row(e, procedure.EVENT_LABELS.get(e.action, e.action), states, _event_detail(e, names), _ACTOR_NAMES)
        for e in events
    ]


def _assignable(user) -> list[Mediator]:
    return list(queries.mediators(user).filter(active=True))


def _record_forms(user, d: Dispute, bound: dict) -> dict:
    """The record forms the reader may fill in now, by key (absent when not offered)."""
    if not procedure.may_mediate(user, d):
        return {}
    agreement = records.current_agreement(d)
    offered = {}
    if d.state in records.SESSION_STATES:
        offered["session"] = SessionForm(
            initial={**RiskFields.initial_of(d), "at": timezone.localtime().replace(second=0, microsecond=0)},
            prefix="session",
        )
    if d.state == State.RECEIVED and d.level == Level.ON_SPOT:
        offered["on_spot"] = OnSpotSessionForm(
            initial={**RiskFields.initial_of(d), "at": timezone.localtime().replace(second=0, microsecond=0)},
            prefix="session",
        )
        offered["on_spot_agreement"] = AgreementForm(prefix="agreement")
    if d.state in records.AGREEMENT_STATES and d.sessions.exists():
        initial = {}
        if agreement is not None:
            fields = ("facts", "responsibilities", "method", "deadline", "signed_on", "court_confirmation")
            initial = {k: getattr(agreement, k) for k in fields}
        offered["agreement"] = AgreementForm(initial=initial, prefix="agreement")
    if d.state in (State.AGREED, State.CLOSED):
        offered["follow_up_plan"] = FollowUpPlanForm(prefix="plan")
        offered["follow_up"] = FollowUpForm(prefix="visit")
        confirmation = CourtConfirmation.objects.filter(dispute=d).first()
        if confirmation is None and agreement is not None:
            offered["court"] = CourtApplyForm(prefix="court")
        elif confirmation is not None and confirmation.answer == CourtAnswer.PENDING:
            offered["court_answer"] = CourtAnswerForm(prefix="answer")
    if d.state in ACTIVE_STATES:
        offered["risk"] = RiskForm(initial=RiskFields.initial_of(d), prefix="risk")
    reviewer_is_lead = d.lead_id is not None and d.lead.user_id == user.pk
    if (
        procedure.is_manager(user, d)
        and d.state in reviews.REVIEWABLE
        and not reviewer_is_lead
        and not d.reviews.filter(reviewer=user).exists()
    ):
        offered["review"] = ReviewForm(prefix="review")
    # A form sent back after a refusal replaces its blank twin.
    return {key: bound.get(key, form) for key, form in offered.items()}


def _dispute_page(request, d: Dispute, status: int = 200, bound: dict | None = None):
    """Render the dispute's page; `bound` holds forms sent back with their input after a refusal."""
    user = request.user
    bound = bound or {}
    allowed = procedure.allowed_actions(user, d)
    mediators = _assignable(user) if "assign" in allowed else []
    step_forms = [
        bound.get(a)
        or StepForm(
            action=a,
            mediators=mediators,
            auto_id=f"id_{a}_%s",
            initial={"lead": d.lead_id, "mediators": [m.pk for m in d.mediators.all() if m.pk != d.lead_id]}
            if a == "assign"
            else None,
        )
        for a in allowed
    ]
    may_mediate = procedure.may_mediate(user, d)
    agreement = records.current_agreement(d)
    forms = _record_forms(user, d, bound)
    _decorated([d], timezone.now())
    assessments = list(d.assessments.select_related("by").order_by("-at", "-id"))
    for a in assessments:
        a.flag_labels = _flag_labels(a)
    context = {
        "dispute": d,
        "parties": queries.parties(user, d),
        "co_mediators": [m for m in d.mediators.all() if m.pk != d.lead_id],
        "linked_cases": list(d.cases.all()),
        "repeat_of": queries.disputes(user).filter(pk=d.repeat_of_id).first() if d.repeat_of_id else None,
        "assessments": assessments,
        "ended": d.state in FINAL_STATES or d.state == State.TERMINATED,
        "sessions": list(d.sessions.all()),
        "agreement": agreement,
        "terms": list(agreement.terms.all()) if agreement else [],
        "versions": list(d.agreements.order_by("-version")),
        "follow_ups": list(d.follow_ups.select_related("by")),
        "court": CourtConfirmation.objects.filter(dispute=d).first(),
        "reviews": list(d.reviews.select_related("reviewer")),
        "timeline": timeline_rows(d),
        "step_forms": step_forms,
        "forms": forms,
        "term_rows": (bound.get("terms") or term_forms(agreement=agreement))
        if {"agreement", "on_spot"} & forms.keys()
        else [],
        "can_settle_terms": may_mediate and d.state == State.AGREED,
        "may_mediate": may_mediate,
    }
    return render(request, "disputes/dispute.html", context, status=status)


@login_required
def dispute_detail(request, number):
    """A dispute's page: header, parties, records of the mediation, the timeline, and the steps the reader may take."""
    return _dispute_page(request, queries.get_dispute(request.user, number))


def _refused(request, d: Dispute, exc: Exception, bound: dict | None = None):
    """The dispute's page again, with why the step was refused as a message and the status it carries."""
    if isinstance(exc, PermissionDenied):
        messages.error(request, _("You may not take this step on this dispute."))
        return _dispute_page(request, d, status=403, bound=bound)
    messages.error(request, str(exc))
    return _dispute_page(request, d, status=exc.status, bound=bound)


def _run(request, d: Dispute, step, done: str, bound: dict | None = None, rows: dict | None = None):
    """Run one write on the dispute: back to its page with `done`, or with the refusal (next to its field)."""
    try:
        step()
    except (ActionError, PermissionDenied) as exc:
        if isinstance(exc, InvalidField) and bound:
            form = next(iter(bound.values()))
            _put_back(exc, form, rows or {})
        return _refused(request, d, exc, bound)
    messages.success(request, done)
    return redirect(d)


def _invalid(request, d: Dispute, form, key: str, extra: dict | None = None):
    messages.error(request, error_text(form) or _("Check the fields of the form."))
    return _dispute_page(request, d, status=422, bound={key: form, **(extra or {})})


@login_required
@require_POST
def dispute_act(request, number):
    """Take one step of the procedure (`action` and its fields) on a dispute."""
    user = request.user
    d = queries.get_dispute(user, number)
    action = request.POST.get("action", "")
    if action not in procedure.STEPS:
        messages.error(request, _("Unknown action."))
        return _dispute_page(request, d, status=422)
    mediators = _assignable(user) if action == "assign" else []
    form = StepForm(request.POST, action=action, mediators=mediators, auto_id=f"id_{action}_%s")
    if not form.is_valid():
        return _invalid(request, d, form, action)
    return _run(
        request,
        d,
        lambda: procedure.transition(user, d, action, **form.params()),
        _("Done: %(action)s.") % {"action": procedure.ACTION_LABELS[action]},
        bound={action: form},
    )


# Records kept on a dispute from one form each: (form class, its prefix, the write, the message on success).
RECORDS = {
    "session": (
        SessionForm,
        "session",
        lambda user, d, form: records.record_session(user, d, form.payload()),
        gettext_lazy("The session was recorded."),
    ),
    "risk": (
        RiskForm,
        "risk",
        lambda user, d, form: intake.assess(user, d, form.payload()),
        gettext_lazy("The risk was re-assessed."),
    ),
    "follow_up_plan": (
        FollowUpPlanForm,
        "plan",
        lambda user, d, form: records.follow_up(user, d, form.payload()),
        gettext_lazy("The follow-up visit was scheduled."),
    ),
    "follow_up": (
        FollowUpForm,
        "visit",
        lambda user, d, form: records.follow_up(user, d, form.payload()),
        gettext_lazy("The follow-up visit was recorded."),
    ),
    "court": (
        CourtApplyForm,
        "court",
        lambda user, d, form: records.apply_court(user, d, form.payload()),
        gettext_lazy("The application to the court was recorded."),
    ),
    "court_answer": (
        CourtAnswerForm,
        "answer",
        lambda user, d, form: records.court_answer(user, d, form.payload()),
        gettext_lazy("The court's answer was recorded."),
    ),
    "review": (
        ReviewForm,
        "review",
        lambda user, d, form: reviews.review_dossier(user, d, form.scores(), form.cleaned_data["comment"]),
        gettext_lazy("The dossier review was recorded."),
    ),
}


@login_required
@require_POST
def dispute_record(request, number, what):
    """Keep one record of the mediation (session minutes, a risk assessment, a follow-up, the court, a review)."""
    user = request.user
    d = queries.get_dispute(user, number)
    form_class, prefix, write, done = RECORDS[what]
    form = form_class(request.POST, prefix=prefix)
    if not form.is_valid():
        return _invalid(request, d, form, what)
    return _run(request, d, lambda: write(user, d, form), str(done), bound={what: form})


@login_required
@require_POST
def dispute_agreement(request, number):
    """Record the agreement, or a new version of it, with its terms."""
    user = request.user
    d = queries.get_dispute(user, number)
    posted = PostedAgreement(request.POST)
    if not posted.is_valid():
        return _invalid(request, d, posted.form, "agreement", {"terms": posted.rows})
    agreement = records.current_agreement(d)
    done = _("The agreement was revised.") if agreement else _("The agreement was recorded.")
    return _run(
        request,
        d,
        lambda: records.save_agreement(user, d, posted.payload()),
        done,
        bound={"agreement": posted.form, "terms": posted.rows},
        rows={"terms": posted.filled()},
    )


@login_required
@require_POST
def dispute_on_spot(request, number):
    """Record a dispute taken on the spot as settled there: the session and the agreement in one form."""
    user = request.user
    d = queries.get_dispute(user, number)
    session = OnSpotSessionForm(request.POST, prefix="session")
    posted = PostedAgreement(request.POST)
    bound = {"on_spot": session, "on_spot_agreement": posted.form, "terms": posted.rows}
    if not all([session.is_valid(), posted.is_valid()]):
        return _invalid(request, d, session if session.errors else posted.form, "on_spot", bound)
    data = {"session": session.payload(), "agreement": posted.payload()}
    try:
        records.settle_on_spot(user, d, data)
    except InvalidField as exc:
        part, _dot, field = exc.field.partition(".")
        form = session if part == "session" else posted.form
        _put_back(InvalidField(field, str(exc)), form, {"terms": posted.filled()})
        return _refused(request, d, exc, bound)
    except (ActionError, PermissionDenied) as exc:
        return _refused(request, d, exc, bound)
    messages.success(request, _("The dispute was recorded as settled at the scene."))
    return redirect(d)


@login_required
@require_POST
def dispute_term(request, number):
    """Record a term of the agreement in force as performed or not performed."""
    user = request.user
    d = queries.get_dispute(user, number)
    form = TermStateForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return _dispute_page(request, d, status=422)
    data = form.cleaned_data
    return _run(
        request,
        d,
        lambda: records.settle_term(user, d, data["order"], data["state"], data["note"]),
        _("Term %(order)d: %(state)s.") % {"order": data["order"], "state": TermState(data["state"]).label},
    )


def _paper(request, number: str, kind: str) -> HttpResponse:
    """A PDF of the dispute, for those who may mediate or manage it; each copy is audited."""
    user = request.user
    d = queries.get_dispute(user, number)
    if not procedure.may_mediate(user, d):
        raise PermissionDenied
    if kind == "agreement":
        agreement = records.current_agreement(d)
        if agreement is None:
            raise Http404
        content, detail = documents.agreement_pdf(agreement), {"version": agreement.version}
    else:
        content, detail = documents.dossier_pdf(d), {}
    audit.record(f"dispute.{kind}_pdf", user=user, obj=d, object_id=d.number, detail=detail)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{d.number}-{kind}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def agreement_pdf(request, number):
    """The agreement in force (调解协议书) as PDF."""
    return _paper(request, number, "agreement")


@login_required
def dossier_pdf(request, number):
    """The whole dossier (卷宗) as PDF."""
    return _paper(request, number, "dossier")


# --- Set-up: rooms and mediators ------------------------------------------------------------------------------


def _manager(request):
    """The signed-in user, who must manage mediation somewhere (403 otherwise)."""
    if not scope.has_perm(request.user, Perm.DISPUTES_MANAGE):
        raise PermissionDenied
    return request.user


def _divisions(user) -> list[Division]:
    """Divisions down to communities where the user manages mediation."""
    levels = [DivisionLevel.COUNTY, DivisionLevel.STREET, DivisionLevel.COMMUNITY]
    q = Q(pk__in=[])
    for p in scope.scope_paths(user):
        q |= Q(path__startswith=p)
    rows = Division.objects.filter(q, level__in=levels).order_by("path")
    return [d for d in rows if scope.has_perm(user, Perm.DISPUTES_MANAGE, d.path)]


@login_required
def setup_index(request):
    """Rooms and mediators in the manager's area, mediators with their present load."""
    user = _manager(request)
    kinds = dict(Kind.choices)
    mediators = list(queries.mediators(user).select_related("user"))
    for m in mediators:
        m.specialty_labels = [str(kinds.get(s, s)) for s in m.specialties]
    return render(
        request,
        "disputes/setup.html",
        {"rooms": queries.rooms(user).select_related("division"), "mediators": mediators},
    )


def _edit(request, form, save, title: str):
    """Show a set-up form, or save it through `save` and go back to the set-up page."""
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved: %(name)s.") % {"name": saved})
            return redirect("dispute_setup")
    return render(
        request, "disputes/setup_edit.html", {"form": form, "title": title}, status=422 if form.errors else 200
    )


@login_required
def setup_room(request, pk=None):
    """Open or edit a mediation room."""
    user = _manager(request)
    room = get_object_or_404(queries.rooms(user), pk=pk) if pk else None
    initial = {}
    if room is not None:
        initial = {k: getattr(room, k) for k in ("name", "kind", "address", "phone", "active")}
        initial["division"] = room.division.code
    form = RoomForm(request.POST or None, initial=initial, divisions=_divisions(user))
    title = _("Room: %(name)s") % {"name": room.name} if room else _("Open a room")
    return _edit(request, form, lambda data: setup.save_room(user, data, room), title)


@login_required
def setup_mediator(request, pk=None):
    """Add or edit a mediator: kind, specialties, room, expert pool, capacity, account."""
    user = _manager(request)
    mediator = get_object_or_404(Mediator.objects.restrict(user), pk=pk) if pk else None
    initial = {}
    if mediator is not None:
        fields = ("name", "kind", "phone", "organization", "specialties", "in_pool", "capacity", "active")
        initial = {k: getattr(mediator, k) for k in fields}
        initial.update(
            division=mediator.division.code,
            room=mediator.room_id or "",
            username=mediator.user.username if mediator.user_id else "",
        )
    form = MediatorForm(
        request.POST or None,
        initial=initial,
        divisions=_divisions(user),
        rooms=MediationRoom.objects.restrict(user).filter(active=True),
    )
    title = _("Mediator: %(name)s") % {"name": mediator.name} if mediator else _("Add a mediator")
    return _edit(request, form, lambda data: setup.save_mediator(user, data, mediator), title)
