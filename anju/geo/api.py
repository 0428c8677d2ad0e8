"""API of divisions, grids and point location."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import reverse
from ninja import Body, Query, Router, Schema

from anju.core import scope
from anju.core.roles import Perm
from anju.geo import actions, queries
from anju.geo.locate import grid_index
from anju.geo.models import Grid

router = Router(tags=["divisions and grids"])


def _viewer(request):
    if not scope.has_perm(request.user, Perm.GEO_VIEW):
        raise Http404
    return request.user


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None
    path: str


def _division_out(d) -> dict:
    return {"code": d.code, "name": d.name, "level": d.level, "parent": d.parent_id, "path": d.path}


@router.get("/divisions/{code}", response=DivisionOut)
def division(request, code: str, format: str | None = None):
    """One division in or above the caller's scope; `?format=geojson` gives its outline."""
    d = queries.get_division(_viewer(request), code)
    if format == "geojson":
        if not d.geometry:
            raise Http404
        return JsonResponse(
            {
                "type": "Feature",
                "properties": {**_division_out(d), "generated": d.geometry_generated},
                "geometry": d.geojson,
            }
        )
    return _division_out(d)


@router.get("/divisions/{code}/children", response=list[DivisionOut])
def division_children(request, code: str):
    """Divisions directly under one, inside the caller's scope."""
    user = _viewer(request)
    d = queries.get_division(user, code)
    return [_division_out(c) for c in queries.visible_divisions(user).filter(parent=d)]


class GridOut(Schema):
    code: str
    name: str
    community: str
    community_name: str
    kind: str
    households: int
    area_m2: float
    generated: bool


def _grid_out(g: Grid) -> dict:
    return {
        "code": g.code,
        "name": g.name,
        "community": g.community_id,
        "community_name": g.community.name,
        "kind": g.kind,
        "households": g.households,
        "area_m2": round(g.area_m2, 1),
        "generated": g.generated,
    }


class GridFilter(Schema):
    community: str | None = None
    under: str | None = None
    format: str | None = None


@router.get("/grids", response=list[GridOut])
def grids(request, filters: Query[GridFilter]):
    """Grids in scope, by community or under any division; `?format=geojson` gives a FeatureCollection
    for drawing (the map uses it); `/grids/export` is the audited export for re-import."""
    user = _viewer(request)
    rows = queries.grids_in_scope(user)
    if filters.community:
        rows = rows.filter(community_id=filters.community)
    if filters.under:
        rows = rows.filter(path__startswith=queries.get_division(user, filters.under).path)
    if filters.format == "geojson":
        feats = []
        for g in rows:
            f = actions.grid_feature(g, url=reverse("grid", args=[g.code]))
            f["properties"].update(community_name=g.community.name, community_code=g.community_id)
            feats.append(f)
        return JsonResponse({"type": "FeatureCollection", "features": feats})
    return [_grid_out(g) for g in rows]


@router.get("/grids/export")
def grids_export(request, under: str | None = None):
    """Grids in scope as importable GeoJSON; audited as an export."""
    user = _viewer(request)
    if under:
        queries.get_division(user, under) if len(under) < 15 else queries.get_grid(user, under)
    return JsonResponse(actions.export_grids(user, under))


class ImportOut(Schema):
    created: int
    updated: int


@router.post("/grids/import", response=ImportOut)
def grids_import(request, body: Body[dict]):
    """Create or replace grids from a GeoJSON FeatureCollection, all or nothing (400 lists faults)."""
    if not scope.has_perm(request.user, Perm.GEO_MANAGE):
        raise PermissionDenied
    return actions.import_grids(request.user, body)


@router.get("/grids/{code}", response=GridOut)
def grid(request, code: str, format: str | None = None):
    """One grid in scope; `?format=geojson` gives it as a Feature with its polygon."""
    g = queries.get_grid(_viewer(request), code)
    if format == "geojson":
        f = actions.grid_feature(g)
        f["properties"]["community_name"] = g.community.name
        return JsonResponse(f)
    return _grid_out(g)


class LocateOut(Schema):
    grid: str
    grid_name: str
    community: str
    street: str
    district: str


@router.get("/locate", response=LocateOut)
def locate(request, lat: float, lng: float):
    """The grid, community, street and district holding a WGS-84 point; 404 outside every grid."""
    _viewer(request)
    code = grid_index().locate(lng, lat)
    if code is None:
        raise Http404
    g = Grid.objects.select_related("community__parent__parent").get(code=code)
    return {
        "grid": g.code,
        "grid_name": g.name,
        "community": g.community_id,
        "street": g.community.parent_id,
        "district": g.community.parent.parent_id,
    }
