"""A year of demo cases and the bulk action that stores them.

First the bulk replay against the real actions: the same steps at the same moments, once through
`transition` and the sweeper, once through `bulk.History` and `load_cases`, must leave the same rows. Then
one small demo run through `load_demo` (the test district, 200 residents, 300 cases), checked in helpers
of one test so that it runs once.
"""

import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from anju.cases import actions, queries, routing
from anju.cases.actions import bulk
from anju.cases.models import (
    STAGE_OF,
    Case,
    CaseEvent,
    Channel,
    Rating,
    State,
    Summons,
    SummonsState,
    Supervision,
)
from anju.cases.sweeper import sweep
from anju.core import audit
from anju.core.errors import Conflict
from anju.core.models import AuditEvent, User
from anju.core.roles import Role
from anju.demo import loader
from anju.geo.locate import grid_index
from anju.geo.models import Division, Grid
from tests.cases.conftest import (  # noqa: F401 (fixtures)
    OWN_COMMUNITY,
    OWN_STREET,
    _fresh_calendar,
    at,
    department_staff,
    desks,
    report,
    worker,
)

CASES, RESIDENTS = 300, 200
SKIP = {"id", "number", "public_token", "duplicate_of_id"}  # the copies link to each other
MINUTE = timedelta(minutes=1)
SWEEP_ACTIONS = ("yellow", "red", "summons_red", "no_rating")


# --- The replay matches the actions ------------------------------------------------------------------


def copy_of(case: Case) -> Case:
    """An unsaved case with what intake set before routing: what a migration or the demo hands to History."""
    fields = ("category", "description", "channel", "lng", "lat", "address", "grid", "community", "street")
    fields += ("district", "path", "reporter_name", "reporter_phone", "reporter_email", "reported_at")
    return Case(**{name: getattr(case, name) for name in fields})


def fields(case: Case) -> dict:
    case = Case.objects.get(pk=case.pk)
    return {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields if f.attname not in SKIP}


def timeline(case: Case, numbers: dict) -> list:
    """The events, with case numbers replaced by their role in the test (copies have other numbers)."""

    def plain(text):
        for number, name in numbers.items():
            text = text.replace(number, name)
        return text

    return [
        (e.at, e.actor_id, e.username, e.action, e.from_state, e.to_state, plain(e.note), plain(json.dumps(e.data)))
        for e in CaseEvent.objects.filter(case=case).order_by("at", "id")
    ]


def summonses(case: Case) -> list:
    keep = ("unit_id", "state", "summoned_by_id", "summoned_at", "due_at", "reported_in_at", "reported_in_by_id")
    keep += ("done_at", "note", "red")
    return [tuple(getattr(s, k) for k in keep) for s in Summons.objects.filter(case=case).order_by("id")]


def in_step(h: bulk.History, replay, real) -> None:
    """Take a step in the replay, run the real sweep at the moments the replay says it acted on its own,
    then take the step for real."""
    seen = len(h.events)
    replay()
    for e in h.events[seen:]:
        if e.action in SWEEP_ACTIONS:
            sweep(e.at)
    if real is not None:
        real()


