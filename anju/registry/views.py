"""Pages of the registry: search, a person, a house, a building, the verification queue, overdue tenants."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.core import scope
from anju.core.errors import ActionError
from anju.core.models import User
from anju.core.roles import Perm, Role
from anju.geo import queries as geo_queries
from anju.registry import actions, queries
from anju.registry.forms import (
    CheckInForm,
    CheckOutForm,
    HouseChangeForm,
    HouseForm,
    OrganizationForm,
    PersonChangeForm,
    PersonForm,
    ReasonForm,
    ResponsibleForm,
    SearchForm,
    UnmaskForm,
    VehicleForm,
    attempt,
)
from anju.registry.models import OrganizationKind, Person, Status, room_order


def _reader(request):
    if not scope.has_perm(request.user, Perm.REGISTRY_VIEW):
        raise Http404
    return request.user


def _can(user, perm: str, record) -> bool:
    return scope.has_perm(user, perm, record.path)


@login_required
def index(request):
    """Search, and the counts of the reader's scope."""
    user = _reader(request)
    form = SearchForm(request.GET or None)
    context = {"form": form, "results": None}
    if form.is_valid():
        q = form.cleaned_data["q"]
        kind, found = queries.search_people(user, q, limit=SEARCH_LIMIT)
        context.update(
            kind=kind,
            kind_label=SEARCH_KINDS[kind],
            limit=SEARCH_LIMIT,
            results=[{"person": p, "shown": queries.person_fields(user, p)} for p in found],
            vehicles=queries.search_vehicles(user, q) if kind == "plate" else [],
            addresses=queries.match_addresses(user, q, limit=10) if kind == "address" else [],
        )
    people = queries.people(user)
    context["counts"] = {
        "people": people.count(),
        "pending": people.filter(status=Status.PENDING).count(),
        "houses": queries.houses(user).count(),
        "overdue": queries.overdue_rentals(user).count(),
    }
    context["can_collect"] = scope.has_perm(user, Perm.REGISTRY_COLLECT)
    return render(request, "registry/index.html", context)


def _person_context(request, person: Person, unmasked: bool = False, **extra) -> dict:
    user = request.user
    return {
        "person": person,
        "shown": queries.person_fields(user, person, unmasked=unmasked),
        "residences": person.residences.select_related("house__address"),
        "vehicles": person.vehicles.all(),
        "history": queries.history(user, person, *person.residences.all(), *person.vehicles.all()),
        "pending": queries.shown_pending(user, person),
        "can_unmask": _can(user, Perm.REGISTRY_UNMASK, person),
        "can_change": _can(user, Perm.REGISTRY_COLLECT, person),
        "can_verify": _can(user, Perm.REGISTRY_VERIFY, person),
        "unmask_form": extra.pop("unmask_form", None) or UnmaskForm(),
        "change_form": extra.pop("change_form", None)
        or PersonChangeForm(initial={f: getattr(person, f) for f in ("name", "kind", "ethnicity", "hukou_place")}),
        "reject_form": ReasonForm(),
        "vehicle_form": VehicleForm(),
        **extra,
    }


@login_required
def person(request, pk: int):
    """A person's page, masked; opening it is audited. POST with a reason unmasks (audited)."""
    user = _reader(request)
    p = queries.get_person(user, pk)
    if request.method == "POST":
        form = UnmaskForm(request.POST)
        if form.is_valid():
            unmasked = attempt(form, actions.open_person, user, p, unmask=True, reason=form.cleaned_data["reason"])
            if unmasked:
                return render(request, "registry/person.html", _person_context(request, p, unmasked=True))
        return render(request, "registry/person.html", _person_context(request, p, unmask_form=form), status=422)
    actions.open_person(user, p)
    return render(request, "registry/person.html", _person_context(request, p))


@login_required
@require_POST
def person_change(request, pk: int):
    """Propose a change to a person (pending until verified)."""
    user = _reader(request)
    p = queries.get_person(user, pk)
    form = PersonChangeForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        note = data.pop("note")
        # Masked fields are not pre-filled: left empty, they keep their value.
        data = {k: v for k, v in data.items() if v != "" or k not in ("phone", "residence_permit")}
        if attempt(form, actions.propose_change, user, p, data, note) is not None:
            messages.success(request, _("Saved.") if not p.pending else _("Change sent for verification."))
            return redirect("registry_person", pk=p.pk)
    return render(request, "registry/person.html", _person_context(request, p, change_form=form), status=422)


