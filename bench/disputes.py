"""Disputes at district scale: years of N disputes in the demo district, then intake, scoped lists, the
detail read and the indicators.

Usage (PostgreSQL; the database must exist and should be empty the first time):

    createdb -h 127.0.0.1 -U postgres bench_disputes
    ANJU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_disputes \\
        python bench/disputes.py --disputes 100000 [--years 5] [--live 300] [--home DIR] [--reads 200]

The first run prepares the demo district without residents (divisions, grids, accounts, mediation rooms,
mediators, the expert pool) with `--live` disputes taken through the real actions (`anju demo`'s year of
disputes), then stores the background volume in bulk: `--disputes` disputes over `--years` years back
from now, spread over the grids by households, each with its parties, timeline events and, when
settled, its agreement, terms and follow-up visit, as the actions would leave them. A later run on the
same database finds the disputes there and only measures. Then, with a warm cache:

* intake: `intake.record_dispute` as the demo grid worker at random points of the worker's grid;
* scoped list: `queries.disputes(user).order_by("-received_at")`, its first 50 rows and its count, for a
  grid worker, the community's mediator, a street admin and the district admin, each time with a fresh
  user object as a request has;
* detail read: `queries.get_dispute`, `queries.parties`, the timeline and the agreement in force with its
  terms, for the district admin on random disputes;
* indicators: `indicators.figures` for the whole district over the last 365 days, by street;
* documents: the agreement PDF and the dossier PDF of closed, agreed disputes taken through the actions
  (WeasyPrint, Noto CJK subset embedded), the first render of each warming up the fonts.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry import percentiles  # noqa: E402 (the sibling benchmark script)

LIST_USERS = ("grid_worker", "mediator", "street_admin", "district_admin")
BATCH = 5000


def generate(home: Path, count: int, years: int, live: int) -> None:
    """The demo district with `live` disputes through the actions, then `count` in bulk, unless there are many."""
    from django.db import connection

    from anju.demo import loader
    from anju.disputes.models import Dispute, DisputeEvent, Party

    t0 = time.perf_counter()
    loader.load_demo(home, residents=0, out=print, disputes=live)
    print(f"demo district and {live} disputes through the actions: {time.perf_counter() - t0:.1f} s")
    if Dispute.objects.count() > live:
        print(f"disputes: {Dispute.objects.count():,} there already, not generated again")
    else:
        t0 = time.perf_counter()
        bulk_disputes(count, years)
        seconds = time.perf_counter() - t0
        print(f"disputes: {count:,} stored in bulk in {seconds:.1f} s = {count / seconds:,.0f} disputes/s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    print(
        f"rows: disputes {Dispute.objects.count():,}, parties {Party.objects.count():,}, "
        f"events {DisputeEvent.objects.count():,}"
    )


def bulk_disputes(count: int, years: int) -> None:
    """`count` disputes over `years` years, in batches, with what the actions would have written."""
    from django.db import transaction
    from django.utils import timezone

    from anju.demo import disputes as demo
    from anju.demo.names import mobile, person_name
    from anju.disputes.actions.procedure import PERIOD, WARN_SHARE
    from anju.disputes.models import (
        Agreement,
        Dispute,
        DisputeEvent,
        FollowUp,
        Level,
        MediationRoom,
        Outcome,
        Party,
        RoomKind,
        State,
        Term,
        TermState,
    )
    from anju.geo.models import Grid

    rng = random.Random(7)
    now = timezone.now()
    grids = list(Grid.objects.select_related("community__parent__parent"))
    weights = [max(g.households, 1) for g in grids]
    rooms = {r.division_id: r for r in MediationRoom.objects.filter(kind=RoomKind.COMMUNITY).select_related()}
    leads = {r.pk: r.mediators.exclude(user=None).first() for r in rooms.values()}
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        disputes, parties, events, agreements, follow_ups = [], [], [], [], []
        for i in range(start, start + size):
            grid = rng.choices(grids, weights)[0]
            room = rooms.get(grid.community_id)
            plan = demo.random_plan(rng, now - timedelta(days=rng.uniform(0, 365 * years)))
            received = plan.received
            accepted = received + timedelta(hours=rng.uniform(1, 24))
            concluded = accepted + timedelta(days=rng.uniform(2, 20)) + plan.stall
            state = State.CLOSED if concluded + timedelta(days=32) < now else State.MEDIATING
            outcome = plan.outcome if state == State.CLOSED else ""
            if outcome in (Outcome.DECLINED, Outcome.REFERRED):
                state = State(outcome)
            if outcome == Outcome.DECLINED:  # declined at intake: never accepted, no period
                accepted = concluded = received + timedelta(hours=rng.uniform(1, 24))
            d = Dispute(
                number=f"JF{timezone.localtime(received):%Y%m%d}{i:08d}",
                source=plan.source,
                kind=plan.kind,
                summary=rng.choice(demo.SUMMARIES[plan.kind]),
                facts="双方因琐事发生纠纷，协商未果。",
                grade=plan.grade,
                flags=plan.flags,
                lng=(grid.min_lng + grid.max_lng) / 2,
                lat=(grid.min_lat + grid.max_lat) / 2,
                grid=grid,
                community=grid.community,
                street=grid.community.parent,
                district=grid.community.parent.parent,
                path=grid.path,
                level=Level.ROOM,
                first_level=Level.ROOM,
                room=room,
                lead=leads.get(room.pk) if room else None,
                state=state,
                outcome=outcome,
                received_at=received,
                accepted_at=None if outcome == Outcome.DECLINED else accepted,
                warn_at=None if outcome == Outcome.DECLINED else accepted + PERIOD * WARN_SHARE,
                due_at=None if outcome == Outcome.DECLINED else accepted + PERIOD,
                concluded_at=concluded if outcome else None,
                concluded_late=(concluded > accepted + PERIOD) if outcome else None,
                settled_level=Level.ROOM if outcome == Outcome.AGREEMENT else "",
                closed_at=concluded + timedelta(days=31) if state == State.CLOSED else None,
            )
            disputes.append(d)
            for order, role in enumerate(("applicant", "respondent")):
                parties.append(Party(dispute=d, role=role, name=person_name(rng), phone=mobile(rng), order=order))
            steps = [("receive", "", State.RECEIVED, received)]
            if outcome == Outcome.DECLINED:
                steps += [("decline", State.RECEIVED, state, concluded)]
            else:
                steps += [("accept", State.RECEIVED, State.ACCEPTED, accepted)]
            if state not in (State.MEDIATING, State.DECLINED):
                steps += [("session", State.ACCEPTED, State.MEDIATING, concluded - timedelta(hours=2))]
                steps += [(outcome or "close", State.MEDIATING, state, concluded)]
            events += [
                DisputeEvent(dispute=d, at=at, username="system", action=a, from_state=f, to_state=t)
                for a, f, t, at in steps
            ]
            if outcome == Outcome.AGREEMENT:
                agreements.append(
                    Agreement(
                        dispute=d,
                        version=1,
                        made_at=concluded,
                        facts=d.facts,
                        responsibilities="双方各自承担相应责任。",
                        method="当面履行",
                        deadline=timezone.localdate(concluded) + timedelta(days=14),
                    )
                )
                follow_ups.append(
                    FollowUp(
                        dispute=d,
                        due_on=timezone.localdate(concluded) + timedelta(days=30),
                        method="phone",
                        done_at=concluded + timedelta(days=30),
                        performed=True,
                        satisfied=True,
                        flare_up=False,
                    )
                )
        with transaction.atomic():
            Dispute.objects.bulk_create(disputes, batch_size=1000)
            for rows in (parties, events, agreements, follow_ups):
                for row in rows:
                    row.dispute_id = row.dispute.pk
            Party.objects.bulk_create(parties, batch_size=2000)
            DisputeEvent.objects.bulk_create(events, batch_size=2000)
            Agreement.objects.bulk_create(agreements, batch_size=2000)
            FollowUp.objects.bulk_create(follow_ups, batch_size=2000)
            Term.objects.bulk_create(
                [
                    Term(
                        agreement=a,
                        order=1,
                        obligor="被申请人",
                        text="按约定履行",
                        due_on=a.deadline,
                        state=TermState.DONE,
                        settled_at=a.made_at + timedelta(days=5),
                    )
                    for a in agreements
                ],
                batch_size=2000,
            )


def time_intake(n: int, rng: random.Random) -> list[float]:
    """record_dispute as the demo grid worker at random points of the worker's grid; the first 10 warm up."""
    import shapely

    from anju.core.models import User
    from anju.demo import loader
    from anju.demo.names import mobile, person_name
    from anju.disputes.actions import intake
    from anju.geo.models import Grid

    worker = User.objects.get(username="grid_worker")
    grid = Grid.objects.get(code=loader.GRID)
    shape = shapely.from_geojson(grid.geometry)
    times = []
    for i in range(n + 10):
        while True:
            lng, lat = rng.uniform(grid.min_lng, grid.max_lng), rng.uniform(grid.min_lat, grid.max_lat)
            if shape.contains(shapely.Point(lng, lat)):
                break
        data = {
            "source": "grid",
            "kind": "neighbour",
            "summary": "楼道堆物引发邻里争执",
            "facts": "测试：邻里因楼道堆放杂物发生口角。",
            "lng": lng,
            "lat": lat,
            "parties": [
                {"role": "applicant", "name": person_name(rng), "phone": mobile(rng)},
                {"role": "respondent", "name": person_name(rng), "phone": mobile(rng)},
            ],
        }
        t0 = time.perf_counter()
        dispute = intake.record_dispute(worker, data)
        if i >= 10:
            times.append(time.perf_counter() - t0)
        assert dispute.grid_id == grid.pk and dispute.room_id is not None
    return times


