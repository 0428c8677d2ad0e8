"""Cases at district scale: a year of N cases in the demo district, then intake, scoped inboxes, indicators.

Usage (PostgreSQL; the database must exist and should be empty the first time):

    createdb -h 127.0.0.1 -U postgres bench_cases
    ANJU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_cases \\
        python bench/cases.py --cases 1000000 [--home DIR] [--reports 200] [--inbox 200]

The first run prepares the demo district without residents (divisions, grids, teams, accounts) and
generates the cases through the bulk action, spread over the district by households, timing both; a later
run on the same database finds the cases there and only measures. Then, with a warm cache:

* create and route: `actions.report_case` as the demo grid worker, `--reports` cases at random points of
  the worker's grid (each also looks for possible duplicates and queues the desk's notification);
* scoped inbox: `queries.filtered(user, state="open").order_by("-reported_at")`, its first 50 rows and its
  count, `--inbox` times for a grid worker, a community desk (grid head), a street admin and the district
  admin, each time with a fresh user object as a request has (its roles and units read again);
* indicators: `indicators.indicators` for the whole district over the last 365 days, by street and by
  community, and the series of the indicators page;

then prints EXPLAIN ANALYZE of the street admin's inbox query and count.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry import percentiles  # noqa: E402 (the sibling benchmark script)

INBOX_USERS = ("grid_worker", "grid_head", "street_admin", "district_admin")


def generate(home: Path, count: int) -> None:
    """The demo district and `count` cases, unless the database has cases."""
    from django.db import connection

    from anju.cases.models import Case, CaseEvent, Summons
    from anju.demo import loader
    from anju.geo.models import Division

    t0 = time.perf_counter()
    loader.load_demo(home, residents=0, out=lambda text: None)
    print(f"demo district (divisions, grids, teams, accounts, units): {time.perf_counter() - t0:.1f} s")
    if Case.objects.exists():
        print(f"cases: {Case.objects.count():,} there already, not generated again")
    else:
        t0 = time.perf_counter()
        loader.load_cases(Division.objects.get(code=loader.DISTRICT), count, out=print, around_demo=False)
        seconds = time.perf_counter() - t0
        print(f"cases: generated and stored in {seconds:.1f} s = {count / seconds:,.0f} cases/s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    print(
        f"rows: cases {Case.objects.count():,}, events {CaseEvent.objects.count():,}, "
        f"summonses {Summons.objects.count():,}"
    )


def time_reports(n: int, rng: random.Random) -> list[float]:
    """report_case as the demo grid worker at random points of the worker's grid; the first 10 warm up."""
    import shapely

    from anju.cases import actions, queries
    from anju.core.models import User
    from anju.demo import loader
    from anju.geo.models import Grid

    worker = User.objects.get(username="grid_worker")
    grid = Grid.objects.get(code=loader.GRID)
    shape = shapely.from_geojson(grid.geometry)
    codes = [c.code for c in queries.leaf_categories()]
    times = []
    for i in range(n + 10):
        while True:
            lng, lat = rng.uniform(grid.min_lng, grid.max_lng), rng.uniform(grid.min_lat, grid.max_lat)
            if shape.contains(shapely.Point(lng, lat)):
                break
        data = {"category": rng.choice(codes), "description": "测试：楼道堆放杂物", "lng": lng, "lat": lat}
        t0 = time.perf_counter()
        case, _dups = actions.report_case(worker, data, "field")
        if i >= 10:
            times.append(time.perf_counter() - t0)
        assert case.grid_id == grid.pk and case.unit_id is not None
    return times


def inbox(user):
    from anju.cases import queries

    return queries.filtered(user, state="open").order_by("-reported_at")


def time_inbox(username: str, n: int) -> tuple[list[float], int, int]:
    """(seconds per inbox read, open cases in it, rows shown) for a fresh user object each time."""
    from anju.core.models import User

    pk = User.objects.get(username=username).pk
    times = []
    for i in range(n + 10):
        user = User.objects.get(pk=pk)
        t0 = time.perf_counter()
        qs = inbox(user)
        page = list(qs[:50])
        total = qs.count()
        if i >= 10:
            times.append(time.perf_counter() - t0)
    return times, total, len(page)


def time_indicators(repeat: int) -> dict[str, list[float]]:
    from django.utils import timezone

    from anju.cases import indicators
    from anju.core.models import User
    from anju.demo import loader

    admin = User.objects.get(username="district_admin")
    end = timezone.localdate() + timedelta(days=1)
    start = end - timedelta(days=365)
    times: dict[str, list[float]] = {"by street": [], "by community": [], "series": []}
    for _ in range(repeat + 1):  # the first warms up
        for by, values in (("street", times["by street"]), ("community", times["by community"])):
            t0 = time.perf_counter()
            result = indicators.indicators(admin, loader.DISTRICT, start, end, by=by)
            values.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        indicators.series(indicators.select(admin, loader.DISTRICT, start, end))
        times["series"].append(time.perf_counter() - t0)
    total = result["total"]
    print(
        f"  (year: {total['reported']:,} reported, handled on time {total['handle_on_time_rate']}, "
        f"satisfaction {total['satisfaction_rate']}, composite {total['composite']})"
    )
    return {k: v[1:] for k, v in times.items()}


def explain(username: str) -> None:
    from django.db import connection

    from anju.core.models import User

    qs = inbox(User.objects.get(username=username))
    print(qs[:50].explain(analyze=True, buffers=True))
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM ({sql}) AS inbox", params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--home", help="ANJU_HOME for the demo accounts file (default: a temporary folder)")
    parser.add_argument("--reports", type=int, default=200, help="cases reported through report_case")
    parser.add_argument("--inbox", type=int, default=200, help="inbox reads per user")
    parser.add_argument("--indicators", type=int, default=5, help="repetitions of the indicators")
    args = parser.parse_args()
    if not os.environ.get("ANJU_DATABASE_URL", "").startswith("postgres"):
        parser.error("set ANJU_DATABASE_URL to the PostgreSQL benchmark database")

    from anju.cli import _migrate, _prepare_home

    home = _prepare_home(args.home or tempfile.mkdtemp(prefix="anju-bench-"))
    _migrate()
    generate(Path(home), args.cases)

    rng = random.Random(1)
    print(f"\ncreate and route, grid worker ({args.reports} reports)")
    print(f"  report_case  {percentiles(time_reports(args.reports, rng))}")
    print(f"\nscoped inbox: open cases, newest 50 and the count ({args.inbox} reads each)")
    for username in INBOX_USERS:
        times, total, shown = time_inbox(username, args.inbox)
        print(f"  {username:<15} {percentiles(times)}  ({total:,} open, {shown} shown)")
    print(f"\nindicators, whole district, last 365 days ({args.indicators} runs)")
    for name, times in time_indicators(args.indicators).items():
        print(f"  {name:<13} {percentiles(times)}  (mean {statistics.mean(times) * 1000:.0f} ms)")
    print("\nEXPLAIN ANALYZE of the street admin's inbox (page, then count)")
    explain("street_admin")


if __name__ == "__main__":
    main()
