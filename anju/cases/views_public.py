"""The residents' pages (no sign-in): report a problem, then follow it through a private link.

The follow page shows what a reporter may know: the state in plain words, the dates of the steps with
neutral labels, and the result. Staff names, internal notes and other people's data never appear.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from anju.cases import actions, queries
from anju.cases.actions import intake
from anju.cases.actions.ratings import RATING_DAYS
from anju.cases.forms import category_groups
from anju.cases.forms_public import ConfirmForm, RatingForm, ReportForm
from anju.cases.models import Case, Channel, Rating, State
from anju.core import audit, ratelimit
from anju.core.errors import InvalidField
from anju.registry.forms import attempt

# Every submission counts, valid or not. A household or a shared Wi-Fi may report a few problems an hour.
IP_LIMIT, IP_WINDOW = 10, 60 * 60
# Answers through one case's link: a few tries at the forms, not a stream of them.
TOKEN_LIMIT, TOKEN_WINDOW = 10, 60 * 60

# The steps a reporter sees, with neutral labels; every other event (cards, summonses, extensions) is internal.
PUBLIC_STEPS = {
    "report": gettext_lazy("Reported"),
    "accept": gettext_lazy("Accepted"),
    "register": gettext_lazy("Registered"),
    "dispatch": gettext_lazy("Sent to the unit responsible"),
    "reroute": gettext_lazy("Passed to another unit"),
    "escalate": gettext_lazy("Passed to a higher level"),
    "handle": gettext_lazy("Work started"),
    "report_back": gettext_lazy("Result reported"),
    "check": gettext_lazy("Result checked"),
    "rework": gettext_lazy("Sent back for more work"),
    "suspend": gettext_lazy("Put on hold"),
    "resume": gettext_lazy("Work resumed"),
    "close": gettext_lazy("Case closed"),
    "reopen": gettext_lazy("Case reopened"),
    "reject": gettext_lazy("Not taken up"),
    "rate": gettext_lazy("Rated by you"),
    "original_closed": gettext_lazy("The original case was closed"),
}
STATE_WORDS = {
    State.REPORTED: gettext_lazy("Received; waiting to be accepted."),
    State.ACCEPTED: gettext_lazy("Accepted; being registered."),
    State.REGISTERED: gettext_lazy("Registered; waiting to be sent to the people who will handle it."),
    State.DISPATCHED: gettext_lazy("Sent to the unit responsible."),
    State.HANDLING: gettext_lazy("Being handled."),
    State.REPORTED_BACK: gettext_lazy("Handled. Please tell us whether the problem is solved."),
    State.CHECKED: gettext_lazy("The result was checked; the case will be closed soon."),
    State.CLOSED: gettext_lazy("Closed."),
    State.REJECTED: gettext_lazy("Not taken up."),
    State.SUSPENDED: gettext_lazy("On hold for now."),
}
REJECT_WORDS = {
    "invalid": gettext_lazy("The report could not be acted on."),
    "duplicate": gettext_lazy("The same problem had been reported already: its progress is shown below."),
    "not_ours": gettext_lazy("This is not handled here; please turn to the competent authority."),
}
# The result note is shown from the report back on, until the case is sent back for more work.
RESULT_STATES = (State.REPORTED_BACK, State.CHECKED, State.CLOSED)


def _message(request, status: int, heading: str, message: str) -> HttpResponse:
    return render(request, "cases/public_base.html", {"heading": heading, "message": message}, status=status)


def _not_found(request) -> HttpResponse:
    return _message(
        request,
        404,
        _("Unknown link"),
        _("This link does not lead to a case. Check that it was copied whole, or report the problem again."),
    )


def _too_many(request, message: str, window: int) -> HttpResponse:
    response = _message(request, 429, _("Too many attempts"), message)
    response["Retry-After"] = str(window)
    return response


def follow_url(request, case: Case) -> str:
    """The absolute address of the reporter's link (ANJU_PUBLIC_URL when the operator set it)."""
    path = reverse("public_case", args=[case.public_token])
    return settings.ANJU_PUBLIC_URL + path if settings.ANJU_PUBLIC_URL else request.build_absolute_uri(path)


def _outline() -> dict | None:
    """The receiving district's outline, to draw under the point picker."""
    try:
        district = intake.home_district()
    except InvalidField:
        return None
    return district.geojson