def test_replay_leaves_what_the_actions_leave(desks, worker, department_staff):  # noqa: F811
    desk, street = desks["community"], desks["street"]
    dept = routing.department(Division.objects.get(code="370203"), "urban_management")
    t = at(2026, 11, 23, 10)  # a Monday

    # A: the loop with an extension, a rework and a low rating; C repeats it and is rejected as its duplicate.
    a, _ = report(worker, "0601", now=t)
    c, _ = report(None, "0601", now=t + 5 * MINUTE)
    actions.transition(desk, c, "reject", now=t + 15 * MINUTE, reason="duplicate", duplicate_of=a.number)
    ha = bulk.History(copy_of(a), actor=worker)
    for action, when, who, params in [
        ("accept", t + 10 * MINUTE, desk, {}),
        ("register", t + 20 * MINUTE, desk, {}),
        ("dispatch", t + 30 * MINUTE, desk, {"assignee": worker}),
        ("handle", t + 40 * MINUTE, worker, {}),
        ("extend", t + 50 * MINUTE, worker, {"note": "需协调环卫车辆", "limit": "1d"}),
        ("approve_extension", t + 60 * MINUTE, desk, {"note": "同意", "approve": True}),
        ("report_back", at(2026, 11, 24, 10), worker, {"note": "已清运"}),
        ("rework", at(2026, 11, 24, 11), worker, {"note": "仍有残留"}),
        ("report_back", at(2026, 11, 24, 15), worker, {"note": "已清理干净"}),
        ("check", at(2026, 11, 24, 16), worker, {}),
        ("close", at(2026, 11, 25, 9, 30), desk, {}),
    ]:
        in_step(
            ha,
            lambda: ha.step(action, when, who, **params),  # noqa: B023 (called at once)
            lambda: actions.transition(who, a, action, now=when, **params),  # noqa: B023
        )
    rated = at(2026, 11, 25, 20)
    in_step(ha, lambda: ha.rate(rated, 2, "太慢"), lambda: actions.rate(a, 2, "太慢", now=rated))
    hc = bulk.History(copy_of(c))
    hc.step("reject", t + 15 * MINUTE, desk, reason="duplicate", duplicate_of=ha)

    # B: nobody accepts it in time: yellow, then red and escalated by the sweep. The street takes it up,
    # summons a department that reports in late, suspends and resumes it; nobody rates it.
    b, _ = report(None, "0601", now=t, reporter_name="刘敏", reporter_phone="13912345678")
    hb = bulk.History(copy_of(b))
    summoned = at(2026, 11, 23, 14, 10)
    in_step(hb, lambda: hb.step("accept", at(2026, 11, 23, 14), street), None)
    b.refresh_from_db()
    assert (b.level, b.supervision, b.escalation_count) == ("street", Supervision.NONE, 1)
    actions.transition(street, b, "accept", now=at(2026, 11, 23, 14))
    for action, when, who, params in [
        ("register", at(2026, 11, 23, 14, 5), street, {}),
        ("summon", summoned, street, {}),
        ("dispatch", at(2026, 11, 23, 14, 15), street, {"unit": dept}),
        ("report_in", at(2026, 11, 24, 11), department_staff, {}),
        ("handle", at(2026, 11, 24, 11, 5), department_staff, {}),
        ("summons_done", at(2026, 11, 24, 11, 30), department_staff, {}),
        ("suspend", at(2026, 11, 24, 14), street, {"note": "等待业主回复"}),
        ("resume", at(2026, 11, 26, 9, 30), street, {}),
        ("report_back", at(2026, 11, 26, 10), department_staff, {"note": "已清运"}),
        ("check", at(2026, 11, 26, 11), worker, {}),
        ("close", at(2026, 11, 26, 14), street, {}),
    ]:
        if action == "summon":
            in_step(
                hb,
                lambda: hb.summon(summoned, street, [dept], note="请到场"),
                lambda: actions.summon(street, b, [dept], note="请到场", now=summoned),
            )
        elif action in ("report_in", "summons_done"):
            in_step(
                hb,
                lambda: getattr(hb, action)(when, hb.summonses[0], who, note="已到场"),  # noqa: B023
                lambda: getattr(actions, action)(who, Summons.objects.get(case=b), note="已到场", now=when),  # noqa: B023
            )
        else:
            in_step(
                hb,
                lambda: hb.step(action, when, who, **params),  # noqa: B023
                lambda: actions.transition(who, b, action, now=when, **params),  # noqa: B023
            )
    # The sweep's later passes belong to the copies' histories too (B is left unrated).
    for h in (ha, hb, hc):
        in_step(h, lambda: h.catch_up(at(2026, 12, 31)), None)  # noqa: B023
    assert hb.case.rating == Rating.NONE and hb.summonses[0].red
    swept = {"yellow", "red", "escalate", "summons_red", "suspend", "resume", "no_rating"}
    assert swept <= {e.action for e in hb.events}

    counts = bulk.load_cases(None, [ha, hb, hc], note="test")
    assert counts == {"cases": 3, "events": sum(len(h.events) for h in (ha, hb, hc)), "summonses": 1}
    for real, h in ((a, ha), (b, hb), (c, hc)):
        assert fields(h.case) == fields(real)
        assert timeline(h.case, {ha.case.number: "A"}) == timeline(real, {a.number: "A"})
        assert summonses(h.case) == summonses(real)
    assert Case.objects.get(pk=hc.case.pk).duplicate_of_id == ha.case.pk
    assert [e.action for e in CaseEvent.objects.filter(case=hc.case)] == ["report", "reject", "original_closed"]
    assert AuditEvent.objects.filter(action="cases.bulk_load", detail__contains='"cases": 3').count() == 1


