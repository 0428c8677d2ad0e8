"""Locate 1,000,000 random points against the demo district's grids.

Usage: ANJU_HOME=DIR python bench/locate.py [--points N] [--repeat R]
(DIR prepared with `anju demo --no-serve --home DIR`). Prints points per second for the
vectorised batch form and, on a sample, for one point at a time.
"""

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--single", type=int, default=20_000, help="points for the one-at-a-time figure")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    import django

    django.setup()
    from anju.geo.locate import grid_index
    from anju.geo.models import Division

    t0 = time.perf_counter()
    index = grid_index()
    build = time.perf_counter() - t0
    district = Division.objects.get(code="370203")
    import shapely

    minx, miny, maxx, maxy = shapely.from_geojson(district.geometry).bounds
    rng = np.random.default_rng(1)
    lng = rng.uniform(minx, maxx, args.points)
    lat = rng.uniform(miny, maxy, args.points)

    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        found = index.locate_many(lng, lat)
        best = min(best, time.perf_counter() - t0)
    inside = int((found >= 0).sum())

    t0 = time.perf_counter()
    for x, y in zip(lng[: args.single], lat[: args.single], strict=True):
        index.locate(x, y)
    single = time.perf_counter() - t0

    print(f"grids indexed: {len(index.codes)} (index built in {build:.2f} s)")
    print(f"points: {args.points:,} in the district's bounding box, {inside:,} inside a grid")
    print(f"vectorised: {best:.3f} s best of {args.repeat} = {args.points / best:,.0f} points/s")
    print(f"one at a time: {args.single:,} points in {single:.3f} s = {args.single / single:,.0f} points/s")


if __name__ == "__main__":
    main()