@login_required
def person_new(request):
    """Collect a person found in a grid (`?grid=CODE`) or living in a house (`?house=ID`)."""
    user = _reader(request)
    house = queries.get_house(user, request.GET["house"]) if request.GET.get("house") else None
    grid = geo_queries.get_grid(user, request.GET["grid"]) if request.GET.get("grid") else None
    place = house or grid
    if place is None:
        raise Http404
    if not scope.has_perm(user, Perm.REGISTRY_COLLECT, place.path):
        raise PermissionDenied
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        p = attempt(
            form, actions.collect_person, user, form.person_data(), place=place.path, grid=getattr(house, "grid", grid)
        )
        if p is not None:
            messages.success(request, _("Collected: %(name)s.") % {"name": p.name})
            return redirect("registry_person", pk=p.pk)
    context = {"form": form, "title": _("Collect a person"), "subtitle": house.address.label if house else grid.name}
    return render(request, "registry/form_page.html", context)


def _house_context(request, house, **extra) -> dict:
    user = request.user
    return {
        "house": house,
        "residents": [
            {"residence": r, "name": queries.shown_name(user, r.person)} for r in queries.current_residents(house)
        ],
        "past": house.residences.exclude(end=None).select_related("person")[:50],
        "history": queries.history(user, house, *house.residences.all()),
        "can_collect": _can(user, Perm.REGISTRY_COLLECT, house),
        "can_verify": _can(user, Perm.REGISTRY_VERIFY, house),
        "checkin_form": extra.pop("checkin_form", None) or CheckInForm(),
        # Filled only for someone new; the browser must not demand it when an ID number is given.
        "person_form": extra.pop("person_form", None) or PersonForm(prefix="p", use_required_attribute=False),
        "change_form": HouseChangeForm(initial={"use": house.use, "area_m2": house.area_m2, "hazards": house.hazards}),
        "checkout_form": CheckOutForm(),
        "reject_form": ReasonForm(),
        **extra,
    }


@login_required
def house(request, pk: int):
    """A house: its address, use, current and past residents, check-in, history."""
    user = _reader(request)
    return render(request, "registry/house.html", _house_context(request, queries.get_house(user, pk)))


@login_required
@require_POST
def house_check_in(request, pk: int):
    """Check a registered person in by ID number, or collect a new person and check them in."""
    user = _reader(request)
    h = queries.get_house(user, pk)
    form = CheckInForm(request.POST)
    person_form = PersonForm(request.POST, prefix="p", use_required_attribute=False)
    if form.is_valid():
        id_number = form.cleaned_data["id_number"].strip()
        person = None
        # A new person and their check-in stand or fall together.
        with transaction.atomic():
            if id_number:
                kind, found = queries.search_people(user, id_number, limit=1)
                person = found[0] if kind == "id_number" and found else None
                if person is None:
                    form.add_error("id_number", _("Nobody with this ID number is registered in your area."))
            elif person_form.is_valid():
                person = attempt(
                    person_form, actions.collect_person, user, person_form.person_data(), place=h.path, grid=h.grid
                )
            done = None
            if person is not None:
                d = form.cleaned_data
                done = attempt(
                    form,
                    actions.check_in,
                    user,
                    h,
                    person,
                    start=d["start"],
                    relation=d["relation"],
                    reason=d["reason"],
                )
            if done is None:
                transaction.set_rollback(True)
        if done is not None:
            messages.success(request, _("%(name)s checked in.") % {"name": person.name})
            return redirect("registry_house", pk=h.pk)
    context = _house_context(request, h, checkin_form=form, person_form=person_form)
    return render(request, "registry/house.html", context, status=422)


@login_required
@require_POST
def house_change(request, pk: int):
    """Change a house's use, area or hazard notes (pending until verified)."""
    user = _reader(request)
    h = queries.get_house(user, pk)
    form = HouseChangeForm(request.POST)
    if form.is_valid() and attempt(form, actions.propose_change, user, h, form.cleaned_data) is not None:
        messages.success(request, _("Saved.") if not h.pending else _("Change sent for verification."))
    elif form.errors:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("registry_house", pk=h.pk)


def _collect_grids(user) -> list:
    """The grids the user may collect in, for the grid picker of a new address."""
    return [g for g in geo_queries.grids_in_scope(user)[:2000] if scope.has_perm(user, Perm.REGISTRY_COLLECT, g.path)]


