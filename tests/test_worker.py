"""`anju worker` runs queued django.tasks with the database backend."""

import pytest

from anju import cli
from anju.core.models import AuditEvent
from tests.worker_tasks import note


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_queued_task(tmp_path, monkeypatch):
    monkeypatch.setenv("ANJU_HOME", str(tmp_path))
    result = note.enqueue("hello")
    assert result.status == "READY"
    assert not AuditEvent.objects.filter(action="test.worker_ran").exists()

    assert cli.main(["worker", "--once"]) == 0

    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == "HELLO"
    assert AuditEvent.objects.filter(action="test.worker_ran").count() == 1
