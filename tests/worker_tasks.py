"""A task for the worker test: it writes through an action, so the run leaves an audit row."""

from django_tasks import task

from anju.core import audit


@task()
def note(text: str) -> str:
    audit.record("test.worker_ran", username="worker", detail={"text": text})
    return text.upper()
