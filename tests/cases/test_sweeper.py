"""The supervision sweep: yellow at 80% of a stage's limit, red when it is passed, escalation one level up."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from anju.cases import actions, sweeper
from anju.cases.models import Case, CaseEvent, State, Supervision
from anju.cases.sweeper import sweep
from anju.core import audit, periodic
from anju.core.models import AuditEvent, Notification
from anju.core.roles import Role
from tests.cases.conftest import OWN_GRID, advance, at, inbox, report

MONDAY = at(2026, 11, 23, 10)  # a case reported now must be accepted within 2h: yellow 11:36, red 12:00
NOTHING = {"yellow": 0, "red": 0, "escalated": 0, "summons_red": 0, "no_rating": 0}
YELLOW = "Yellow card: case %(number)s is near its time limit"
RED = "Red card: case %(number)s is past its time limit"


def did(**counts) -> dict:
    return {**NOTHING, **counts}


def written() -> tuple[int, int, int]:
    return CaseEvent.objects.count(), AuditEvent.objects.count(), Notification.objects.count()


def test_no_card_before_80_percent(desks, worker):
    case, _ = report(worker, now=MONDAY)
    assert case.warn_at == at(2026, 11, 23, 11, 36)
    assert sweep(at(2026, 11, 23, 11, 35, 59)) == NOTHING
    case.refresh_from_db()
    assert case.supervision == Supervision.NONE and case.events.count() == 1


def test_yellow_at_80_percent_exactly(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(worker, now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(at(2026, 11, 23, 11, 36)) == did(yellow=1)
    case.refresh_from_db()
    assert (case.supervision, case.state, case.level) == (Supervision.YELLOW, State.REPORTED, "community")
    event = case.events.last()
    assert (event.action, event.username, event.from_state, event.to_state) == (
        "yellow",
        "system",
        "reported",
        "reported",
    )
    assert event.data == {"due_at": case.due_at.isoformat()}
    assert AuditEvent.objects.order_by("-id").first().action == "case.yellow"
    # The unit (nobody has taken the case: all its members) and the desk, once each.
    assert len(inbox(worker, YELLOW, number=case.number)) == 1
    assert len(inbox(desks["community"], YELLOW, number=case.number)) == 1


def test_the_same_pass_twice_changes_nothing(desks, worker, django_capture_on_commit_callbacks):
    report(worker, now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(at(2026, 11, 23, 11, 36))
    before = written()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(at(2026, 11, 23, 11, 36)) == NOTHING
        assert sweep(at(2026, 11, 23, 11, 50)) == NOTHING
    assert written() == before


def test_red_escalates_one_level_up_and_tells_everyone(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(worker, now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(at(2026, 11, 23, 11, 36))
        assert sweep(at(2026, 11, 23, 12)) == did(red=1, escalated=1)
    case.refresh_from_db()
    assert [e.action for e in case.events.all()] == ["report", "yellow", "red", "escalate"]
    # Escalated: the street's centre takes the case over with a fresh accept clock.
    assert (case.level, case.unit.code, case.state, case.escalation_count) == (
        "street",
        "street-370203005",
        State.REPORTED,
        1,
    )
    assert case.supervision == Supervision.NONE
    assert case.stage_started_at == at(2026, 11, 23, 12) and case.due_at == at(2026, 11, 23, 15, 30)
    escalation = case.events.last()
    assert escalation.username == "system" and escalation.note
    # The red card replaced the unread yellow one; the new desk hears of the escalation.
    assert [m.subject for m in worker.notifications.all()] == [inbox(worker, RED, number=case.number)[0].subject]
    assert len(inbox(desks["community"], RED, number=case.number)) == 1
    assert len(inbox(desks["street"], "Case %(number)s was escalated to you", number=case.number)) == 1

    before = written()
    assert sweep(at(2026, 11, 23, 12)) == NOTHING
    assert written() == before
    assert audit.verify().ok


def test_red_for_a_taken_case_goes_to_its_assignee_the_leads_and_the_desk(
    desks, worker, make_user, django_capture_on_commit_callbacks
):
    colleague = make_user(Role.GRID_WORKER, OWN_GRID)
    case, _ = report(worker, now=MONDAY)
    unit = case.unit
    actions.set_members(None, unit, [*((m.user, m.lead) for m in unit.members.all()), (colleague, False)])
    advance(case, State.REGISTERED, MONDAY)
    actions.transition(desks["community"], case, "dispatch", now=MONDAY, assignee=worker.username)
    assert case.due_at == at(2026, 11, 24, 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(at(2026, 11, 24, 10)) == did(red=1, escalated=1)
    assert len(inbox(worker, RED, number=case.number)) == 1
    assert len(inbox(desks["community"], RED, number=case.number)) == 1  # lead of the unit and the desk
    assert not colleague.notifications.exists()
    case.refresh_from_db()
    # Work not started waits for the street to dispatch it again.
    assert (case.state, case.level, case.assignee) == (State.REGISTERED, "street", None)


def test_a_red_case_at_district_level_stays_red(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(worker, lng=120.295, lat=36.045, now=MONDAY)  # in no grid: the district's
    assert case.level == "district"
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(at(2026, 11, 23, 12)) == did(red=1)
    case.refresh_from_db()
    assert (case.supervision, case.level, case.state, case.escalation_count) == (
        Supervision.RED,
        "district",
        State.REPORTED,
        0,
    )
    assert len(inbox(desks["district"], RED, number=case.number)) == 1
    before = written()
    assert sweep(at(2026, 11, 23, 12)) == NOTHING
    assert sweep(at(2026, 11, 30, 12)) == NOTHING
    assert written() == before


def test_a_case_escalated_twice_ends_red_at_the_district(desks, worker):
    case, _ = report(worker, now=MONDAY)
    assert sweep(at(2026, 11, 23, 12)) == did(red=1, escalated=1)
    assert sweep(at(2026, 11, 23, 15, 30)) == did(red=1, escalated=1)
    case.refresh_from_db()
    assert (case.level, case.unit.code) == ("district", "urban_management-370203")
    assert case.due_at == at(2026, 11, 23, 17, 30)
    assert sweep(at(2026, 11, 23, 17, 30)) == did(red=1)
    case.refresh_from_db()
    assert (case.supervision, case.escalation_count) == (Supervision.RED, 2)
    assert [e.action for e in case.events.all()] == ["report", "red", "escalate", "red", "escalate", "red"]


def test_a_card_is_given_once_whichever_pass_gets_there_first(desks, worker):
    case, _ = report(worker, now=MONDAY)
    stale = Case.objects.select_related(*sweeper.RELATED).get(pk=case.pk)
    assert sweeper._card(stale, Supervision.YELLOW, at(2026, 11, 23, 11, 40))
    again = Case.objects.select_related(*sweeper.RELATED).get(pk=case.pk)
    assert not sweeper._card(stale, Supervision.YELLOW, at(2026, 11, 23, 11, 40))
    assert not sweeper._card(again, Supervision.YELLOW, at(2026, 11, 23, 11, 40))
    assert case.events.filter(action="yellow").count() == 1


def test_a_new_stage_clears_the_card(desks, worker):
    case, _ = report(worker, now=MONDAY)
    sweep(at(2026, 11, 23, 11, 40))
    actions.transition(desks["community"], case, "accept", now=at(2026, 11, 23, 11, 45))
    assert case.supervision == Supervision.NONE
    assert case.warn_at == at(2026, 11, 23, 14, 51) and case.due_at == at(2026, 11, 23, 15, 15)
    assert sweep(at(2026, 11, 23, 14, 51)) == did(yellow=1)


@pytest.mark.parametrize("state", [State.CLOSED, State.REJECTED, State.SUSPENDED])
def test_cases_without_a_running_clock_are_left_alone(desks, worker, state):
    case, _ = report(worker, now=MONDAY)
    advance(case, state, MONDAY)
    assert sweep(MONDAY + timedelta(days=2)) == did(no_rating=0)
    case.refresh_from_db()
    assert case.supervision == Supervision.NONE and not case.events.filter(action__in=["yellow", "red"]).exists()


def test_the_sweep_is_a_periodic_task():
    assert periodic.SCHEDULE["cases.sweep"].task is sweeper.sweep_task


def test_the_worker_queues_the_sweep_every_five_minutes(db):
    now = timezone.now()
    assert "cases.sweep" in periodic.queue_due(now)
    assert "cases.sweep" not in periodic.queue_due(now + timedelta(minutes=4))
    assert "cases.sweep" in periodic.queue_due(now + timedelta(minutes=5, seconds=1))
    assert DBTaskResult.objects.filter(task_path="anju.cases.sweeper.sweep_task").count() == 2
