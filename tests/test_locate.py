"""Point -> grid: the STRtree index against brute force, its cache, and GET /api/v1/locate."""

import json
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import box, mapping

from anju.geo import actions as geo_actions
from anju.geo.locate import GridIndex, grid_index
from anju.geo.models import Grid
from tests.conftest import OTHER_GRID, OWN_GRID, square, token_client


def rows_for(shapes: dict) -> list[tuple[str, str, str]]:
    """(code, path, geojson-text) rows as GridIndex.build reads them from the database."""
    return [(code, f"p/{code}/", json.dumps(mapping(shape))) for code, shape in shapes.items()]


# Four unit-ish squares in a 2 x 2 block, and one triangle apart.
SQUARES = {
    "A": box(0, 0, 1, 1),
    "B": box(1, 0, 2, 1),
    "C": box(0, 1, 1, 2),
    "D": box(1, 1, 2, 2),
    "T": shapely.Polygon([(3, 0), (5, 0), (4, 2)]),
}


@pytest.fixture(scope="module")
def index():
    return GridIndex.build(rows_for(SQUARES))


@pytest.mark.parametrize(
    ("point", "code"),
    [
        ((0.5, 0.5), "A"),
        ((1.5, 0.5), "B"),
        ((0.5, 1.5), "C"),
        ((1.5, 1.5), "D"),
        ((4, 1), "T"),
        ((0.001, 0.999), "A"),
        ((1.999, 1.001), "D"),
    ],
)
def test_points_inside(index, point, code):
    assert index.locate(*point) == code


@pytest.mark.parametrize("point", [(-0.5, 0.5), (2.5, 0.5), (3.2, 1.5), (4.9, 1.9), (100, 100), (0.5, 2.0001)])
def test_points_outside(index, point):
    assert index.locate(*point) is None
    assert index.locate_many([point[0]], [point[1]]).tolist() == [-1]


def test_locate_many_gives_row_indices(index):
    found = index.locate_many(np.array([0.5, 1.5, 0.5, 1.5, 4.0, 9.0]), np.array([0.5, 0.5, 1.5, 1.5, 1.0, 9.0]))
    assert found.dtype == np.int64
    assert [index.codes[i] if i >= 0 else None for i in found] == ["A", "B", "C", "D", "T", None]


def test_empty_inputs():
    empty = GridIndex.build([])
    assert empty.locate(0.5, 0.5) is None
    assert empty.locate_many(np.array([0.5, 1.0]), np.array([0.5, 1.0])).tolist() == [-1, -1]
    idx = GridIndex.build(rows_for(SQUARES))
    assert idx.locate_many(np.array([]), np.array([])).tolist() == []


@pytest.mark.parametrize("point", [(1, 0.5), (0.5, 1), (1, 1), (1, 1.5), (0, 0), (2, 2)])
def test_border_points_get_a_stable_answer(index, point):
    """On a shared border or corner: inside one of the grids touching it, the same every time."""
    first = index.locate(*point)
    touching = {c for c, s in SQUARES.items() if s.intersects(shapely.Point(point))}
    assert first in touching
    assert all(index.locate(*point) == first for _ in range(5))
    assert index.locate_many([point[0]] * 3, [point[1]] * 3).tolist() == [list(index.codes).index(first)] * 3
    rebuilt = GridIndex.build(rows_for(SQUARES))
    assert rebuilt.locate(*point) == first


def test_border_points_go_to_the_lowest_index():
    """The documented rule: a border point belongs to the grid with the lowest index (the lowest code,
    since the database index is built in code order). STRtree returns matches in traversal order, so
    a shuffled layout catches an implementation that trusts that order."""
    cells = [(i, j) for i in range(10) for j in range(10)]
    random.Random(1).shuffle(cells)
    shapes = {f"{k:03d}": box(i, j, i + 1, j + 1) for k, (i, j) in enumerate(cells)}
    idx = GridIndex.build(rows_for(shapes))
    geoms = list(shapes.values())
    xs, ys = np.meshgrid(np.arange(1, 10, 0.5), np.arange(1, 10, 0.5))  # every edge midpoint and corner
    xs, ys = xs.ravel(), ys.ravel()
    found = idx.locate_many(xs, ys)
    expected = [
        min(k for k, g in enumerate(geoms) if g.intersects(shapely.Point(x, y))) for x, y in zip(xs, ys, strict=True)
    ]
    assert found.tolist() == expected


@pytest.fixture(scope="module")
def tessellation():
    """About 150 irregular cells (Voronoi) over part of a box, plus a few holes and a far island."""
    rng = np.random.default_rng(7)
    seeds = shapely.multipoints(rng.uniform(0, 10, size=(160, 2)))
    cells = [c.intersection(box(0, 0, 10, 10)) for c in shapely.voronoi_polygons(seeds).geoms]
    cells = [c for c in cells if c.area > 0 and c.geom_type == "Polygon"]
    shapes = {f"{i:04d}": c for i, c in enumerate(cells) if i % 17}  # leave some cells out: holes
    shapes["9999"] = box(20, 20, 21, 21)
    return shapes