def time_list(username: str, n: int) -> tuple[list[float], int, int]:
    """(seconds per list read, disputes in it, rows shown) for a fresh user object each time."""
    from anju.core.models import User
    from anju.disputes import queries

    pk = User.objects.get(username=username).pk
    times = []
    for i in range(n + 10):
        user = User.objects.get(pk=pk)
        t0 = time.perf_counter()
        qs = queries.disputes(user).order_by("-received_at")
        page = list(qs[:50])
        total = qs.count()
        if i >= 10:
            times.append(time.perf_counter() - t0)
    return times, total, len(page)


def time_detail(n: int, rng: random.Random) -> list[float]:
    """The detail page's reads for the district admin on random disputes."""
    from anju.core.models import User
    from anju.disputes import queries
    from anju.disputes.actions import records
    from anju.disputes.models import Dispute

    pk = User.objects.get(username="district_admin").pk
    top = Dispute.objects.order_by("-pk").values_list("pk", flat=True).first()
    numbers = []
    while len(numbers) < n + 10:
        found = Dispute.objects.filter(pk__gte=rng.randint(1, top)).order_by("pk").values_list("number", flat=True)
        numbers += list(found[:1])
    times = []
    for i, number in enumerate(numbers):
        user = User.objects.get(pk=pk)
        t0 = time.perf_counter()
        dispute = queries.get_dispute(user, number)
        queries.parties(user, dispute)
        list(dispute.events.all())
        agreement = records.current_agreement(dispute)
        if agreement is not None:
            list(agreement.terms.all())
        if i >= 10:
            times.append(time.perf_counter() - t0)
    return times


