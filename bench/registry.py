"""The registry at district scale: load the demo with N residents, then time searches and person pages.

Usage (PostgreSQL; the database must exist and should be empty the first time):

    createdb -h 127.0.0.1 -U postgres bench_registry
    ANJU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_registry \\
        python bench/registry.py --residents 1000000 [--home DIR] [--queries 200]

The first run prepares the demo (divisions, grids, accounts) and generates the residents, timing both;
a later run on the same database finds the people there and only measures. Then, as a grid worker, a
community officer and a street admin (the demo accounts), it times `queries.search_people` for names,
ID numbers, phones, plates and address texts drawn from that user's scope (`--queries` of each kind),
and `GET /api/v1/people/{id}` (Django test client, API token) and the page `/registry/people/{id}/`.
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path


def percentiles(samples: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms  (n={len(ms)})"


def address_text(address) -> str:
    """An address as a clerk would type it, without the community: 延安路12号 海信花园 3号楼2单元502室."""
    a = address
    return "".join(
        [
            a.road,
            f"{a.door_number}号" if a.door_number else "",
            a.estate,
            f"{a.building}号楼" if a.building else "",
            f"{a.unit}单元" if a.unit else "",
            f"{a.room}室" if a.room else "",
        ]
    )


def samples(user, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Search texts of each kind that find someone in the user's scope."""
    from anju.registry import queries

    people = list(
        queries.people(user).exclude(id_number=None).order_by("?").values_list("name", "id_number", "phone")[: n * 2]
    )
    cars = list(queries.vehicles(user).exclude(kind="ebike").order_by("?").values_list("plate", flat=True)[:n])
    houses = list(queries.houses(user).exclude(use="business").order_by("?")[:n])
    names = [name if i % 2 else name[:2] for i, (name, _id, _phone) in enumerate(people[:n])]
    return {
        "name": names,
        "id_number": [number for _name, number, _phone in people[:n]],
        "phone": [phone for _name, _number, phone in people if phone][:n],
        "plate": cars,
        "address": [address_text(h.address) for h in houses],
    }


def time_searches(user, texts: dict[str, list[str]]) -> dict[str, list[float]]:
    from anju.registry import queries

    for text in texts["name"][:20]:  # warm the caches, as a server in use would be
        queries.search_people(user, text)
    times = {}
    for kind, batch in texts.items():
        times[kind] = []
        for text in batch:
            t0 = time.perf_counter()
            what, _found = queries.search_people(user, text)
            times[kind].append(time.perf_counter() - t0)
            assert what == kind, (text, what, kind)
    return times


def time_direct(user, n: int) -> dict[str, list[float]]:
    """What the person page does, without the HTTP layer: read, audit the view, mask the fields."""
    from anju.registry import actions, queries

    ids = list(queries.people(user).order_by("?").values_list("id", flat=True)[:n])
    times = {"direct": []}
    for pk in ids:
        t0 = time.perf_counter()
        person = queries.get_person(user, pk)
        unmasked = actions.open_person(user, person)
        queries.person_fields(user, person, unmasked=unmasked)
        list(person.residences.select_related("house__address"))
        list(person.vehicles.all())
        times["direct"].append(time.perf_counter() - t0)
    return times


def time_pages(user, n: int) -> dict[str, list[float]]:
    """GET the API detail and the HTML page of n people in scope (each GET also writes its audit row)."""
    from django.test import Client

    from anju.core.actions import issue_token
    from anju.registry import queries

    _token, secret = issue_token(user, "bench")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    page = Client()
    page.force_login(user)
    ids = list(queries.people(user).order_by("?").values_list("id", flat=True)[:n])
    times = {"api": [], "page": []}
    for pk in ids[:10]:
        api.get(f"/api/v1/people/{pk}")
    for pk in ids:
        t0 = time.perf_counter()
        response = api.get(f"/api/v1/people/{pk}")
        times["api"].append(time.perf_counter() - t0)
        assert response.status_code == 200, response.content[:300]
        t0 = time.perf_counter()
        response = page.get(f"/registry/people/{pk}/")
        times["page"].append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--home", help="ANJU_HOME for the demo accounts file (default: a temporary folder)")
    parser.add_argument("--queries", type=int, default=200, help="search texts of each kind, per user")
    parser.add_argument("--pages", type=int, default=200, help="person pages per user")
    args = parser.parse_args()
    if not os.environ.get("ANJU_DATABASE_URL", "").startswith("postgres"):
        parser.error("set ANJU_DATABASE_URL to the PostgreSQL benchmark database")

    from anju.cli import _migrate, _prepare_home

    home = _prepare_home(args.home or tempfile.mkdtemp(prefix="anju-bench-"))
    _migrate()
    from django.db import connection

    from anju.core.models import User
    from anju.core.roles import Role
    from anju.demo import loader
    from anju.geo.models import Division
    from anju.registry.models import Building, House, Organization, Person, Residence, Revision, Vehicle

    t0 = time.perf_counter()
    loader.load_demo(Path(home), residents=0)
    print(f"demo district (divisions, grids, teams, accounts): {time.perf_counter() - t0:.1f} s")
    district = Division.objects.get(code=loader.DISTRICT)
    if Person.objects.exists():
        print(f"residents: {Person.objects.count():,} there already, not generated again")
    else:
        t0 = time.perf_counter()
        loader.load_residents(district, args.residents)
        print(f"residents: generated and stored in {time.perf_counter() - t0:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    counts = {
        m.__name__: m.objects.count() for m in (Building, House, Person, Residence, Organization, Vehicle, Revision)
    }
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    rng = random.Random(1)
    for role in (Role.GRID_WORKER, Role.OFFICER, Role.STREET_ADMIN):
        user = User.objects.get(username=role.value)
        in_scope = Person.objects.restrict(user).count()
        texts = samples(user, args.queries, rng)
        times = time_searches(user, texts)
        print(f"\n{role.value} ({in_scope:,} people in scope)")
        for kind, values in times.items():
            print(f"  search {kind:<10} {percentiles(values)}")
        print(f"  search {'all':<10} {percentiles([v for values in times.values() for v in values])}")
        try:
            import anju.urls  # noqa: F401
        except ImportError as exc:  # the URL configuration is being changed by others
            print(f"  (pages not reachable: {exc}; timing the person page's reads and audit row directly)")
            pages = time_direct(user, args.pages)
        else:
            pages = time_pages(user, args.pages)
        for kind, values in pages.items():
            print(f"  person {kind:<10} {percentiles(values)}")


if __name__ == "__main__":
    main()
