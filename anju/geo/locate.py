"""Point to grid: an STRtree over all grid polygons, one point at a time or a whole array at once."""

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from django.db.models import Count, Max
from shapely import STRtree

from anju.geo.models import Grid


@dataclass
class GridIndex:
    """Grid polygons in a spatial index; row i of `codes` is polygon i of the tree."""

    codes: np.ndarray
    paths: np.ndarray
    tree: STRtree

    @classmethod
    def build(cls, rows) -> "GridIndex":
        """Index (code, path, geojson-text) rows."""
        rows = list(rows)
        geoms = shapely.from_geojson([r[2] for r in rows]) if rows else np.array([], dtype=object)
        shapely.prepare(geoms)
        return cls(
            codes=np.array([r[0] for r in rows], dtype=object),
            paths=np.array([r[1] for r in rows], dtype=object),
            tree=STRtree(geoms),
        )

    def locate_many(self, lng, lat) -> np.ndarray:
        """Index into `codes` of the grid holding each point, -1 where none does.

        A point on a shared border belongs to the grid with the lowest index, so answers are stable.
        """
        lng = np.asarray(lng, dtype=float)
        lat = np.asarray(lat, dtype=float)
        n = len(self.codes)
        if n == 0 or lng.shape[0] == 0:
            return np.full(lng.shape[0], -1, dtype=np.int64)
        point_idx, grid_idx = self.tree.query(shapely.points(lng, lat), predicate="intersects")
        # Keep the lowest grid index per point: the tree returns matches in no particular order.
        best = np.full(lng.shape[0], n, dtype=np.int64)
        np.minimum.at(best, point_idx, grid_idx)
        return np.where(best == n, -1, best)

    def locate(self, lng: float, lat: float) -> str | None:
        """Code of the grid holding the point, or None outside every grid (lowest index on a border)."""
        found = self.tree.query(shapely.Point(lng, lat), predicate="intersects")
        return self.codes[found.min()] if len(found) else None


_lock = threading.Lock()
_cached: tuple[tuple, GridIndex] | None = None


def grid_index() -> GridIndex:
    """The index for the grids in the database now, rebuilt when grids change."""
    global _cached
    # One cheap aggregate tells whether any grid was added, removed or changed since the last build.
    stamp = tuple(Grid.objects.aggregate(n=Count("id"), at=Max("updated_at")).values())
    with _lock:
        if _cached is None or _cached[0] != stamp:
            _cached = (stamp, GridIndex.build(Grid.objects.values_list("code", "path", "geometry")))
        return _cached[1]
