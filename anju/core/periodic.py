"""Periodic tasks: each app registers a django-tasks task with an interval; `anju worker` queues each one
when it falls due. The last queueing time is kept in the database (one row per task, locked while
checked), so restarts and several workers queue a task once per interval."""

import threading
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections, transaction
from django.utils import timezone

from anju.core.models import PeriodicRun


@dataclass(frozen=True)
class Periodic:
    name: str
    task: object
    every: timedelta


SCHEDULE: dict[str, Periodic] = {}


def every(interval: timedelta, name: str | None = None):
    """Decorator for a django-tasks task: queue it every `interval`."""

    def register(task):
        key = name or f"{task.module_path}"
        SCHEDULE[key] = Periodic(key, task, interval)
        return task

    return register


def queue_due(now=None) -> list[str]:
    """Queue every periodic task whose interval has passed; returns their names."""
    now = now or timezone.now()
    queued = []
    for item in SCHEDULE.values():
        with transaction.atomic():
            run, created = PeriodicRun.objects.select_for_update().get_or_create(
                name=item.name, defaults={"last_queued_at": now}
            )
            if not created and now - run.last_queued_at < item.every:
                continue
            run.last_queued_at = now
            run.save(update_fields=["last_queued_at"])
            item.task.enqueue()
            queued.append(item.name)
    return queued


def start_scheduler(check_every: float = 60.0) -> threading.Event:
    """Check the schedule in a background thread until the returned event is set."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            close_old_connections()
            queue_due()
            stop.wait(check_every)
        close_old_connections()

    threading.Thread(target=loop, name="anju-scheduler", daemon=True).start()
    return stop
