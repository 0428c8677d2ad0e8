"""吹哨报到 (summonses and their report-in deadlines) and the reporter's rating of a closed case."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from anju.cases import actions, routing
from anju.cases.models import Rating, State, Summons, SummonsState
from anju.cases.sweeper import sweep
from anju.core import audit
from anju.core.errors import Conflict, InvalidField
from anju.core.roles import Role
from anju.geo.imports import division_path
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel
from tests.cases.conftest import DISTRICT, LOOP, OWN_COMMUNITY, advance, at, inbox, report
from tests.conftest import OTHER_GRID

MONDAY = at(2026, 11, 23, 10)


@pytest.fixture
def market(district, make_user):
    """The district's market supervision, with one member."""
    unit = routing.department(district, "market")
    staff = make_user(Role.DEPARTMENT_STAFF, DISTRICT)
    actions.set_members(None, unit, [(staff, False)])
    return {"unit": unit, "staff": staff}


@pytest.fixture
def summoned(desks, worker, market):
    """A case being handled at the community (due on Tuesday), market supervision summoned at Monday 10:00
    to report in within 2h."""
    case, _ = report(worker, now=MONDAY)
    advance(case, State.DISPATCHED, MONDAY)
    [summons] = actions.summon(desks["community"], case, [market["unit"].code], note="占道经营", now=MONDAY)
    return summons


# --- Summonses -------------------------------------------------------------------------------------


