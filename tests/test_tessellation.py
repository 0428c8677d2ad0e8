"""Tests for anju.demo.tessellation: the generated street / community / grid shapes."""

import functools
import itertools
import math
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from anju.demo.tessellation import grids_for, partition, split_households

# Exterior ring of Qingdao Shibei district (gb 156370203), WGS-84 lon/lat, copied from
# /work/shared/data/boundaries/district.geojson so the tests do not read shared data at run time.
SHIBEI_RING = [
    (120.414888, 36.134038),
    (120.405872, 36.127767),
    (120.429868, 36.096436),
    (120.414459, 36.090742),
    (120.368841, 36.086818),
    (120.365174, 36.074523),
    (120.354435, 36.068193),
    (120.310217, 36.073872),
    (120.309769, 36.094326),
    (120.328953, 36.133343),
    (120.355535, 36.156585),
    (120.371169, 36.151106),
    (120.391998, 36.153513),
    (120.401243, 36.136927),
    (120.414888, 36.134038),
]
SHIBEI = Polygon(SHIBEI_RING)
# Uneven street weights (3..10), deliberately not sorted.
STREET_WEIGHTS = [3, 7, 10, 4, 5, 9, 6, 8, 3, 10, 4, 6, 7, 5, 9, 8, 3, 6, 10, 4, 7, 5]


@functools.cache
def streets(seed=0):
    """The 22-street split, computed once per seed for the whole module."""
    return tuple(partition(SHIBEI, STREET_WEIGHTS, seed=seed))


def assert_partition(parent, cells, weights, share_tol=0.10):
    """The partition contract: exact cover, no overlap, valid compact polygons, areas on target."""
    assert len(cells) == len(weights)
    area = parent.area
    for cell in cells:
        assert cell.geom_type == "Polygon"
        assert cell.is_valid and not cell.is_empty
    union = shapely.union_all(cells)
    assert abs(union.area - area) / area < 1e-9
    assert union.symmetric_difference(parent).area / area < 1e-9
    overlap = sum(a.intersection(b).area for a, b in itertools.combinations(cells, 2))
    assert overlap < 1e-6 * area
    # Neighbours share bit-identical edges (no gaps, no slivers, no T-junctions inside).
    assert shapely.coverage_is_valid(np.array(cells, dtype=object))
    total = float(sum(weights))
    for cell, weight in zip(cells, weights, strict=True):
        target = weight / total
        assert abs(cell.area / area - target) <= share_tol * target
        # Polsby-Popper compactness: a square is 0.785, slivers are close to 0.
        assert 4 * math.pi * cell.area / cell.length**2 > 0.3


def test_partition_district_into_22_streets():
    assert_partition(SHIBEI, streets(), STREET_WEIGHTS)


def test_partition_keeps_coordinates_in_lon_lat():
    minx, miny, maxx, maxy = SHIBEI.bounds
    for cell in streets():
        cx, cy, cx2, cy2 = cell.bounds
        assert minx - 1e-9 <= cx and cx2 <= maxx + 1e-9
        assert miny - 1e-9 <= cy and cy2 <= maxy + 1e-9
    # The parent's own corners survive untouched as corners of the cells.
    corners = {xy for cell in streets() for xy in cell.exterior.coords}
    assert set(SHIBEI_RING) <= corners


def test_partition_is_deterministic_per_seed():
    again = partition(SHIBEI, STREET_WEIGHTS, seed=0)
    assert [c.wkb for c in again] == [c.wkb for c in streets()]
    other = streets(seed=1)
    assert [c.wkb for c in other] != [c.wkb for c in streets()]
    assert_partition(SHIBEI, other, STREET_WEIGHTS)


def test_partition_second_level():
    street = streets()[2]
    weights = [2600, 3100, 2900, 2400, 3300, 2700, 3000]
    communities = partition(street, weights, seed=5)
    assert_partition(street, communities, weights)


def test_partition_accepts_single_part_multipolygon():
    # The shared boundary file stores districts as one-part MultiPolygons.
    cells = partition(MultiPolygon([SHIBEI]), [1, 2, 3], seed=3)
    assert_partition(SHIBEI, cells, [1, 2, 3])


def test_partition_multipolygon_parent():
    parent = MultiPolygon([box(0, 0, 2, 1), box(3, 0, 4, 1)])
    cells = partition(parent, [1, 1, 1], seed=0)
    assert len(cells) == 3
    assert all(c.is_valid and not c.is_empty for c in cells)
    assert abs(shapely.union_all(cells).area - parent.area) < 1e-9 * parent.area
    assert sum(a.intersection(b).area for a, b in itertools.combinations(cells, 2)) < 1e-9
    # Two cells share the 2x1 part, the 1x1 part gets one cell of its own.
    assert sorted(round(c.area, 1) for c in cells) == [1.0, 1.0, 1.0]
    assert all(c.geom_type == "Polygon" for c in cells)


def test_partition_single_cell_and_bad_input():
    assert partition(SHIBEI, [5]) == [SHIBEI]
    with pytest.raises(ValueError):
        partition(SHIBEI, [])
    with pytest.raises(ValueError):
        partition(SHIBEI, [1, 0, 2])
    with pytest.raises(ValueError):
        partition(Polygon(), [1, 2])


def test_split_households_sums_and_stays_near_mean():
    rng = np.random.default_rng(42)
    for total, parts in [(3000, 7), (2613, 6), (401, 1), (86_000, 22), (500, 3), (137, 5)]:
        counts = split_households(total, parts, rng)
        assert len(counts) == parts
        assert sum(counts) == total
        assert all(isinstance(c, int) and c > 0 for c in counts)
        mean = total / parts
        assert all(abs(c - mean) <= 0.25 * mean for c in counts)


def test_split_households_deterministic_and_varied():
    a = split_households(5000, 9, np.random.default_rng(7))
    b = split_households(5000, 9, np.random.default_rng(7))
    assert a == b
    assert len(set(a)) > 1
    assert split_households(5000, 9, random.Random(7)) == split_households(5000, 9, random.Random(7))


def test_split_households_small_and_invalid():
    assert split_households(3, 3, np.random.default_rng(0)) == [1, 1, 1]
    assert sum(split_households(5, 4, np.random.default_rng(0))) == 5
    with pytest.raises(ValueError):
        split_households(2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError):
        split_households(10, 0, np.random.default_rng(0))


def test_grids_for_keeps_grids_between_300_and_500_households():
    for households in itertools.chain(range(300, 501), range(600, 6001)):
        count = grids_for(households)
        assert 300 <= households / count <= 500, households
    # 501..599 cannot be split into 300..500 at all (2 grids would be < 300): one grid.
    assert all(grids_for(h) == 1 for h in range(501, 600))
    assert grids_for(0) == 1
    assert grids_for(120) == 1
    assert grids_for(2000) == 5
    assert grids_for(2000, target=250) == 8