def test_replay_refuses_what_the_actions_refuse(desks, worker):  # noqa: F811
    desk = desks["community"]
    t = at(2026, 11, 23, 10)
    case, _ = report(worker, now=t)
    h = bulk.History(copy_of(case), actor=worker)
    with pytest.raises(Conflict):
        h.step("close", t + MINUTE, desk)
    h.step("accept", t + MINUTE, desk)
    with pytest.raises(ValueError):
        h.step("register", t, desk)  # before the last step
    with pytest.raises(PermissionDenied):
        bulk.load_cases(worker, [h])
    assert bulk.load_cases(desks["district"], [h])["cases"] == 1


# --- The demo run ------------------------------------------------------------------------------------


@pytest.fixture
def demo(district, tmp_path):
    """(home, accounts, (moments before and after the run)) after `load_demo` with a few residents and cases."""
    before = timezone.now()
    accounts = loader.load_demo(tmp_path, residents=RESIDENTS, cases=CASES, out=lambda text: None)
    return tmp_path, accounts, (before, timezone.now())


def test_demo_cases(demo, district):
    check_every_state_and_card(demo)
    check_summonses_and_ratings(demo)
    check_numbers()
    check_places()
    check_timelines()
    check_demo_accounts_have_work()
    check_open311_key(demo)
    check_audit()
    check_rerun_adds_nothing(demo)


def check_every_state_and_card(demo):
    _home, _accounts, (before, after) = demo
    cases = Case.objects.all()
    assert CASES <= cases.count() <= CASES + len(loader.cases_module.SHOWCASE)
    assert set(cases.values_list("state", flat=True)) == set(State.values)
    closed = cases.filter(state=State.CLOSED).count()
    assert closed > cases.count() / 2  # a year back: most are done
    # Cards are what the clock said when the run looked at it: yellow past 80% of the stage's limit, red
    # past the limit.
    yellow, red = cases.filter(supervision=Supervision.YELLOW), cases.filter(supervision=Supervision.RED)
    assert yellow.exists() and red.exists()
    assert all(c.warn_at <= after and c.due_at > before and c.state in STAGE_OF for c in yellow)
    assert all(c.due_at <= after and c.level == "district" for c in red)  # below the district, red escalates
    assert cases.filter(escalation_count__gt=0, level="street").exists()
    assert cases.filter(escalation_count__gt=0, level="district").exists()
    assert cases.filter(state=State.REJECTED, duplicate_of=None).exists()
    assert not cases.exclude(state__in=STAGE_OF).exclude(due_at=None).exists()
    assert cases.filter(extension_count__gt=0).exists() and cases.filter(rework_count__gt=0).exists()
    # The sweep finds nothing left to do at the moment the run started.
    assert sweep(before) == {"yellow": 0, "red": 0, "escalated": 0, "summons_red": 0, "no_rating": 0}


def check_summonses_and_ratings(demo):
    _home, _accounts, (before, _after) = demo
    summonses = Summons.objects.all()
    assert summonses.filter(state=SummonsState.DONE, red=False).exists()
    assert summonses.filter(state=SummonsState.DONE, red=True).exists()  # reported in late
    assert summonses.filter(state=SummonsState.SUMMONED, red=True).exists()  # missed
    assert summonses.filter(state=SummonsState.SUMMONED, red=False, due_at__gt=timezone.now()).exists()
    closed = Case.objects.filter(state=State.CLOSED, closed_at__lt=before - timedelta(days=3))
    rated = closed.filter(rating=Rating.RATED)
    assert set(closed.values_list("rating", flat=True)) == {Rating.RATED, Rating.NONE}
    assert 0.7 < rated.count() / closed.count() < 0.95
    assert rated.filter(score__gte=4).count() > 0.75 * rated.count()
    assert all(c.flagged for c in rated.filter(score__lte=2))
    assert Case.objects.filter(state=State.CLOSED, rating=Rating.PENDING).exists()


