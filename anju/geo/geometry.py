"""GeoJSON in and out, validity, and areas in square metres for WGS-84 shapes."""

import json
import math

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

# Metres per degree of latitude; longitude is scaled by cos(latitude). Good to well under 1% at
# district scale, which is all the areas here are used for (overlap shares, household density).
M_PER_DEG = 111_320.0


def parse_polygon(geometry: dict) -> BaseGeometry:
    """A Polygon or MultiPolygon from a GeoJSON geometry dict; ValueError with the reason if not."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError(_("geometry must be a GeoJSON Polygon or MultiPolygon"))
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise ValueError(_("geometry cannot be read: %(e)s") % {"e": exc}) from exc
    if geom.is_empty:
        raise ValueError(_("geometry is empty"))
    if not geom.is_valid:
        raise ValueError(_("polygon is invalid: %(r)s") % {"r": shapely.is_valid_reason(geom)})
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValueError(_("coordinates are not WGS-84 longitude/latitude"))
    return geom


def to_geojson(geom: BaseGeometry) -> str:
    """Compact GeoJSON text for storage."""
    return json.dumps(mapping(geom), separators=(",", ":"))


def area_m2(geom: BaseGeometry) -> float:
    """Approximate area in square metres of a lon/lat shape."""
    lat = geom.centroid.y
    return geom.area * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat))
