"""The set-up pages of the closed loop: categories, units and their staff, routing rules, the working-time
calendar and Open311 clients.

Categories, the calendar and Open311 clients serve the whole district: only those who manage cases at
district level or above open them (403 for others). Units and rules are managed in one's own place;
the actions refuse the rest (404 outside the scope, 403 without the power there).
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from anju.cases import actions, queries
from anju.cases.actions.setup import manages_district
from anju.cases.forms_setup import (
    CalendarDayForm,
    CategoryForm,
    DepartmentForm,
    MemberFormSet,
    Open311ClientForm,
    RuleForm,
    category_rows,
)
from anju.cases.models import Category, Open311Client, RoutingRule
from anju.core import scope
from anju.core.models import Assignment, CalendarDay
from anju.core.roles import Perm
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel
from anju.registry.forms import attempt

RULE_LEVELS = (DivisionLevel.COMMUNITY, DivisionLevel.STREET, DivisionLevel.COUNTY)
# Usernames offered when staffing a unit: the people holding roles in its place (a hint, not a limit).
SUGGESTED_PEOPLE = 300


def _manager(request):
    """The signed-in user, who must manage cases somewhere (403 otherwise)."""
    if not scope.has_perm(request.user, Perm.CASES_MANAGE):
        raise PermissionDenied
    return request.user


def _district_manager(request):
    """The signed-in user, who must manage cases at district level or above (403 otherwise)."""
    if not manages_district(request.user):
        raise PermissionDenied
    return request.user


def _manages(user, path: str) -> bool:
    return scope.has_perm(user, Perm.CASES_MANAGE, path)


@login_required
def index(request):
    """What there is to set up, with a link to each page the user may open."""
    user = _manager(request)
    district = manages_district(user)
    today = timezone.localdate()
    context = {
        "district": district,
        "units": queries.units(user).count(),
        "rules": RoutingRule.objects.restrict(user).count(),
    }
    if district:
        context.update(
            categories=Category.objects.filter(active=True).count(),
            days=CalendarDay.objects.filter(date__year=today.year).count(),
            year=today.year,
            clients=Open311Client.objects.filter(revoked_at=None).count(),
        )
    return render(request, "cases/setup_index.html", context)


# --- Categories ------------------------------------------------------------------------------------


@login_required
def categories(request):
    """The category tree with each one's starting level, department and time limits."""
    _district_manager(request)
    return render(request, "cases/setup_categories.html", {"rows": category_rows()})


@login_required
def category_edit(request, code: str | None = None):
    """A new category (`?parent=` preselects where it goes) or an existing one."""
    user = _district_manager(request)
    category = get_object_or_404(Category, code=code) if code else None
    initial = CategoryForm.initial_for(category)
    if category is None and request.GET.get("parent"):
        initial["parent"] = request.GET["parent"]
    form = CategoryForm(request.POST or None, initial=initial, category=category)
    if request.method == "POST" and form.is_valid():
        saved = attempt(form, actions.save_category, user, form.category_data(), category)
        if saved:
            messages.success(request, _("Category %(code)s saved.") % {"code": saved.code})
            return redirect("case_setup_categories")
    status = 422 if form.errors else 200
    return render(request, "cases/setup_category.html", {"form": form, "category": category}, status=status)


# --- Units and their staff -------------------------------------------------------------------------


def _districts(user) -> list[Division]:
    """The districts in which the user may open departments."""
    return [d for d in Division.objects.restrict(user).filter(level=DivisionLevel.COUNTY) if _manages(user, d.path)]


@login_required
def units(request):
    """Units in scope with their staff counts; POST opens a department of a district."""
    user = _manager(request)
    districts = _districts(user)
    form = DepartmentForm(request.POST or None, districts=districts)
    if request.method == "POST":
        if not districts:
            raise PermissionDenied
        if form.is_valid():
            district = Division.objects.get(code=form.cleaned_data["district"])
            unit = attempt(form, actions.add_department, user, district, form.cleaned_data["department"])
            if unit:
                messages.success(request, _("%(unit)s is open.") % {"unit": unit.name})
                return redirect("case_setup_unit", unit.code)
    rows = queries.units(user).select_related("division").annotate(member_count=Count("members"))
    context = {
        "rows": [(unit, _manages(user, unit.path)) for unit in rows],
        "form": form if districts else None,
    }
    return render(request, "cases/setup_units.html", context, status=422 if form.errors else 200)