def _with_community(cleaned: dict, grids: list) -> dict:
    """The form's address fields plus the community of the grid picked."""
    grid = next(g for g in grids if g.code == cleaned["grid"])
    return {**cleaned, "community": grid.community_id}


@login_required
def house_new(request):
    """Collect a house at a room-level address."""
    user = _reader(request)
    if not scope.has_perm(user, Perm.REGISTRY_COLLECT):
        raise PermissionDenied
    grids = _collect_grids(user)
    form = HouseForm(request.POST or None, initial={"grid": request.GET.get("grid", "")}, grids=grids)
    if request.method == "POST" and form.is_valid():
        h = attempt(form, actions.collect_house, user, _with_community(form.cleaned_data, grids))
        if h is not None:
            messages.success(request, _("House collected."))
            return redirect("registry_house", pk=h.pk)
    return render(request, "registry/form_page.html", {"form": form, "title": _("Collect a house")})


@login_required
@require_POST
def residence_check_out(request, pk: int):
    """Retire a residence: the person moved out."""
    user = _reader(request)
    r = queries.get_residence(user, pk)
    form = CheckOutForm(request.POST)
    if form.is_valid():
        attempt(form, actions.check_out, user, r, end=form.cleaned_data["end"], reason=form.cleaned_data["reason"])
    if form.errors:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, _("%(name)s checked out.") % {"name": r.person.name})
    return redirect("registry_house", pk=r.house_id)


@login_required
def residence_photo(request, pk: int):
    """A tenant's contract photo, for those who verify or collect in that place (never public)."""
    user = _reader(request)
    r = queries.get_residence(user, pk)
    if not r.contract_photo or not _can(user, Perm.REGISTRY_COLLECT, r):
        raise Http404
    return FileResponse(r.contract_photo.open("rb"))


SEARCH_LIMIT = 50
SEARCH_KINDS = {
    "id_number": gettext_lazy("by ID number"),
    "phone": gettext_lazy("by phone"),
    "plate": gettext_lazy("by plate"),
    "name": gettext_lazy("by name"),
    "address": gettext_lazy("by address"),
}

KIND_LABELS = {
    "person": gettext_lazy("People"),
    "house": gettext_lazy("Houses"),
    "residence": gettext_lazy("Residences"),
    "organization": gettext_lazy("Organizations"),
    "vehicle": gettext_lazy("Vehicles"),
}

RECORD_GETTERS = {
    "person": queries.get_person,
    "house": queries.get_house,
    "residence": queries.get_residence,
    "organization": queries.get_organization,
    "vehicle": queries.get_vehicle,
}


@login_required
@require_POST
def decide(request, kind: str, pk: int, decision: str):
    """Verify, reject or take up (a QR declaration) one record; back to where the button was."""
    user = _reader(request)
    getter = RECORD_GETTERS.get(kind)
    if getter is None:
        raise Http404
    record = getter(user, pk)
    try:
        if decision == "verify":
            actions.verify(user, record)
            messages.success(request, _("Verified."))
        elif decision == "reject":
            actions.reject(user, record, request.POST.get("reason", ""))
            messages.success(request, _("Returned to the collector."))
        elif decision == "confirm" and kind == "residence":
            actions.confirm_declaration(user, record)
            messages.success(request, _("Declaration taken up; it now waits for the officer's verification."))
        else:
            raise Http404
    except ActionError as exc:
        messages.error(request, str(exc))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("registry_queue")
    return redirect(target)


@login_required
def queue(request):
    """Records waiting: QR declarations to take up (collectors) and records to verify (verifiers)."""
    user = _reader(request)
    waiting = queries.queue(user)
    sections = [(KIND_LABELS[kind], kind, records) for kind, records in waiting["to_verify"].items()]
    return render(
        request,
        "registry/queue.html",
        {"declarations": waiting["declarations"], "sections": sections, "limit": queries.QUEUE_LIMIT},
    )


@login_required
def overdue(request):
    """Tenants past their registration deadline, per grid."""
    user = _reader(request)
    rows = [
        {"residence": r, "name": queries.shown_name(user, r.person)}
        for r in queries.overdue_rentals(user).select_related("person")[:500]
    ]
    # Grouped by grid on the page: grid first, then the oldest deadline.
    rows.sort(key=lambda row: (row["residence"].path, row["residence"].registration_due))
    return render(request, "registry/overdue.html", {"rows": rows})


def _grid_workers(building):
    """Accounts that may answer for a building: grid workers and auxiliary officers above it."""
    holders = [*scope.ancestors(building.path), building.path]
    return User.objects.filter(
        is_active=True, assignments__role__in=[Role.GRID_WORKER, Role.AUXILIARY], assignments__path__in=holders
    ).distinct()


