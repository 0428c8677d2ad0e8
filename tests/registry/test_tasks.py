"""The overdue-rental reminder and the periodic schedule that runs it."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from anju.core import periodic
from anju.registry import actions
from anju.registry.tasks import remind_overdue_rentals

pytestmark = pytest.mark.django_db


def test_reminder_tells_the_responsible_worker_once(household, officer, worker, django_capture_on_commit_callbacks):
    building = household["house"].building
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_responsible(officer, building, worker)
    # The tenant moved in 2026-01-10: due 2026-01-13.
    assert remind_overdue_rentals(date(2026, 1, 13)) == {"workers": 0, "overdue": 0, "unassigned": 0}
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            counts = remind_overdue_rentals(date(2026, 1, 14))
        assert counts == {"workers": 1, "overdue": 1, "unassigned": 0}
    reminders = worker.notifications.filter(key="registry:overdue-rentals")
    assert reminders.count() == 1 and "1" in reminders.get().subject
    # Once verified, nothing is overdue.
    actions.verify(officer, household["residence"])
    assert remind_overdue_rentals(date(2026, 1, 14))["overdue"] == 0


def test_unassigned_buildings_are_counted(household):
    assert remind_overdue_rentals(date(2026, 2, 1)) == {"workers": 0, "overdue": 1, "unassigned": 1}


def test_periodic_tasks_are_queued_once_per_interval(db):
    now = timezone.now()
    first = periodic.queue_due(now)
    assert "registry.remind_overdue_rentals" in first
    assert "registry.remind_overdue_rentals" not in periodic.queue_due(now + timedelta(hours=1))
    assert "registry.remind_overdue_rentals" in periodic.queue_due(now + timedelta(days=1, seconds=1))
    assert DBTaskResult.objects.filter(task_path__endswith="remind_overdue_rentals_task").count() == 2