@login_required
def unit(request, code: str):
    """A unit's staff: who handles its cases, and who leads (and so is told first)."""
    user = _manager(request)
    found = queries.units(user).filter(code=code).select_related("division").first()
    if found is None:
        raise Http404
    members = found.members.select_related("user").order_by("-lead", "user__username")
    # A posted list is taken whole: rows compared with the current staff would count unchanged rows as empty.
    if request.method == "POST":
        formset = MemberFormSet(request.POST)
    else:
        formset = MemberFormSet(initial=[{"username": m.user.username, "lead": m.lead} for m in members])
    if request.method == "POST" and formset.is_valid():
        actions.set_members(user, found, formset.members())
        messages.success(request, _("The staff of %(unit)s were saved.") % {"unit": found.name})
        return redirect("case_setup_unit", found.code)
    people = (
        Assignment.objects.filter(path__startswith=found.path, user__is_active=True)
        .order_by("user__username")
        .values_list("user__username", flat=True)
        .distinct()[:SUGGESTED_PEOPLE]
    )
    context = {"unit": found, "formset": formset, "can_edit": _manages(user, found.path), "people": people}
    return render(request, "cases/setup_unit.html", context, status=422 if formset.errors else 200)


# --- Routing rules ---------------------------------------------------------------------------------


def _rule_division(user, form: RuleForm) -> Division | None:
    """The rule's community, street or district, if it lies in the user's scope; else an error on the form."""
    division = (
        Division.objects.restrict(user)
        .filter(code=form.cleaned_data["division"].strip(), level__in=RULE_LEVELS)
        .first()
    )
    if division is None:
        form.add_error("division", _("No community, street or district with this code in your area."))
    return division


@login_required
def rules(request):
    """The routing rules in scope; POST adds one (or replaces the rule for the same category and place)."""
    user = _manager(request)
    unit_choices = list(queries.units(user).order_by("path", "kind", "code"))
    form = RuleForm(request.POST or None, units=unit_choices)
    if request.method == "POST" and form.is_valid():
        division = _rule_division(user, form)
        if division is not None:
            category = Category.objects.get(code=form.cleaned_data["category"])
            target = next(u for u in unit_choices if u.code == form.cleaned_data["unit"])
            rule = attempt(form, actions.save_rule, user, category, division, target, form.cleaned_data["note"])
            if rule:
                messages.success(request, _("Rule saved: %(rule)s.") % {"rule": rule})
                return redirect("case_setup_rules")
    rows = RoutingRule.objects.restrict(user).select_related("category", "division", "unit")
    places = Division.objects.restrict(user).filter(level__in=RULE_LEVELS).order_by("path")
    context = {
        "rows": [(rule, _manages(user, rule.path)) for rule in rows],
        "form": form,
        "places": [d for d in places if _manages(user, d.path)],
    }
    return render(request, "cases/setup_rules.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def rule_delete(request, pk: int):
    """Delete a rule in scope (404 outside it); its cases go the usual way again."""
    user = _manager(request)
    rule = RoutingRule.objects.restrict(user).filter(pk=pk).select_related("category", "unit").first()
    if rule is None:
        raise Http404
    actions.delete_rule(user, rule)
    messages.success(request, _("Rule deleted."))
    return redirect("case_setup_rules")


# --- The working-time calendar ---------------------------------------------------------------------


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


@login_required
def calendar(request):
    """One year's exceptions to the working week; POST adds or replaces a day."""
    user = _district_manager(request)
    year = _year(request)
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["date"]
        actions.set_calendar_day(user, day, form.cleaned_data["working"], form.cleaned_data["name"])
        messages.success(request, _("%(day)s saved.") % {"day": day.isoformat()})
        return redirect(f"{reverse('case_setup_calendar')}?year={day.year}")
    days = CalendarDay.objects.filter(date__year=year)
    context = {"year": year, "days": days, "form": form}
    return render(request, "cases/setup_calendar.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def calendar_remove(request, day: str):
    """The day goes back to the ordinary week (Monday to Friday worked)."""
    user = _district_manager(request)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    if not CalendarDay.objects.filter(date=when).exists():
        raise Http404
    actions.set_calendar_day(user, when, None)
    messages.success(request, _("%(day)s is an ordinary day again.") % {"day": when.isoformat()})
    return redirect(f"{reverse('case_setup_calendar')}?year={when.year}")


# --- Open311 clients -------------------------------------------------------------------------------


@never_cache
@login_required
def open311(request):
    """The outside applications allowed to post requests; POST issues a key, shown on this answer only."""
    user = _district_manager(request)
    form = Open311ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = attempt(form, actions.issue_open311_key, user, form.cleaned_data["name"], form.cleaned_data["contact"])
        if issued:
            client, key = issued
            return render(request, "cases/setup_open311_key.html", {"client": client, "key": key})
    clients = Open311Client.objects.select_related("created_by")
    return render(
        request, "cases/setup_open311.html", {"clients": clients, "form": form}, status=422 if form.errors else 200
    )


@login_required
@require_POST
def open311_revoke(request, pk: int):
    """Revoke a client's key: its requests are refused from now on."""
    user = _district_manager(request)
    client = get_object_or_404(Open311Client, pk=pk)
    actions.revoke_open311_key(user, client)
    messages.success(request, _("The key of %(name)s was revoked.") % {"name": client.name})
    return redirect("case_setup_open311")
