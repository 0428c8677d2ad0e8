"""Every write to divisions, grids and grid teams (and the audited grid export)."""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.errors import ActionError
from anju.core.roles import Perm
from anju.geo.geometry import area_m2, parse_polygon, to_geojson
from anju.geo.imports import ImportFailed, division_path, overlap_errors, read_divisions, read_grid_features
from anju.geo.models import LEVEL_BY_LENGTH, SINGLE_POSTS, Division, Grid, Level, Post, TeamMember


@transaction.atomic
def import_divisions(folder: Path, under: str | None = None) -> int:
    """Load or refresh divisions from files in the national statistics layout (operator only).

    Re-running with the same files changes nothing; a fault anywhere writes nothing.
    """
    rows = read_divisions(folder, under)
    known = set(Division.objects.values_list("code", flat=True))
    codes = {r.code for r in rows}
    orphans = [r.code for r in rows if r.parent and r.parent not in codes and r.parent not in known]
    if orphans:
        raise ImportFailed(
            [_("division %(c)s: its parent is in neither the files nor the database") % {"c": c} for c in orphans[:50]]
        )
    objs = [
        Division(
            code=r.code,
            name=r.name,
            level=LEVEL_BY_LENGTH[len(r.code)],
            parent_id=r.parent,
            path=division_path(r.code),
        )
        for r in rows
    ]
    Division.objects.bulk_create(
        objs,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "level", "parent", "path"],
    )
    audit.record(
        "divisions.import",
        username="cli",
        object_type="geo.division",
        object_id=under or "",
        detail={"rows": len(objs), "folder": str(folder)},
    )
    return len(objs)


@transaction.atomic
def set_division_geometry(code: str, geometry: dict, generated: bool = False) -> Division:
    """Store a division's outline (operator only)."""
    division = Division.objects.get(code=code)
    division.geometry = to_geojson(parse_polygon(geometry))
    division.geometry_generated = generated
    division.save(update_fields=["geometry", "geometry_generated"])
    audit.record("division.set_geometry", username="cli", obj=division, detail={"generated": generated})
    return division


@transaction.atomic
def import_grids(actor, data) -> dict:
    """Create or replace grids from a GeoJSON FeatureCollection, all or nothing.

    Refused whole, with every fault listed, when a polygon is invalid, a code does not start with its
    community's code, the community is unknown or outside the actor's scope, or a grid overlaps a
    sibling by more than 1% of its area.
    """
    if actor is not None and not scope.has_perm(actor, Perm.GEO_MANAGE):
        raise PermissionDenied
    specs, errors = read_grid_features(data)
    communities = {
        d.code: d for d in Division.objects.filter(code__in={s.community for s in specs}, level=Level.COMMUNITY)
    }
    for spec in specs:
        community = communities.get(spec.community)
        allowed = community is not None and (actor is None or scope.has_perm(actor, Perm.GEO_MANAGE, community.path))
        if not allowed:
            errors.append(_("grid %(g)s: no community %(c)s in your scope") % {"g": spec.code, "c": spec.community})
    if not errors:
        stored = {
            code: parse_polygon(json.loads(text))
            for code, text in Grid.objects.filter(community__in=list(communities)).values_list("code", "geometry")
        }
        errors += overlap_errors(specs, stored)
    if errors:
        raise ImportFailed(errors)
    existing = {g.code: g for g in Grid.objects.filter(code__in=[s.code for s in specs])}
    created, updated = [], []
    for spec in specs:
        grid = existing.get(spec.code) or Grid(code=spec.code)
        community = communities[spec.community]
        minx, miny, maxx, maxy = spec.geom.bounds
        grid.name, grid.kind, grid.households = spec.name, spec.kind, spec.households
        grid.community, grid.path = community, community.path + spec.code + "/"
        grid.geometry, grid.area_m2 = to_geojson(spec.geom), area_m2(spec.geom)
        grid.min_lng, grid.min_lat, grid.max_lng, grid.max_lat = minx, miny, maxx, maxy
        grid.generated = spec.generated
        (updated if grid.pk else created).append(spec.code)
        grid.save()
    audit.record(
        "grids.import",
        user=actor,
        username="cli",
        object_type="geo.grid",
        detail={"created": created, "updated": updated},
    )
    return {"created": len(created), "updated": len(updated)}


def export_grids(actor, under: str | None = None) -> dict:
    """The grids in the actor's scope (all, for the operator) as a FeatureCollection; audited."""
    grids = Grid.objects.select_related("community") if actor is None else Grid.objects.restrict(actor)
    if under:
        grids = grids.filter(code=under) if len(under) == 15 else grids.filter(path__startswith=division_path(under))
    features = [grid_feature(g) for g in grids.order_by("code")]
    audit.record(
        "grids.export",
        user=actor,
        username="cli",
        object_type="geo.grid",
        object_id=under or "",
        detail={"count": len(features)},
    )
    return {"type": "FeatureCollection", "features": features}


def grid_feature(grid: Grid, url: str = "") -> dict:
    """One grid as a GeoJSON Feature, with the properties the importer reads back."""
    props = {
        "code": grid.code,
        "name": grid.name,
        "community": grid.community_id,
        "kind": grid.kind,
        "households": grid.households,
        "generated": grid.generated,
    }
    if url:
        props["url"] = url
    return {"type": "Feature", "properties": props, "geometry": grid.geojson}


@transaction.atomic
def set_team(actor, grid: Grid, members: list[dict]) -> list[TeamMember]:
    """Replace a grid's "4+N+N" team; each member is {post, name, phone?, user?}.

    At most one holder per single post (head, advisor, officer, manager).
    """
    if actor is not None and not scope.has_perm(actor, Perm.GEO_MANAGE, grid.path):
        raise PermissionDenied
    singles = [m["post"] for m in members if m["post"] in SINGLE_POSTS]
    if len(singles) != len(set(singles)):
        raise ActionError(_("Each of grid head, advisor, officer and manager is held by one person."))
    if any(m["post"] not in Post.values or not m.get("name") for m in members):
        raise ActionError(_("Every member needs a known post and a name."))
    TeamMember.objects.filter(grid=grid).delete()
    team = TeamMember.objects.bulk_create(
        TeamMember(
            grid=grid,
            post=m["post"],
            name=m["name"],
            phone=m.get("phone", ""),
            user=m.get("user"),
            path=grid.path,
        )
        for m in members
    )
    audit.record(
        "team.set",
        user=actor,
        username="cli",
        obj=grid,
        detail={"members": [[m["post"], m["name"]] for m in members]},
    )
    return team