def check_numbers():
    numbers = list(Case.objects.values_list("pk", "number", "reported_at"))
    assert len({n for _pk, n, _at in numbers}) == len(numbers)
    for pk, number, reported in numbers:
        assert re.fullmatch(r"\d{14,}", number), number
        assert number == f"{timezone.localtime(reported):%Y%m%d}{pk:06d}"


def check_places():
    grids = {g.pk: g for g in Grid.objects.select_related("community__parent__parent")}
    index = grid_index()
    channels = set()
    for c in Case.objects.all():
        grid = grids[c.grid_id]
        assert index.locate(c.lng, c.lat) == grid.code
        assert (c.path, c.community_id, c.street_id) == (grid.path, grid.community_id, grid.community.parent_id)
        assert c.district_id == grid.community.parent.parent_id
        channels.add(c.channel)
        if c.channel in (Channel.RESIDENT, Channel.HOTLINE):
            assert c.reporter_name and c.reporter_phone
    assert {Channel.FIELD, Channel.RESIDENT, Channel.HOTLINE, Channel.OPEN311} <= channels
    assert Case.objects.filter(channel=Channel.FIELD).count() > 0.3 * Case.objects.count()


def check_timelines():
    """Each case's events chain from "report" to its state; every state change has an event."""
    events: dict = {}
    for e in CaseEvent.objects.order_by("case_id", "at", "id"):
        events.setdefault(e.case_id, []).append(e)
    for case in Case.objects.all():
        chain = events[case.pk]
        assert chain[0].action == "report" and chain[0].from_state == ""
        for earlier, later in zip(chain, chain[1:], strict=False):
            assert later.from_state == earlier.to_state, (case.number, earlier.action, later.action)
        assert chain[-1].to_state == case.state
        assert all(e.username for e in chain)


def check_demo_accounts_have_work():
    user = {u.username: u for u in User.objects.filter(username__in=[r.value for r in Role])}
    mine = queries.filtered(user[Role.GRID_WORKER], state=State.DISPATCHED, mine=True)
    assert mine.filter(assignee=user[Role.GRID_WORKER]).exists()
    desk = queries.filtered(user[Role.GRID_HEAD], state="open").filter(level="community", community__code=OWN_COMMUNITY)
    waiting = set(desk.values_list("state", flat=True))
    assert {State.REPORTED, State.ACCEPTED, State.REGISTERED, State.CHECKED} <= waiting
    staff = user[Role.DEPARTMENT_STAFF]
    assert queries.filtered(staff, state=State.HANDLING, mine=True).exists()
    assert queries.open_summonses_for(staff).filter(state=SummonsState.SUMMONED).exists()
    escalated = queries.filtered(user[Role.STREET_ADMIN], state="open").filter(level="street", escalation_count__gt=0)
    assert escalated.filter(street__code=OWN_STREET).exists()
    assert queries.supervision_board(user[Role.DISTRICT_ADMIN]).filter(supervision=Supervision.RED).exists()


def check_open311_key(demo):
    home, accounts, _moments = demo
    entries = json.loads((home / "demo-accounts.json").read_text())
    (entry,) = [a for a in entries if a["username"] == "open311"]
    assert set(entry) == {"username", "role", "api_key"} and entry["role"] == "open311_client"
    assert entry in accounts
    client = actions.open311_client_for(entry["api_key"])
    assert client is not None and client.name == loader.OPEN311_NAME
    assert Case.objects.filter(channel=Channel.OPEN311, open311_client=client).exists()


def check_audit():
    assert audit.verify().ok
    loads = AuditEvent.objects.filter(action="cases.bulk_load")
    stored = sum(json.loads(e.detail)["cases"] for e in loads)
    assert stored == Case.objects.count()


def check_rerun_adds_nothing(demo):
    home, accounts, _moments = demo
    tables = (Case, CaseEvent, Summons, User)
    counts = [m.objects.count() for m in tables]
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    again = loader.load_demo(home, residents=RESIDENTS, cases=CASES, out=lambda text: None)
    assert [m.objects.count() for m in tables] == counts
    key = next(a["api_key"] for a in accounts if a["username"] == "open311")
    assert next(a["api_key"] for a in again if a["username"] == "open311") == key
    written = set(AuditEvent.objects.filter(id__gt=last).values_list("action", flat=True))
    assert not written & {"cases.bulk_load", "open311.issue", "unit.members", "user.create"}