def test_locate_many_agrees_with_brute_force(tessellation):
    idx = GridIndex.build(rows_for(tessellation))
    geoms = list(tessellation.values())
    rng = np.random.default_rng(11)
    n = 100_000
    xs, ys = rng.uniform(-1, 22, n), rng.uniform(-1, 22, n)
    found = idx.locate_many(xs, ys)
    assert found.shape == (n,)
    # Vectorised brute force over every grid: the answer is the grid containing the point (random
    # points land on a border with probability zero), or -1.
    expected = np.full(n, -1)
    hits = np.zeros(n, dtype=int)
    for k, geom in enumerate(geoms):
        inside = shapely.contains_xy(geom, xs, ys)
        expected[inside] = k
        hits += inside
    assert hits.max() == 1
    assert 0 < (found >= 0).sum() < n  # some in, some out
    np.testing.assert_array_equal(found, expected)
    # And a literal one-point-at-a-time loop on a sample.
    for i in rng.choice(n, 2000, replace=False):
        point = shapely.Point(xs[i], ys[i])
        inside = [k for k, g in enumerate(geoms) if g.intersects(point)]
        assert found[i] == (inside[0] if inside else -1)
        assert idx.locate(xs[i], ys[i]) == (idx.codes[inside[0]] if inside else None)


def test_multipolygon_grids(db):
    shapes = {"M": shapely.MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)]), "N": box(2, 2, 3, 3)}
    idx = GridIndex.build(rows_for(shapes))
    assert [idx.locate(*p) for p in [(0.5, 0.5), (5.5, 5.5), (2.5, 2.5), (4, 4)]] == ["M", "M", "N", None]


# --- the cached index of the database ------------------------------------------------------------


def test_index_of_the_database(district):
    idx = grid_index()
    assert sorted(idx.codes) == sorted(Grid.objects.values_list("code", flat=True))
    assert idx.locate(120.305, 36.055) == OWN_GRID
    assert idx.locate(120.315, 36.085) == OTHER_GRID
    assert idx.paths[list(idx.codes).index(OWN_GRID)] == Grid.objects.get(code=OWN_GRID).path
    assert grid_index() is idx  # cached while nothing changes


def test_index_rebuilds_after_an_import(district):
    before = grid_index()
    assert before.locate(120.325, 36.055) is None
    geo_actions.import_grids(
        None,
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": OWN_GRID[:12] + "003", "name": "新网格", "households": 300},
                    "geometry": square(120.32, 36.05),
                }
            ],
        },
    )
    after = grid_index()
    assert after is not before
    assert after.locate(120.325, 36.055) == OWN_GRID[:12] + "003"


def test_index_rebuilds_after_a_grid_moves(district):
    assert grid_index().locate(120.345, 36.055) is None
    grid = Grid.objects.get(code=OWN_GRID[:12] + "002")
    geo_actions.import_grids(
        None,
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": grid.code, "name": grid.name, "households": grid.households},
                    "geometry": square(120.34, 36.05),
                }
            ],
        },
    )
    idx = grid_index()
    assert idx.locate(120.345, 36.055) == grid.code
    assert idx.locate(120.315, 36.055) is None


def test_index_rebuilds_after_a_grid_is_removed(district):
    assert grid_index().locate(120.315, 36.085) == OTHER_GRID
    Grid.objects.filter(code=OTHER_GRID).delete()
    assert grid_index().locate(120.315, 36.085) is None


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def fast_hasher(settings):
    """Sign-ins here are only the way in; Argon2 itself is tested in test_accounts."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def worker_api(district, make_user, fast_hasher):
    return token_client(make_user("grid_worker", OWN_GRID))


def test_locate_api(worker_api):
    client, auth = worker_api
    response = client.get("/api/v1/locate?lat=36.055&lng=120.305", **auth)
    assert response.status_code == 200
    assert response.json() == {
        "grid": OWN_GRID,
        "grid_name": "网格11001",
        "community": OWN_GRID[:12],
        "street": OWN_GRID[:9],
        "district": "370203",
    }


@pytest.mark.parametrize("query", ["lat=36.055&lng=120.405", "lat=0&lng=0", "lat=36.0&lng=120.305", "lat=-91&lng=500"])
def test_locate_api_outside_every_grid(worker_api, query):
    client, auth = worker_api
    response = client.get(f"/api/v1/locate?{query}", **auth)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    "query", ["lat=north&lng=120.305", "lat=36.055&lng=east", "lat=36.055", "lng=120.305", "lat=&lng=120.305"]
)
def test_locate_api_bad_numbers(worker_api, query):
    client, auth = worker_api
    response = client.get(f"/api/v1/locate?{query}", **auth)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] in ("lat", "lng") and body["detail"].startswith(body["field"] + ": ")


def test_locate_api_needs_a_working_role(district, make_user, fast_hasher):
    client, auth = token_client(make_user("auditor", "370203"))
    assert client.get("/api/v1/locate?lat=36.055&lng=120.305", **auth).status_code == 404
    client, auth = token_client(make_user(None))
    assert client.get("/api/v1/locate?lat=36.055&lng=120.305", **auth).status_code == 404
