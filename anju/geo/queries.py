"""Every read of divisions and grids, cut to the reader's scope."""

from django.db.models import Count, Q, Sum
from django.http import Http404

from anju.core.scope import Node, ancestors, scope_paths
from anju.geo.models import Division, Grid, Level, TeamMember


def node_for_code(code: str) -> Node | None:
    """The division or grid with this code, as a node roles can be held on."""
    if not code:
        return None
    if len(code) == 15:
        grid = Grid.objects.filter(code=code).only("code", "name", "path").first()
        return grid and Node(grid.code, grid.name, grid.path, "grid")
    division = Division.objects.filter(code=code).only("code", "name", "path", "level").first()
    return division and Node(division.code, division.name, division.path, division.level)


def visible_divisions(user):
    """Divisions in the user's scope, and the ones above it (to navigate down from the top)."""
    paths = scope_paths(user)
    if not paths:
        return Division.objects.none()
    q = Q(path__in={a for p in paths for a in ancestors(p)})
    for p in paths:
        q |= Q(path__startswith=p)
    return Division.objects.filter(q)


def get_division(user, code: str) -> Division:
    """One visible division, or 404."""
    division = visible_divisions(user).select_related("parent").filter(code=code).first()
    if division is None:
        raise Http404
    return division


def children_of(user, division: Division) -> list:
    """Visible child divisions, each with the number of grids and households in scope under it;
    or, for a community, its grids in scope."""
    grids = grids_in_scope(user).filter(path__startswith=division.path)
    if division.level == Level.COMMUNITY:
        return list(grids.filter(community=division))
    children = list(visible_divisions(user).filter(parent=division))
    # One pass over the grids' paths instead of a count query per child.
    by_child = {c.path: c for c in children}
    for c in children:
        c.grid_count = c.households = 0
    cut = len(division.path)
    for path, households in grids.values_list("path", "households"):
        child = by_child.get(path[: path.index("/", cut) + 1])
        if child is not None:
            child.grid_count += 1
            child.households += households
    return children


def grids_in_scope(user):
    """Grids the user may see."""
    return Grid.objects.restrict(user).select_related("community")


def get_grid(user, code: str) -> Grid:
    """One grid in scope, or 404."""
    grid = grids_in_scope(user).select_related("community__parent").filter(code=code).first()
    if grid is None:
        raise Http404
    return grid


def grid_team(user, grid: Grid):
    """The team of a grid, in post order."""
    order = {p: i for i, p in enumerate(["head", "advisor", "officer", "manager", "informant", "volunteer"])}
    members = list(TeamMember.objects.restrict(user).filter(grid=grid))
    return sorted(members, key=lambda m: (order[m.post], m.id))


def division_stats(user, division: Division | None = None) -> dict:
    """Counts for the home page and a division's page, inside scope (and under `division`)."""
    grids = grids_in_scope(user)
    divisions = Division.objects.restrict(user)
    team = TeamMember.objects.restrict(user)
    if division is not None:
        grids = grids.filter(path__startswith=division.path)
        divisions = divisions.filter(path__startswith=division.path)
        team = team.filter(path__startswith=division.path)
    by_level = dict(divisions.values_list("level").annotate(n=Count("code")).values_list("level", "n"))
    totals = grids.aggregate(n=Count("id"), households=Sum("households"))
    return {
        "streets": by_level.get(Level.STREET, 0),
        "communities": by_level.get(Level.COMMUNITY, 0),
        "grids": totals["n"] or 0,
        "households": totals["households"] or 0,
        "team": team.count(),
    }


def top_divisions(user):
    """The highest divisions the user's scope reaches, for the tree's roots."""
    paths = scope_paths(user)
    return Division.objects.filter(path__in=paths).order_by("code")