def test_summon_a_department(desks, worker, market, django_capture_on_commit_callbacks):
    case, _ = report(worker, now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        [summons] = actions.summon(desks["community"], case, [market["unit"].code], note="占道经营", now=MONDAY)
    assert (summons.unit, summons.state, summons.summoned_by, summons.red) == (
        market["unit"],
        SummonsState.SUMMONED,
        desks["community"],
        False,
    )
    assert summons.summoned_at == MONDAY and summons.due_at == at(2026, 11, 23, 12)
    event = case.events.last()
    assert (event.action, event.note) == ("summon", "占道经营")
    assert event.data == {"units": ["market-370203"], "due_at": summons.due_at.isoformat()}
    assert (
        len(
            inbox(
                market["staff"],
                "Summoned to case %(number)s: report in by %(due)s",
                number=case.number,
                due="2026-11-23 12:00",
            )
        )
        == 1
    )
    assert audit.verify().ok


def test_summon_several_within_a_given_time(desks, worker, market):
    case, _ = report(worker, now=MONDAY)
    water = routing.department(Division.objects.get(code=DISTRICT), "water")
    made = actions.summon(desks["community"], case, [market["unit"], water.code, water.code], within="1d", now=MONDAY)
    assert [s.unit for s in made] == [market["unit"], water]
    assert {s.due_at for s in made} == {at(2026, 11, 24, 10)}


@pytest.mark.parametrize(
    "units, within, field",
    [
        ([], "2h", "units"),
        (["no-such-unit"], "2h", "units"),
        (["community-370203005011"], "2h", "units"),  # a centre, not a department
        (["market-370212"], "2h", "units"),  # another district's department
        (["market-370203"], "soon", "within"),
        (["market-370203"], "0h", "within"),
    ],
)
def test_summon_refuses_what_it_cannot_do(desks, worker, market, units, within, field):
    case, _ = report(worker, now=MONDAY)
    routing.centre(Division.objects.get(code=OWN_COMMUNITY))
    Division.objects.create(
        code="370212", name="崂山区", parent_id="3702", level=DivisionLevel.COUNTY, path=division_path("370212")
    )
    routing.department(Division.objects.get(code="370212"), "market")
    with pytest.raises(InvalidField) as refused:
        actions.summon(desks["community"], case, units, within=within, now=MONDAY)
    assert refused.value.field == field
    assert not Summons.objects.exists() and case.events.count() == 1


def test_a_department_is_summoned_once_at_a_time(summoned, desks, market):
    case = summoned.case
    with pytest.raises(Conflict):
        actions.summon(desks["community"], case, [market["unit"].code], now=MONDAY)
    actions.report_in(market["staff"], summoned, now=MONDAY)
    actions.summons_done(market["staff"], summoned, note="已取缔", now=MONDAY)
    [again] = actions.summon(desks["community"], case, [market["unit"].code], now=MONDAY)
    assert again.state == SummonsState.SUMMONED


@pytest.mark.parametrize("state", [State.CLOSED, State.REJECTED])
def test_a_finished_case_summons_nobody(desks, worker, market, state):
    case, _ = report(worker, now=MONDAY)
    advance(case, state, MONDAY)
    with pytest.raises(Conflict):
        actions.summon(desks["community"], case, [market["unit"].code], now=MONDAY)


def test_only_the_desk_summons(desks, worker, market, make_user):
    case, _ = report(worker, now=MONDAY)
    with pytest.raises(PermissionDenied):
        actions.summon(worker, case, [market["unit"].code], now=MONDAY)
    with pytest.raises(Http404):
        actions.summon(make_user(Role.GRID_HEAD, OTHER_GRID[:12]), case, [market["unit"].code], now=MONDAY)
    assert not Summons.objects.exists()


def test_report_in_on_time_then_done(summoned, desks, market, django_capture_on_commit_callbacks):
    staff = market["staff"]
    with pytest.raises(Conflict):
        actions.summons_done(staff, summoned, note="先做了", now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        actions.report_in(staff, summoned, note="马上到", now=at(2026, 11, 23, 11))
    assert (summoned.state, summoned.reported_in_at, summoned.reported_in_by, summoned.red) == (
        SummonsState.REPORTED_IN,
        at(2026, 11, 23, 11),
        staff,
        False,
    )
    assert summoned.case.events.last().data == {"unit": "market-370203", "late": False}
    assert (
        len(
            inbox(
                desks["community"],
                "%(unit)s reported in on case %(number)s",
                unit=market["unit"],
                number=summoned.case.number,
            )
        )
        == 1
    )
    with pytest.raises(Conflict):
        actions.report_in(staff, summoned, now=MONDAY)
    with pytest.raises(InvalidField) as refused:
        actions.summons_done(staff, summoned, note=" ", now=MONDAY)
    assert refused.value.field == "note"
    actions.summons_done(staff, summoned, note="已取缔占道摊位", now=at(2026, 11, 23, 15))
    assert (summoned.state, summoned.done_at, summoned.note) == (
        SummonsState.DONE,
        at(2026, 11, 23, 15),
        "已取缔占道摊位",
    )
    assert sweep(at(2026, 11, 30, 10))["summons_red"] == 0


def test_who_reports_in(summoned, desks, worker, make_user):
    with pytest.raises(PermissionDenied):
        actions.report_in(worker, summoned, now=MONDAY)  # in scope, but neither the department nor the desk
    with pytest.raises(Http404):
        actions.report_in(make_user(Role.GRID_WORKER, OTHER_GRID), summoned, now=MONDAY)
    actions.report_in(desks["community"], summoned, now=MONDAY)  # the desk records a report-in by phone
    assert summoned.state == SummonsState.REPORTED_IN


def test_a_summons_belongs_to_its_case(summoned, worker):
    other, _ = report(worker, now=MONDAY)
    assert actions.get_summons(summoned.case, summoned.pk) == summoned
    with pytest.raises(Http404):
        actions.get_summons(other, summoned.pk)


def test_a_missed_report_in_is_red_carded_once(summoned, desks, market, django_capture_on_commit_callbacks):
    number = summoned.case.number
    assert sweep(at(2026, 11, 23, 11, 59))["summons_red"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(at(2026, 11, 23, 12))["summons_red"] == 1
    summoned.refresh_from_db()
    assert summoned.red and summoned.state == SummonsState.SUMMONED
    event = summoned.case.events.get(action="summons_red")
    assert event.data == {"unit": "market-370203"} and event.username == "system"
    subject = "Red card: %(unit)s has not reported in on case %(number)s"
    assert len(inbox(market["staff"], subject, unit=market["unit"], number=number)) == 1
    assert len(inbox(desks["community"], subject, unit=market["unit"], number=number)) == 1
    assert sweep(at(2026, 11, 23, 12))["summons_red"] == 0
    assert sweep(at(2026, 11, 23, 17))["summons_red"] == 0
    assert summoned.case.events.filter(action="summons_red").count() == 1
    # Reporting in late keeps the card.
    actions.report_in(market["staff"], summoned, now=at(2026, 11, 23, 12, 30))
    assert summoned.red and summoned.state == SummonsState.REPORTED_IN
    assert summoned.case.events.last().data == {"unit": "market-370203", "late": True}


def test_a_late_report_in_is_red_even_before_the_sweep(summoned, market):
    actions.report_in(market["staff"], summoned, now=at(2026, 11, 23, 12, 1))
    assert summoned.red


def test_a_case_closed_before_the_department_came_needs_no_card(summoned):
    case = summoned.case
    for action, params in LOOP[3:]:  # from handling to closing
        actions.transition(None, case, action, now=MONDAY, **params)
    assert case.state == State.CLOSED
    assert sweep(at(2026, 11, 23, 12))["summons_red"] == 0
    summoned.refresh_from_db()
    assert not summoned.red


def test_a_report_in_at_the_deadline_is_on_time(summoned, market):
    actions.report_in(market["staff"], summoned, now=at(2026, 11, 23, 12))
    assert not summoned.red
    assert sweep(at(2026, 11, 24, 12))["summons_red"] == 0


# --- Ratings ---------------------------------------------------------------------------------------


@pytest.fixture
def closed(desks, worker):
    case, _ = report(worker, now=MONDAY)
    return advance(case, State.CLOSED, MONDAY)


def test_the_reporter_rates(closed, worker):
    actions.rate(closed, 4, " 处理及时 ", actor=worker, now=MONDAY + timedelta(days=2))
    assert (closed.rating, closed.score, closed.rating_comment, closed.rated_at, closed.flagged) == (
        Rating.RATED,
        4,
        "处理及时",
        MONDAY + timedelta(days=2),
        False,
    )
    event = closed.events.last()
    assert (event.action, event.data, event.note, event.actor) == ("rate", {"score": 4}, "处理及时", worker)
    with pytest.raises(Conflict):
        actions.rate(closed, 5, actor=worker, now=MONDAY)


def test_the_public_link_rates_as_the_reporter(desks):
    case, _ = report(None, now=MONDAY)
    advance(case, State.CLOSED, MONDAY)
    actions.rate(case, 5, now=MONDAY)
    assert case.score == 5 and case.events.last().username == "public"


def test_who_else_may_rate(closed, desks, make_user):
    with pytest.raises(PermissionDenied):
        actions.rate(closed, 5, actor=make_user(Role.OFFICER, OWN_COMMUNITY), now=MONDAY)
    with pytest.raises(Http404):
        actions.rate(closed, 5, actor=make_user(Role.GRID_WORKER, OTHER_GRID), now=MONDAY)
    actions.rate(closed, 5, "电话回访", actor=desks["community"], now=MONDAY)  # a rating taken by phone
    assert closed.rating == Rating.RATED


@pytest.mark.parametrize(
    "score, comment, field",
    [(0, "", "score"), (6, "", "score"), ("好", "", "score"), (None, "", "score"), (3, "长" * 501, "comment")],
)
def test_a_rating_is_a_score_from_1_to_5(closed, worker, score, comment, field):
    with pytest.raises(InvalidField) as refused:
        actions.rate(closed, score, comment, actor=worker, now=MONDAY)
    assert refused.value.field == field
    closed.refresh_from_db()
    assert closed.rating == Rating.PENDING


def test_an_open_case_is_not_rated(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, State.CHECKED, MONDAY)
    with pytest.raises(Conflict):
        actions.rate(case, 5, actor=worker, now=MONDAY)


def test_ratings_expire_after_three_days(closed, worker):
    assert actions.expire_ratings(MONDAY + timedelta(days=3, seconds=-1)) == 0
    assert sweep(MONDAY + timedelta(days=3))["no_rating"] == 1
    closed.refresh_from_db()
    assert closed.rating == Rating.NONE and closed.score is None
    assert closed.events.last().action == "no_rating"
    assert actions.expire_ratings(MONDAY + timedelta(days=4)) == 0
    with pytest.raises(Conflict):
        actions.rate(closed, 5, actor=worker, now=MONDAY + timedelta(days=3, hours=1))
    assert audit.verify().ok


def test_a_rating_after_three_days_is_refused_even_before_the_sweep(closed, worker):
    with pytest.raises(Conflict):
        actions.rate(closed, 5, actor=worker, now=MONDAY + timedelta(days=3, seconds=1))
    actions.rate(closed, 5, actor=worker, now=MONDAY + timedelta(days=3))
    assert closed.rating == Rating.RATED


@pytest.mark.parametrize("score, flagged", [(1, True), (2, True), (3, False), (5, False)])
def test_a_low_rating_flags_the_case_and_tells_the_desk(
    closed, desks, worker, score, flagged, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.rate(closed, score, "太慢了", actor=worker, now=MONDAY)
    assert closed.flagged is flagged
    told = inbox(
        desks["community"],
        "Case %(number)s got a low rating (%(score)d): please review",
        number=closed.number,
        score=score,
    )
    assert len(told) == (1 if flagged else 0)
    if flagged:
        assert told[0].body == "太慢了" and told[0].link == closed.get_absolute_url()