def time_indicators(repeat: int) -> list[float]:
    from django.utils import timezone

    from anju.core.models import User
    from anju.demo import loader
    from anju.disputes import indicators

    admin = User.objects.get(username="district_admin")
    end = timezone.localdate() + timedelta(days=1)
    start = end - timedelta(days=365)
    times = []
    for _ in range(repeat + 1):  # the first warms up
        t0 = time.perf_counter()
        result = indicators.figures(admin, loader.DISTRICT, start, end, by="street")
        times.append(time.perf_counter() - t0)
    print(f"  (year: {len(result['rows'])} rows; total {result['total']})")
    return times[1:]


def time_documents(n: int) -> tuple[list[float], list[float], list[int], list[int]]:
    from anju.disputes import documents
    from anju.disputes.actions import records
    from anju.disputes.models import Dispute, Outcome, State

    agreed = Dispute.objects.filter(state=State.CLOSED, outcome=Outcome.AGREEMENT).exclude(sessions=None).distinct()
    chosen = list(agreed.order_by("pk")[: n + 1])
    agreement_times, dossier_times, agreement_sizes, dossier_sizes = [], [], [], []
    for d in chosen:
        t0 = time.perf_counter()
        paper = documents.agreement_pdf(records.current_agreement(d))
        agreement_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dossier = documents.dossier_pdf(d)
        dossier_times.append(time.perf_counter() - t0)
        agreement_sizes.append(len(paper))
        dossier_sizes.append(len(dossier))
    # The first of each warms up (fonts, templates).
    return agreement_times[1:], dossier_times[1:], agreement_sizes[1:], dossier_sizes[1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--disputes", type=int, default=100_000, help="background disputes stored in bulk")
    parser.add_argument("--years", type=int, default=5, help="years the background disputes spread over")
    parser.add_argument("--live", type=int, default=300, help="disputes taken through the actions first")
    parser.add_argument("--home", help="ANJU_HOME for the demo accounts file (default: a temporary folder)")
    parser.add_argument("--intake", type=int, default=200, help="disputes recorded through record_dispute")
    parser.add_argument("--reads", type=int, default=200, help="list and detail reads per user")
    parser.add_argument("--indicators", type=int, default=5, help="repetitions of the indicators")
    parser.add_argument("--documents", type=int, default=20, help="disputes whose agreement and dossier are printed")
    args = parser.parse_args()
    if not os.environ.get("ANJU_DATABASE_URL", "").startswith("postgres"):
        parser.error("set ANJU_DATABASE_URL to the PostgreSQL benchmark database")

    from anju.cli import _migrate, _prepare_home

    home = _prepare_home(args.home or tempfile.mkdtemp(prefix="anju-bench-"))
    _migrate()
    generate(Path(home), args.disputes, args.years, args.live)

    rng = random.Random(1)
    print(f"\nintake, grid worker ({args.intake} disputes)")
    print(f"  record_dispute  {percentiles(time_intake(args.intake, rng))}")
    print(f"\nscoped list: newest 50 and the count ({args.reads} reads each)")
    for username in LIST_USERS:
        times, total, shown = time_list(username, args.reads)
        print(f"  {username:<15} {percentiles(times)}  ({total:,} disputes, {shown} shown)")
    print(f"\ndetail read, district admin ({args.reads} disputes)")
    print(f"  detail          {percentiles(time_detail(args.reads, rng))}")
    print(f"\nindicators, whole district, last 365 days by street ({args.indicators} runs)")
    print(f"  figures         {percentiles(time_indicators(args.indicators))}")
    agreements, dossiers, paper_sizes, dossier_sizes = time_documents(args.documents)
    print(f"\ndocuments, closed agreed disputes ({len(dossiers)} each)")
    for name, times, sizes in (("agreement PDF", agreements, paper_sizes), ("dossier PDF", dossiers, dossier_sizes)):
        print(f"  {name:<15} {percentiles(times)}  (mean {sum(sizes) / len(sizes) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