@login_required
def building(request, pk: int):
    """A building: facts, houses, the responsible worker (包保) and the QR sheet."""
    user = _reader(request)
    b = queries.get_building(user, pk)
    can_manage = _can(user, Perm.REGISTRY_MANAGE, b)
    form = ResponsibleForm(request.POST or None, workers=_grid_workers(b) if can_manage else ())
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            worker = (
                User.objects.filter(pk=form.cleaned_data["worker"]).first() if form.cleaned_data["worker"] else None
            )
            if attempt(form, actions.set_responsible, user, b, worker) is not None:
                messages.success(request, _("Responsible worker saved."))
                return redirect("registry_building", pk=b.pk)
        status = 422
    houses = sorted(queries.houses(user).filter(building=b), key=lambda h: room_order(h.address))
    form.initial["worker"] = b.responsible_id
    return render(
        request,
        "registry/building.html",
        {"building": b, "houses": houses, "form": form, "can_manage": can_manage, "history": queries.history(user, b)},
        status=status,
    )


@login_required
def organization(request, pk: int):
    """An organization and its history."""
    user = _reader(request)
    o = queries.get_organization(user, pk)
    rep = queries.shown_name(user, o, o.legal_representative) if o.legal_representative else ""
    return render(
        request,
        "registry/organization.html",
        {"org": o, "rep": rep, "history": queries.history(user, o), "can_verify": _can(user, Perm.REGISTRY_VERIFY, o)},
    )


@login_required
def vehicle(request, pk: int):
    """A vehicle, its owner and its history."""
    user = _reader(request)
    v = queries.get_vehicle(user, pk)
    owner = queries.shown_name(user, v.owner) if v.owner_id else None
    return render(
        request,
        "registry/vehicle.html",
        {
            "vehicle": v,
            "owner": owner,
            "history": queries.history(user, v),
            "can_verify": _can(user, Perm.REGISTRY_VERIFY, v),
        },
    )


@login_required
def residence(request, pk: int):
    """A residence is shown on its house's page."""
    r = queries.get_residence(_reader(request), pk)
    return redirect(f"{r.house.get_absolute_url()}#residence-{r.pk}")


@login_required
def organizations(request):
    """Organizations in scope, key units first."""
    user = _reader(request)
    qs = queries.organizations(user).order_by("-key_unit", "name")
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/organizations.html",
        {
            "page": page,
            "kinds": OrganizationKind.choices,
            "kind": kind,
            "can_collect": scope.has_perm(user, Perm.REGISTRY_COLLECT),
        },
    )


@login_required
def organization_new(request):
    """Collect an organization at a standard address in one of the user's grids."""
    user = _reader(request)
    grids = _collect_grids(user)
    if not grids:
        raise PermissionDenied
    form = OrganizationForm(request.POST or None, grids=grids)
    if request.method == "POST" and form.is_valid():
        data = _with_community(form.cleaned_data, grids)
        with transaction.atomic():
            address = attempt(form, lambda: actions.resolve_address(user, data)[0])
            org = address and attempt(form, actions.collect_organization, user, data, address)
            if org is None:
                transaction.set_rollback(True)
        if org is not None:
            messages.success(request, _("Collected: %(name)s.") % {"name": org.name})
            return redirect("registry_organization", pk=org.pk)
    context = {"form": form, "title": _("Collect an organization")}
    return render(request, "registry/form_page.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def person_vehicle(request, pk: int):
    """Collect a vehicle owned by a person (from the person's page)."""
    user = _reader(request)
    p = queries.get_person(user, pk)
    form = VehicleForm(request.POST)
    if form.is_valid() and attempt(form, actions.collect_vehicle, user, form.cleaned_data, owner=p) is not None:
        messages.success(request, _("Vehicle collected."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("registry_person", pk=p.pk)


@login_required
def buildings(request):
    """Buildings in scope (of one grid with `?grid=CODE`), with their houses, residents and responsible worker."""
    user = _reader(request)
    qs = queries.buildings(user)
    grid = geo_queries.get_grid(user, request.GET["grid"]) if request.GET.get("grid") else None
    if grid is not None:
        qs = qs.filter(path__startswith=grid.path)
    qs = qs.select_related("grid").annotate(house_count=Count("houses")).order_by("address__key")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "registry/buildings.html", {"page": page, "grid": grid})
