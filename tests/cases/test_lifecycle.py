"""The life cycle: which step is possible in which state, who may take it, and what each step does."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from anju.cases import actions, queries, routing
from anju.cases.actions import lifecycle
from anju.cases.models import Case, CaseEvent, State, Supervision, Unit
from anju.cases.sweeper import sweep
from anju.core import audit
from anju.core.errors import Conflict, InvalidField
from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.core.workcalendar import add_working
from anju.geo.imports import division_path
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel
from tests.cases.conftest import DISTRICT, OWN_COMMUNITY, advance, at, inbox, report
from tests.conftest import OTHER_GRID, OWN_GRID

MONDAY = at(2026, 11, 23, 10)
OTHER_POINT = {"lng": 120.315, "lat": 36.085}  # in OTHER_GRID, the other street

S = State
# Written out here, not read from the code: the table the code must follow.
LEGAL = {
    "accept": {S.REPORTED},
    "register": {S.ACCEPTED},
    "reject": {S.REPORTED, S.ACCEPTED},
    "dispatch": {S.REGISTERED},
    "handle": {S.DISPATCHED},
    "report_back": {S.HANDLING},
    "check": {S.REPORTED_BACK},
    "rework": {S.REPORTED_BACK},
    "close": {S.CHECKED},
    "suspend": {S.REGISTERED, S.DISPATCHED, S.HANDLING},
    "resume": {S.SUSPENDED},
    "extend": {S.DISPATCHED, S.HANDLING},
    "approve_extension": {S.DISPATCHED, S.HANDLING},
    "reroute": {S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.HANDLING},
    "reopen": {S.CLOSED},
    "escalate": {S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.REPORTED_BACK, S.CHECKED},
}
# What each step needs to be taken at all.
PARAMS = {
    "reject": {"note": "不属于受理范围"},
    "report_back": {"note": "已清运"},
    "check": {"note": "已核查"},
    "rework": {"note": "仍有垃圾"},
    "suspend": {"note": "等待业主回复"},
    "extend": {"limit": "1d", "note": "需协调清运车辆"},
    "reroute": {"unit": "market-370203", "note": "转市场监管"},
    "reopen": {"note": "群众反映复发"},
    "escalate": {"note": "社区无力处置"},
}
SIMPLE_TARGET = {
    "accept": S.ACCEPTED,
    "register": S.REGISTERED,
    "reject": S.REJECTED,
    "dispatch": S.DISPATCHED,
    "handle": S.HANDLING,
    "report_back": S.REPORTED_BACK,
    "check": S.CHECKED,
    "rework": S.HANDLING,
    "close": S.CLOSED,
    "suspend": S.SUSPENDED,
    "resume": S.REGISTERED,  # the usual way suspends a registered case
    "reopen": S.DISPATCHED,
}


def target(action: str, state: str) -> str:
    """The state a legal step leads to."""
    if action in SIMPLE_TARGET:
        return SIMPLE_TARGET[action]
    if action == "reroute" and state == S.HANDLING:
        return S.DISPATCHED
    if action == "escalate" and state in (S.DISPATCHED, S.HANDLING):
        return S.REGISTERED
    return state


def row(case: Case) -> dict:
    return Case.objects.filter(pk=case.pk).values().get()


def counts() -> tuple[int, int]:
    return CaseEvent.objects.count(), AuditEvent.objects.count()


def test_the_from_table_is_the_one_written_here():
    assert {action: set(states) for action, states in lifecycle.FROM.items()} == LEGAL
    assert set(lifecycle.STEPS) == set(LEGAL) == set(lifecycle.ACTION_LABELS)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(LEGAL))
def test_every_step_from_every_state(desks, worker, action, state):
    routing.department(Division.objects.get(code=DISTRICT), "market")
    case, _ = report(worker, now=MONDAY)
    case = advance(case, state, MONDAY)
    assert case.state == state
    if action == "approve_extension" and state in LEGAL[action]:
        actions.transition(None, case, "extend", now=MONDAY, limit="1d", note="需协调")
    before, (events, rows) = row(case), counts()
    later = MONDAY + timedelta(hours=1)

    if state not in LEGAL[action]:
        with pytest.raises(Conflict):
            actions.transition(None, case, action, now=later, **PARAMS.get(action, {}))
        assert row(case) == before
        assert counts() == (events, rows)
        return

    event = actions.transition(None, case, action, now=later, **PARAMS.get(action, {}))
    assert case.state == target(action, state)
    assert (event.action, event.from_state, event.to_state, event.at) == (action, state, case.state, later)
    assert counts() == (events + 1, rows + 1)
    last = AuditEvent.objects.order_by("-id").first()
    assert (last.action, last.object_id, last.username) == (f"case.{action}", case.number, "system")
    assert audit.verify().ok


def test_an_unknown_step_is_refused(desks, worker):
    case, _ = report(worker, now=MONDAY)
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "teleport", now=MONDAY)
    assert refused.value.field == "action"


# --- Who may act -----------------------------------------------------------------------------------


@pytest.fixture
def people(desks, worker, make_user):
    return {
        **desks,
        "worker": worker,
        "officer": make_user(Role.OFFICER, OWN_COMMUNITY),
        "volunteer": make_user(Role.VOLUNTEER, OWN_GRID),
        "department": make_user(Role.DEPARTMENT_STAFF, DISTRICT),
        "other_desk": make_user(Role.GRID_HEAD, OTHER_GRID[:12]),
        "other_worker": make_user(Role.GRID_WORKER, OTHER_GRID),
        "other_officer": make_user(Role.OFFICER, OTHER_GRID[:12]),
        "nobody": make_user(None),
    }


ALLOWED, FORBIDDEN, HIDDEN = "allowed", PermissionDenied, Http404
WHO = {
    # The desk: the centre of the case's level, or above.
    ("accept", S.REPORTED): {
        "community": ALLOWED,
        "street": ALLOWED,
        "district": ALLOWED,
        "worker": FORBIDDEN,
        "officer": FORBIDDEN,
        "volunteer": FORBIDDEN,
        "department": FORBIDDEN,
        "other_desk": HIDDEN,
        "other_worker": HIDDEN,
        "nobody": HIDDEN,
    },
    # The unit (the community centre, the worker a member of it), or the desk.
    ("handle", S.DISPATCHED): {
        "community": ALLOWED,
        "district": ALLOWED,
        "worker": ALLOWED,
        "officer": FORBIDDEN,
        "volunteer": FORBIDDEN,
        "department": FORBIDDEN,
        "other_worker": HIDDEN,
    },
    # A checker in the place, or the desk.
    ("check", S.REPORTED_BACK): {
        "community": ALLOWED,
        "street": ALLOWED,
        "officer": ALLOWED,
        "worker": ALLOWED,
        "volunteer": FORBIDDEN,
        "department": FORBIDDEN,
        "other_officer": HIDDEN,
    },
}


@pytest.mark.parametrize(
    "action, state, who, expected",
    [(action, state, who, expected) for (action, state), table in WHO.items() for who, expected in table.items()],
)
def test_who_may_take_a_step(people, action, state, who, expected):
    case, _ = report(people["worker"], now=MONDAY)
    case = advance(case, state, MONDAY)
    user = people[who]
    params = PARAMS.get(action, {})
    if expected == ALLOWED:
        actions.transition(user, case, action, now=MONDAY, **params)
        assert case.state == SIMPLE_TARGET[action]
        assert case.events.last().actor == user
        assert AuditEvent.objects.order_by("-id").first().username == user.username
    else:
        before, was = row(case), counts()
        with pytest.raises(expected):
            actions.transition(user, case, action, now=MONDAY, **params)
        assert row(case) == before and counts() == was


def test_the_community_desk_does_not_run_a_street_case(people):
    case, _ = report(people["worker"], category="0701", now=MONDAY)  # street lights start at the street
    assert case.level == "street"
    with pytest.raises(PermissionDenied):
        actions.transition(people["community"], case, "accept", now=MONDAY)
    actions.transition(people["street"], case, "accept", now=MONDAY)
    assert case.state == S.ACCEPTED


def test_a_step_is_judged_on_the_case_as_it_is_now(people):
    stale, _ = report(people["worker"], now=MONDAY)
    fresh = Case.objects.get(pk=stale.pk)
    actions.transition(None, fresh, "escalate", now=MONDAY, note="升级")
    assert stale.level == "community"  # the copy the community desk still holds
    with pytest.raises(PermissionDenied):
        actions.transition(people["community"], stale, "accept", now=MONDAY)
    assert row(fresh)["state"] == S.REPORTED


def test_a_unit_member_outside_the_scope_works_the_units_cases(people, make_user):
    outside = make_user(Role.DEPARTMENT_STAFF, OTHER_GRID[:9])  # scope: the other street only
    department = routing.department(Division.objects.get(code=DISTRICT), "urban_management")
    actions.set_members(None, department, [(outside, True)])
    case, _ = report(people["worker"], now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    actions.transition(people["community"], case, "dispatch", now=MONDAY, unit=department.code)
    actions.transition(outside, case, "handle", now=MONDAY)
    assert case.state == S.HANDLING and case.assignee == outside
    assert queries.get_case(outside, case.number) == case
    # Not the desk: the unit's steps only.
    with pytest.raises(PermissionDenied):
        actions.transition(outside, case, "escalate", now=MONDAY, note="x")
    other, _ = report(people["worker"], now=MONDAY)
    with pytest.raises(Http404):
        actions.transition(outside, other, "accept", now=MONDAY)


def test_allowed_actions(people):
    case, _ = report(people["worker"], now=MONDAY)
    assert lifecycle.allowed_actions(people["community"], case) == ["accept", "reject", "escalate"]
    assert lifecycle.allowed_actions(people["worker"], case) == []
    assert lifecycle.allowed_actions(people["officer"], case) == []
    advance(case, S.DISPATCHED, MONDAY)
    assert lifecycle.allowed_actions(people["worker"], case) == ["handle", "extend"]
    assert lifecycle.allowed_actions(people["community"], case) == [
        "handle",
        "suspend",
        "extend",
        "reroute",
        "escalate",
    ]
    actions.transition(people["worker"], case, "extend", now=MONDAY, limit="1d", note="需协调")
    assert lifecycle.allowed_actions(people["worker"], case) == ["handle"]
    assert "approve_extension" in lifecycle.allowed_actions(people["community"], case)
    actions.transition(None, case, "escalate", now=MONDAY, note="升级")
    actions.transition(None, case, "escalate", now=MONDAY, note="升级")
    assert "escalate" not in lifecycle.allowed_actions(people["district"], case)


# --- Dispatch --------------------------------------------------------------------------------------


def test_dispatch_to_a_department_and_one_of_its_staff(
    desks, worker, department_staff, django_capture_on_commit_callbacks
):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition(
            desks["community"],
            case,
            "dispatch",
            now=MONDAY,
            unit="urban_management-370203",
            assignee=department_staff.username,
        )
    assert (case.state, case.unit.code, case.assignee) == (S.DISPATCHED, "urban_management-370203", department_staff)
    assert case.level == "community"  # the community desk still owns it
    assert case.dispatched_at == MONDAY and case.stage_started_at == MONDAY
    assert case.due_at == at(2026, 11, 24, 10)  # handling 1d
    assert case.events.last().data == {"unit": "urban_management-370203"}
    assert len(inbox(department_staff, "Case %(number)s was dispatched to you", number=case.number)) == 1
    assert not worker.notifications.exists()


def test_dispatch_within_the_unit(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    actions.transition(desks["community"], case, "dispatch", now=MONDAY, assignee=worker)
    assert (case.unit.code, case.assignee) == ("community-370203005011", worker)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"unit": "no-such-unit"}, "unit"),
        ({"unit": "inactive-370203"}, "unit"),
        ({"unit": "market-370212"}, "unit"),  # another district's department
        ({"assignee": "nobody-at-all"}, "assignee"),
        ({"assignee": "member-elsewhere"}, "assignee"),
        ({"unit": "urban_management-370203", "assignee": "worker"}, "assignee"),  # not of the new unit
    ],
)
def test_dispatch_refuses_unknown_units_and_assignees_outside_the_unit(desks, worker, make_user, params, field):
    district = Division.objects.get(code=DISTRICT)
    routing.department(district, "urban_management")
    inactive = routing.department(district, "water")
    Unit.objects.filter(pk=inactive.pk).update(code="inactive-370203", active=False)
    Division.objects.create(
        code="370212", name="崂山区", parent_id="3702", level=DivisionLevel.COUNTY, path=division_path("370212")
    )
    routing.department(Division.objects.get(code="370212"), "market")
    elsewhere = make_user(Role.DEPARTMENT_STAFF, DISTRICT, username="member-elsewhere")
    actions.set_members(None, routing.department(district, "market"), [(elsewhere, False)])
    if params.get("assignee") == "worker":
        params = {**params, "assignee": worker.username}
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    before, was = row(case), counts()
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "dispatch", now=MONDAY, **params)
    assert refused.value.field == field
    assert row(case) == before and counts() == was


# --- Rejecting, duplicates -------------------------------------------------------------------------


def test_reject_needs_a_known_reason_and_a_note(desks, worker):
    case, _ = report(worker, now=MONDAY)
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "reject", now=MONDAY, reason="boring", note="x")
    assert refused.value.field == "reason"
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "reject", now=MONDAY, reason="not_ours")
    assert refused.value.field == "note"
    actions.transition(desks["community"], case, "reject", now=MONDAY, reason="not_ours", note="属于物业")
    assert case.state == S.REJECTED and case.due_at is None and case.warn_at is None
    assert case.events.last().data == {"reason": "not_ours"}


def test_a_duplicate_points_at_the_first_report_of_its_chain(desks, worker):
    desk = desks["community"]
    first, _ = report(worker, now=MONDAY)
    second, _ = report(worker, now=MONDAY)
    third, _ = report(worker, now=MONDAY)
    actions.transition(desk, second, "reject", now=MONDAY, reason="duplicate", duplicate_of=first.number)
    assert second.duplicate_of == first and second.state == S.REJECTED
    event = second.events.last()
    assert event.data == {"reason": "duplicate", "duplicate_of": first.number}
    assert first.number in event.note  # a note is written when none is given
    actions.transition(desk, third, "reject", now=MONDAY, reason="duplicate", duplicate_of=second.number)
    assert third.duplicate_of == first


def test_a_case_merged_away_takes_its_own_duplicates_along(desks, worker):
    desk = desks["community"]
    x, _ = report(worker, now=MONDAY)
    y, _ = report(worker, now=MONDAY)
    z, _ = report(worker, now=MONDAY)
    actions.transition(desk, x, "reject", now=MONDAY, reason="duplicate", duplicate_of=y.number)
    # y cannot repeat x, which repeats y.
    with pytest.raises(InvalidField) as refused:
        actions.transition(desk, y, "reject", now=MONDAY, reason="duplicate", duplicate_of=x.number)
    assert refused.value.field == "duplicate_of"
    assert row(y)["state"] == S.REPORTED
    actions.transition(desk, y, "reject", now=MONDAY, reason="duplicate", duplicate_of=z.number)
    x.refresh_from_db()
    assert y.duplicate_of == z and x.duplicate_of == z


@pytest.mark.parametrize("original", ["", "20991231999999", "self", "elsewhere"])
def test_a_duplicate_must_name_a_case_the_desk_can_see(desks, worker, original):
    case, _ = report(worker, now=MONDAY)
    elsewhere, _ = report(worker, **OTHER_POINT, now=MONDAY)
    number = {"self": case.number, "elsewhere": elsewhere.number}.get(original, original)
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "reject", now=MONDAY, reason="duplicate", duplicate_of=number)
    assert refused.value.field == "duplicate_of"
    assert row(case)["state"] == S.REPORTED


def test_reporters_of_duplicates_hear_when_the_original_closes(
    desks, worker, make_user, django_capture_on_commit_callbacks
):
    neighbour = make_user(Role.GRID_WORKER, OWN_GRID)
    volunteer = make_user(Role.VOLUNTEER, OWN_GRID)
    desk = desks["community"]
    with django_capture_on_commit_callbacks(execute=True):
        original, _ = report(worker, now=MONDAY)
        second, _ = report(neighbour, now=MONDAY)
        third, _ = report(volunteer, now=MONDAY)
        public, _ = report(None, now=MONDAY)
        actions.transition(desk, second, "reject", now=MONDAY, reason="duplicate", duplicate_of=original.number)
        actions.transition(desk, third, "reject", now=MONDAY, reason="duplicate", duplicate_of=second.number)
        actions.transition(desk, public, "reject", now=MONDAY, reason="duplicate", duplicate_of=original.number)
    assert len(inbox(neighbour, "Case %(number)s was not taken up", number=second.number)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        advance(original, S.CLOSED, MONDAY, actor=desk)
    [asked] = inbox(worker, "Case %(number)s is closed: please rate how it was handled", number=original.number)
    assert asked.link == original.get_absolute_url()
    for reporter, dup in ((neighbour, second), (volunteer, third)):
        [told] = inbox(
            reporter,
            "Case %(original)s, which your report %(number)s repeated, is closed",
            original=original.number,
            number=dup.number,
        )
        assert told.link == dup.get_absolute_url()
    for dup in (second, third, public):
        event = dup.events.last()
        assert (event.action, event.note, event.from_state, event.to_state) == (
            "original_closed",
            original.number,
            S.REJECTED,
            S.REJECTED,
        )
    assert audit.verify().ok


# --- Checking --------------------------------------------------------------------------------------


def test_staff_checking_for_a_reporter_who_confirms_say_how_they_asked(desks, worker):
    case, _ = report(worker, category="0201", now=MONDAY)  # neighbour disputes: the reporter confirms
    advance(case, S.REPORTED_BACK, MONDAY)
    before, was = row(case), counts()
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "check")
    assert refused.value.field == "note"
    assert row(case) == before and counts() == was
    actions.transition(desks["community"], case, "check", now=MONDAY, note="电话回访当事人，表示满意")
    assert case.state == S.CHECKED and case.checked_at == MONDAY


def test_other_categories_are_checked_without_a_note(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REPORTED_BACK, MONDAY)
    actions.transition(worker, case, "check", now=MONDAY)
    assert case.state == S.CHECKED
    # The close clock (1d) runs from the check.
    assert case.due_at == at(2026, 11, 24, 10)


def test_the_reporter_confirms_through_their_link(desks, worker):
    case, _ = report(None, category="0201", now=MONDAY)
    advance(case, S.REPORTED_BACK, MONDAY)
    actions.confirm(case, True, now=MONDAY)
    assert case.state == S.CHECKED and not case.flagged
    assert case.events.last().username == "public"
    with pytest.raises(Conflict):
        actions.confirm(case, True, now=MONDAY)


def test_a_reporter_who_is_not_satisfied_sends_it_back_and_flags_it(desks, worker):
    case, _ = report(None, category="0201", now=MONDAY)
    advance(case, S.REPORTED_BACK, MONDAY)
    with pytest.raises(InvalidField) as refused:
        actions.confirm(case, False, note=" ", now=MONDAY)
    assert refused.value.field == "note"
    actions.confirm(case, False, note="邻居仍然吵闹", now=MONDAY)
    assert (case.state, case.rework_count, case.flagged) == (S.HANDLING, 1, True)
    assert case.events.last().username == "public"


# --- Rework ----------------------------------------------------------------------------------------


def test_rework_counts_and_restarts_the_handling_clock(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REPORTED_BACK, MONDAY)
    assert case.handled_at == MONDAY
    tuesday = at(2026, 11, 24, 14)
    with pytest.raises(InvalidField):
        actions.transition(worker, case, "rework", now=tuesday)
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition(desks["community"], case, "rework", now=tuesday, note="仍有垃圾")
    assert (case.state, case.rework_count, case.handled_at) == (S.HANDLING, 1, None)
    assert case.stage_started_at == tuesday
    assert case.due_at == at(2026, 11, 25, 14)  # handling 1d again, from the rework
    assert case.warn_at == at(2026, 11, 25, 11, 6)  # 80% of 7 working hours
    assert len(inbox(worker, "Case %(number)s failed its check and is back with you", number=case.number)) == 1
    actions.transition(worker, case, "report_back", now=tuesday, note="再次清运")
    actions.transition(desks["community"], case, "rework", now=tuesday, note="还有")
    assert case.rework_count == 2


# --- Suspending ------------------------------------------------------------------------------------


def test_suspend_and_resume_keep_the_working_time_left(desks, worker):
    desk = desks["community"]
    case, _ = report(worker, now=MONDAY)
    advance(case, S.DISPATCHED, MONDAY)
    assert case.due_at == at(2026, 11, 24, 10)
    with pytest.raises(InvalidField):
        actions.transition(desk, case, "suspend", now=at(2026, 11, 23, 15))
    actions.transition(desk, case, "suspend", now=at(2026, 11, 23, 15), note="等待业主回复")
    assert (case.state, case.resume_state) == (S.SUSPENDED, S.DISPATCHED)
    assert case.due_at is case.warn_at is case.stage_started_at is None
    # 15:00-17:30 on Monday and 09:00-10:00 on Tuesday were left: 210 minutes.
    assert case.events.last().data == {"remaining": 210}
    actions.transition(desk, case, "resume", now=at(2026, 11, 25, 14))
    assert (case.state, case.resume_state) == (S.DISPATCHED, "")
    assert case.stage_started_at == at(2026, 11, 25, 14)
    assert case.due_at == at(2026, 11, 25, 17, 30)
    assert case.warn_at == add_working(at(2026, 11, 25, 14), 168)


def test_a_case_resumes_with_at_least_an_hour(desks, worker):
    desk = desks["community"]
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)  # dispatch within 2h: due at 12:00
    actions.transition(desk, case, "suspend", now=at(2026, 11, 23, 11, 45), note="等待")
    actions.transition(desk, case, "resume", now=at(2026, 11, 24, 10))
    assert case.state == S.REGISTERED
    assert case.due_at == at(2026, 11, 24, 11)


def test_a_suspended_case_is_not_swept(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.SUSPENDED, MONDAY)
    assert sweep(at(2026, 12, 31, 10)) == {"yellow": 0, "red": 0, "escalated": 0, "summons_red": 0, "no_rating": 0}
    assert row(case)["supervision"] == Supervision.NONE


# --- Extensions ------------------------------------------------------------------------------------


def _dispatched(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.DISPATCHED, MONDAY)
    assert case.due_at == at(2026, 11, 24, 10)
    assert case.close_due_at == at(2026, 11, 26, 12)  # 2h + 1d + 1d + 1d from registration
    return case


def test_an_approved_extension_moves_both_deadlines_by_working_time(desks, worker, django_capture_on_commit_callbacks):
    case = _dispatched(desks, worker)
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition(worker, case, "extend", now=at(2026, 11, 23, 11), limit=" 2 d ", note="需协调清运车辆")
    assert (case.extension_requested, case.extension_reason) == ("2d", "需协调清运车辆")
    assert case.due_at == at(2026, 11, 24, 10)  # nothing moves before the decision
    assert len(inbox(desks["community"], "Case %(number)s: more time asked for", number=case.number)) == 1
    with pytest.raises(Conflict):
        actions.transition(worker, case, "extend", now=at(2026, 11, 23, 11), limit="1d", note="再要")
    with pytest.raises(PermissionDenied):
        actions.transition(worker, case, "approve_extension", now=at(2026, 11, 23, 14))
    actions.transition(desks["community"], case, "approve_extension", now=at(2026, 11, 23, 14), note="同意")
    assert case.due_at == at(2026, 11, 26, 10)
    assert case.warn_at == add_working(at(2026, 11, 24, 10), 0.8 * 840)
    assert case.close_due_at == at(2026, 11, 30, 12)  # over the weekend
    assert (case.extension_requested, case.extension_reason, case.extension_count) == ("", "", 1)
    assert case.events.last().data == {"limit": "2d", "approved": True}


def test_a_refused_extension_moves_nothing(desks, worker):
    case = _dispatched(desks, worker)
    actions.transition(worker, case, "extend", now=at(2026, 11, 23, 11), limit="4h", note="需协调")
    actions.transition(
        desks["community"], case, "approve_extension", now=at(2026, 11, 23, 11, 30), approve=False, note="不同意"
    )
    assert case.due_at == at(2026, 11, 24, 10) and case.close_due_at == at(2026, 11, 26, 12)
    assert (case.extension_requested, case.extension_count) == ("", 0)
    assert case.events.last().data == {"limit": "4h", "approved": False}


def test_an_extension_of_an_overdue_case_counts_from_now(desks, worker):
    case = _dispatched(desks, worker)
    actions.transition(worker, case, "extend", now=at(2026, 11, 25, 10), limit="4h", note="需协调")
    actions.transition(desks["community"], case, "approve_extension", now=at(2026, 11, 25, 10))
    assert case.due_at == at(2026, 11, 25, 15, 30)
    assert case.close_due_at == at(2026, 11, 26, 17, 30)


def test_no_decision_without_a_request(desks, worker):
    case = _dispatched(desks, worker)
    with pytest.raises(Conflict):
        actions.transition(desks["community"], case, "approve_extension", now=MONDAY)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": "2w", "note": "x"}, "limit"),
        ({"limit": "", "note": "x"}, "limit"),
        ({"limit": "0h", "note": "x"}, "limit"),
        ({"limit": "400d", "note": "x"}, "limit"),
        ({"limit": "1.000000d", "note": "x"}, "limit"),
        ({"limit": "2d", "note": " "}, "note"),
    ],
)
def test_an_extension_request_says_how_long_and_why(desks, worker, params, field):
    case = _dispatched(desks, worker)
    before, was = row(case), counts()
    with pytest.raises(InvalidField) as refused:
        actions.transition(worker, case, "extend", now=MONDAY, **params)
    assert refused.value.field == field
    assert row(case) == before and counts() == was


# --- Rerouting, reopening, escalating --------------------------------------------------------------


def test_reroute_a_case_being_handled_starts_the_new_units_clock(desks, worker, department_staff):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.DISPATCHED, MONDAY)
    actions.transition(worker, case, "handle", now=MONDAY)
    assert case.assignee == worker
    tuesday = at(2026, 11, 24, 10)
    actions.transition(desks["community"], case, "reroute", now=tuesday, unit="urban_management-370203", note="需执法")
    assert (case.state, case.unit.code, case.assignee) == (S.DISPATCHED, "urban_management-370203", None)
    assert case.stage_started_at == tuesday and case.due_at == at(2026, 11, 25, 10)
    assert case.events.last().data == {"from": "community-370203005011", "to": "urban_management-370203"}


def test_reroute_before_dispatch_keeps_the_state_and_clock(desks, worker):
    routing.department(Division.objects.get(code=DISTRICT), "market")
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    due = case.due_at
    actions.transition(desks["community"], case, "reroute", now=at(2026, 11, 23, 11), unit="market-370203", note="x")
    assert (case.state, case.unit.code, case.due_at) == (S.REGISTERED, "market-370203", due)
    with pytest.raises(Conflict):
        actions.transition(desks["community"], case, "reroute", now=MONDAY, unit="market-370203", note="x")
    with pytest.raises(InvalidField) as refused:
        actions.transition(desks["community"], case, "reroute", now=MONDAY, unit="community-370203005011")
    assert refused.value.field == "note"


def test_reopen_within_seven_days(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.CLOSED, MONDAY)
    assert case.rating == "pending" and case.closed_at == MONDAY
    week = MONDAY + timedelta(days=7)
    actions.transition(desks["community"], case, "reopen", now=week, note="群众反映复发")
    assert (case.state, case.closed_at, case.checked_at, case.handled_at, case.rating) == (
        S.DISPATCHED,
        None,
        None,
        None,
        "",
    )
    assert case.stage_started_at == week and case.due_at == add_working(week, 420)


def test_no_reopening_after_seven_days(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.CLOSED, MONDAY)
    before, was = row(case), counts()
    with pytest.raises(Conflict):
        actions.transition(desks["community"], case, "reopen", now=MONDAY + timedelta(days=7, minutes=1), note="x")
    assert row(case) == before and counts() == was


def test_escalate_community_street_district(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.HANDLING, MONDAY)
    with pytest.raises(InvalidField):
        actions.transition(desks["community"], case, "escalate", now=MONDAY)
    later = at(2026, 11, 23, 15)
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition(desks["community"], case, "escalate", now=later, note="社区无力处置")
    assert (case.level, case.unit.code, case.assignee, case.state) == ("street", "street-370203005", None, S.REGISTERED)
    assert case.escalation_count == 1
    assert case.stage_started_at == later and case.due_at == at(2026, 11, 23, 17)  # dispatch within 2h
    assert case.events.last().data == {
        "from_level": "community",
        "to_level": "street",
        "from": "community-370203005011",
        "to": "street-370203005",
    }
    assert len(inbox(desks["street"], "Case %(number)s was escalated to you", number=case.number)) == 1
    # The community desk no longer runs it.
    with pytest.raises(PermissionDenied):
        actions.transition(desks["community"], case, "escalate", now=later, note="x")
    actions.transition(desks["street"], case, "escalate", now=later, note="街道协调不了")
    assert (case.level, case.unit.code, case.escalation_count) == ("district", "urban_management-370203", 2)
    before, was = row(case), counts()
    with pytest.raises(Conflict):
        actions.transition(desks["district"], case, "escalate", now=later, note="x")
    assert row(case) == before and counts() == was


def test_escalating_a_handled_case_keeps_the_work(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REPORTED_BACK, MONDAY)
    actions.transition(desks["community"], case, "escalate", now=MONDAY, note="核查有争议")
    assert (case.state, case.level, case.handled_at) == (S.REPORTED_BACK, "street", MONDAY)
    actions.transition(desks["street"], case, "check", now=MONDAY, note="街道核查")
    assert case.state == S.CHECKED


# --- Time limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes, late", [(120, False), (121, True)])
def test_dispatch_late(desks, worker, minutes, late):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.REGISTERED, MONDAY)
    assert case.dispatch_late is None
    actions.transition(desks["community"], case, "dispatch", now=MONDAY + timedelta(minutes=minutes))
    assert case.dispatch_late is late


@pytest.mark.parametrize("when, late", [(at(2026, 11, 24, 10), False), (at(2026, 11, 24, 10, 1), True)])
def test_handle_late(desks, worker, when, late):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.HANDLING, MONDAY)
    assert case.handle_late is None
    actions.transition(worker, case, "report_back", now=when, note="已清运")
    assert case.handle_late is late and case.handled_at == when


@pytest.mark.parametrize("when, late", [(at(2026, 11, 26, 12), False), (at(2026, 11, 26, 12, 1), True)])
def test_close_late(desks, worker, when, late):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.CHECKED, MONDAY)
    assert case.close_late is None and case.close_due_at == at(2026, 11, 26, 12)
    actions.transition(desks["community"], case, "close", now=when)
    assert case.close_late is late and case.closed_at == when


def test_the_whole_loop_keeps_the_audit_chain(desks, worker):
    case, _ = report(worker, now=MONDAY)
    advance(case, S.CLOSED, MONDAY, actor=desks["community"])
    actions.rate(case, 5, "很快", actor=worker, now=MONDAY)
    steps = ["report", "accept", "register", "dispatch", "handle", "report_back", "check", "close", "rate"]
    assert list(case.events.values_list("action", flat=True)) == steps
    rows = AuditEvent.objects.filter(object_id=case.number).order_by("id")
    assert [r.action for r in rows] == [f"case.{s}" for s in steps]
    assert audit.verify().ok


# --- Reading ---------------------------------------------------------------------------------------


def test_cases_a_user_may_read(desks, worker, make_user, department_staff):
    mine_elsewhere, _ = report(worker, **OTHER_POINT, now=MONDAY)  # reported by the worker, outside their grid
    in_grid, _ = report(None, now=MONDAY)
    elsewhere, _ = report(None, **OTHER_POINT, now=MONDAY)
    outside = make_user(Role.DEPARTMENT_STAFF, OTHER_GRID[:9])
    actions.set_members(None, routing.department(Division.objects.get(code=DISTRICT), "market"), [(outside, False)])
    advance(in_grid, S.REGISTERED, MONDAY)
    actions.transition(None, in_grid, "dispatch", now=MONDAY, unit="market-370203")

    assert set(queries.cases(worker)) == {mine_elsewhere, in_grid}
    assert set(queries.cases(outside)) == {mine_elsewhere, elsewhere, in_grid}  # scope, and the unit's case
    assert set(queries.cases(desks["district"])) == {mine_elsewhere, in_grid, elsewhere}
    other_worker = make_user(Role.GRID_WORKER, OTHER_GRID)
    assert set(queries.cases(other_worker)) == {mine_elsewhere, elsewhere}
    assert list(queries.cases(make_user(None))) == []
    assert list(queries.cases(AnonymousUser())) == []
    with pytest.raises(Http404):
        queries.get_case(other_worker, in_grid.number)
    assert queries.get_case(worker, mine_elsewhere.number) == mine_elsewhere


def test_a_summoned_departments_staff_read_the_case(desks, worker, make_user):
    outside = make_user(Role.DEPARTMENT_STAFF, OTHER_GRID[:9])
    market = routing.department(Division.objects.get(code=DISTRICT), "market")
    actions.set_members(None, market, [(outside, False)])
    case, _ = report(worker, now=MONDAY)
    assert case not in queries.cases(outside)
    actions.summon(desks["community"], case, [market.code], now=MONDAY)
    assert case in queries.cases(outside)


def test_the_reporters_contact_is_masked_for_those_who_do_not_work_the_case(desks, worker, make_user):
    case, _ = report(None, reporter_name="王芳芳", reporter_phone="13912345678", now=MONDAY)
    full = {"reporter_name": "王芳芳", "reporter_phone": "13912345678"}
    masked = {"reporter_name": "王**", "reporter_phone": "139****5678"}
    assert queries.reporter_fields(desks["community"], case) == full
    assert queries.reporter_fields(desks["district"], case) == full
    assert queries.reporter_fields(worker, case) == full  # works in the case's unit
    assert queries.reporter_fields(make_user(Role.OFFICER, OWN_COMMUNITY), case) == masked
    assert queries.reporter_fields(make_user(Role.GRID_WORKER, OWN_GRID), case) == masked
    assert queries.reporter_fields(AnonymousUser(), case) == masked
    own, _ = report(worker, reporter_name="李四", reporter_phone="13812345678", now=MONDAY)
    actions.transition(None, own, "escalate", now=MONDAY, note="升级")
    assert own.unit.code == "street-370203005"  # no longer the worker's unit, but their own report
    assert queries.reporter_fields(worker, own) == {"reporter_name": "李四", "reporter_phone": "13812345678"}
