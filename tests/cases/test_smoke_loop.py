"""The whole loop through the actions, with a clock that moves."""

import pytest

from anju.cases import actions
from anju.cases.models import State, Supervision
from anju.cases.sweeper import sweep
from anju.core.errors import Conflict
from tests.cases.conftest import at, report


def test_the_loop_from_report_to_rating(desks, worker):
    monday = at(2026, 11, 23, 10)
    case, dups = report(worker, now=monday)
    assert dups == []
    assert case.state == State.REPORTED and case.level == "community"
    assert case.number.startswith("20261123")
    desk = desks["community"]
    actions.transition(desk, case, "accept", now=monday)
    actions.transition(desk, case, "register", now=monday)
    actions.transition(desk, case, "dispatch", now=monday, assignee=worker.username)
    with pytest.raises(Conflict):
        actions.transition(desk, case, "close", now=monday)
    actions.transition(worker, case, "handle", now=monday)
    actions.transition(worker, case, "report_back", now=monday, note="已清运")
    actions.transition(worker, case, "check", now=monday)
    actions.transition(desk, case, "close", now=monday)
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.rating == "pending"
    actions.rate(case, 5, "很快", actor=worker, now=monday)
    case.refresh_from_db()
    assert case.score == 5 and case.events.count() == 9


def test_sweeper_cards_and_escalates(desks, worker):
    monday = at(2026, 11, 23, 10)
    case, _ = report(worker, now=monday)  # accept limit 2h
    assert sweep(at(2026, 11, 23, 11, 40))["yellow"] == 1
    case.refresh_from_db()
    assert case.supervision == Supervision.YELLOW
    done = sweep(at(2026, 11, 23, 14))
    assert done["red"] == 1 and done["escalated"] == 1
    case.refresh_from_db()
    assert case.level == "street" and case.supervision == Supervision.NONE
    assert sweep(at(2026, 11, 23, 14))["red"] == 0