@never_cache
@require_http_methods(["GET", "POST"])
def report(request):
    """The form: what, where (map or address), photos, name and phone; files a case from the resident channel."""
    status = 200
    if request.method == "POST":
        if not ratelimit.allow(f"report:ip:{audit.current_ip.get()}", IP_LIMIT, IP_WINDOW):
            return _too_many(
                request, _("Too many reports were sent from here. Please try again in an hour."), IP_WINDOW
            )
        form = ReportForm(request.POST, request.FILES)
        status = 422
        if form.is_valid():
            photos = form.cleaned_data["photos"]
            made = attempt(form, actions.report_case, None, form.report(), Channel.RESIDENT, photos=photos)
            if made:
                return redirect("public_report_done", made[0].public_token)
    else:
        form = ReportForm(initial={"category": request.GET.get("category", "")})
    context = {
        "form": form,
        "groups": category_groups(queries.leaf_categories()),
        "outline": _outline(),
        "max_photos": intake.MAX_PHOTOS,
    }
    return render(request, "cases/public_report.html", context, status=status)


def _case(token: str) -> Case | None:
    return Case.objects.select_related("category", "duplicate_of__category").filter(public_token=token).first()


@never_cache
@require_GET
def report_done(request, token: str):
    """The receipt: the case number and the private link to keep."""
    case = _case(token)
    if case is None:
        return _not_found(request)
    return render(request, "cases/public_report_done.html", {"case": case, "follow_url": follow_url(request, case)})


def steps(case: Case, own: bool = True) -> list[dict]:
    """The case's steps as the reporter sees them: a date and a neutral label each (another reporter's
    rating is theirs, and left out)."""
    shown = [a for a in PUBLIC_STEPS if own or a != "rate"]
    events = case.events.filter(action__in=shown).values_list("at", "action")
    return [{"at": at, "label": PUBLIC_STEPS[action]} for at, action in events]


def progress(case: Case, own: bool = True) -> dict:
    """What a reporter may know of a case: its state in words, its steps, and (for their own case) the
    result and why it was not taken up. Of the case theirs repeats, only the state and the steps."""
    done = {"state": STATE_WORDS[case.state], "steps": steps(case, own), "result": "", "reason": ""}
    if own and case.state in RESULT_STATES:
        back = case.events.filter(action="report_back").order_by("-at", "-id").first()
        done["result"] = back.note if back else ""
    if own and case.state == State.REJECTED:
        rejected = case.events.filter(action="reject").order_by("-at", "-id").first()
        reason = "duplicate" if case.duplicate_of_id else (rejected.data or {}).get("reason", "") if rejected else ""
        done["reason"] = REJECT_WORDS.get(reason, "")
    return done


def _confirm(case: Case, data: dict) -> Case:
    return actions.confirm(case, data["solved"] == "yes", data["note"])


def _rate(case: Case, data: dict) -> Case:
    return actions.rate(case, data["score"], data["comment"])


# The reporter's answers on their page: step -> (form, action, thanks).
ANSWERS = {
    "confirm": (ConfirmForm, _confirm, gettext_lazy("Thank you. Your answer was passed on.")),
    "rate": (RatingForm, _rate, gettext_lazy("Thank you for your rating.")),
}


@never_cache
@require_http_methods(["GET", "POST"])
def case_page(request, token: str):
    """The reporter's page of one case: progress, "solved?" once reported back, the rating once closed."""
    case = _case(token)
    if case is None:
        return _not_found(request)
    forms = {step: form_class() for step, (form_class, _action, _thanks) in ANSWERS.items()}
    status, problems = 200, []
    if request.method == "POST":
        if not ratelimit.allow(f"case:token:{token}", TOKEN_LIMIT, TOKEN_WINDOW):
            return _too_many(
                request, _("Too many answers were sent for this case. Please try again later."), TOKEN_WINDOW
            )
        step = "confirm" if request.POST.get("step") == "confirm" else "rate"
        form_class, answer, thanks = ANSWERS[step]
        form = forms[step] = form_class(request.POST)
        if form.is_valid() and attempt(form, answer, case, form.cleaned_data):
            messages.success(request, thanks)
            return redirect("public_case", token)
        status = 422
        # Said at the top: the form may be gone (the case moved on, the rating time ran out).
        problems = form.non_field_errors()
    now = timezone.now()
    rating_open = (
        case.state == State.CLOSED
        and case.rating == Rating.PENDING
        and (case.closed_at is None or now - case.closed_at <= timedelta(days=RATING_DAYS))
    )
    context = {
        "case": case,
        "problems": problems,
        "progress": progress(case),
        "original": case.duplicate_of,
        "original_progress": progress(case.duplicate_of, own=False) if case.duplicate_of_id else None,
        "confirm_form": forms["confirm"],
        "rating_form": forms["rate"],
        "can_confirm": case.state == State.REPORTED_BACK,
        "rating_open": rating_open,
        "rating_over": case.state == State.CLOSED and case.rating in (Rating.PENDING, Rating.NONE) and not rating_open,
        "rating_days": RATING_DAYS,
    }
    return render(request, "cases/public_case.html", context, status=status)
