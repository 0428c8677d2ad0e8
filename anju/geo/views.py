"""Pages of the district: home counts, the division tree, the map and a grid's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from anju.core import scope
from anju.core.errors import ActionError
from anju.core.masking import mask_phone
from anju.core.roles import Perm
from anju.geo import actions, queries
from anju.geo.forms import GridImportForm, TeamForm
from anju.geo.imports import ImportFailed
from anju.geo.models import Division, Grid, Level


def _viewer(request):
    if not scope.has_perm(request.user, Perm.GEO_VIEW):
        raise Http404
    return request.user


def _district(user) -> Division | None:
    """The county-level division the user's scope lies in, for the map outline."""
    return queries.visible_divisions(user).filter(level=Level.COUNTY).exclude(geometry="").first()


@login_required
def home(request):
    """Counts for the user's scope; the three administrators get their own tools instead."""
    user = request.user
    context = {"roots": [], "stats": None}
    if scope.has_perm(user, Perm.GEO_VIEW):
        context["stats"] = queries.division_stats(user)
        context["roots"] = queries.top_divisions(user)
        context["root_grids"] = Grid.objects.filter(path__in=scope.scope_paths(user))
    return render(request, "geo/home.html", context)


@login_required
def tree(request):
    """The division tree from the top of the user's scope, opened level by level."""
    user = _viewer(request)
    roots = queries.top_divisions(user)
    grids = Grid.objects.filter(path__in=scope.scope_paths(user)).select_related("community")
    return render(request, "geo/tree.html", {"roots": roots, "root_grids": grids})


@login_required
def children(request, code: str):
    """The next level of the tree under one division (loaded into the page as it is opened)."""
    user = _viewer(request)
    division = queries.get_division(user, code)
    return render(
        request, "geo/_children.html", {"division": division, "children": queries.children_of(user, division)}
    )


@login_required
def division(request, code: str):
    """A division's page: its place, its counts, its children and its grids on a map."""
    user = _viewer(request)
    d = queries.get_division(user, code)
    trail = list(queries.visible_divisions(user).filter(path__in=scope.ancestors(d.path)).order_by("path"))
    return render(
        request,
        "geo/division.html",
        {
            "division": d,
            "trail": trail,
            "stats": queries.division_stats(user, d),
            "children": queries.children_of(user, d),
            "district": _district(user),
        },
    )


@login_required
def district_map(request):
    """All grids in scope over the real district outline."""
    user = _viewer(request)
    return render(request, "geo/map.html", {"district": _district(user)})


@login_required
def grid(request, code: str):
    """A grid's page: code, community, polygon, households and its "4+N+N" team."""
    user = _viewer(request)
    g = queries.get_grid(user, code)
    team = queries.grid_team(user, g)
    for member in team:
        member.phone_masked = mask_phone(member.phone)
    trail = list(queries.visible_divisions(user).filter(path__in=scope.ancestors(g.path)).order_by("path"))
    can_edit = scope.has_perm(user, Perm.GEO_MANAGE, g.path)
    return render(request, "geo/grid.html", {"grid": g, "team": team, "trail": trail, "can_edit": can_edit})


@login_required
def team_edit(request, code: str):
    """Edit a grid's "4+N+N" team (district or street admin over the grid)."""
    user = _viewer(request)
    g = queries.get_grid(user, code)
    if not scope.has_perm(user, Perm.GEO_MANAGE, g.path):
        raise PermissionDenied
    form = TeamForm(request.POST or None, initial=TeamForm.initial_for(queries.grid_team(user, g)))
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_team(user, g, form.cleaned_members)
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The team was saved."))
            return redirect("grid", code=g.code)
    return render(request, "geo/team_edit.html", {"grid": g, "form": form})


@login_required
def grid_import(request):
    """Upload grids as GeoJSON; all or nothing, with every fault listed."""
    user = _viewer(request)
    if not scope.has_perm(user, Perm.GEO_MANAGE):
        raise PermissionDenied
    form = GridImportForm(request.POST or None, request.FILES or None)
    faults, result = [], None
    if request.method == "POST" and form.is_valid():
        try:
            result = actions.import_grids(user, form.cleaned_data["file"])
        except ImportFailed as exc:
            faults = exc.errors
    return render(request, "geo/grid_import.html", {"form": form, "faults": faults, "result": result})
