"""Background work of the registry: reminding workers of overdue tenant registrations."""

from collections import Counter
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import task

from anju.core.models import User
from anju.core.notify import notify
from anju.core.periodic import every
from anju.registry.models import Residence, Status


def remind_overdue_rentals(today=None) -> dict:
    """Tell each responsible worker how many tenants in their buildings are past the 3-day deadline.

    One message per worker, refreshed (not repeated) while it is unread. Returns counts: workers told,
    overdue tenants, and overdue tenants in buildings nobody answers for (those show on the overdue list).
    """
    today = today or timezone.localdate()
    overdue = Residence.objects.filter(end=None, status=Status.PENDING, registration_due__lt=today)
    per_worker = Counter(overdue.values_list("house__building__responsible", flat=True))
    unassigned = per_worker.pop(None, 0)
    link = reverse("registry_overdue")
    for worker in User.objects.filter(pk__in=per_worker, is_active=True):
        n = per_worker[worker.pk]
        notify(
            worker,
            ngettext(
                "%(n)d tenant registration is overdue in your buildings",
                "%(n)d tenant registrations are overdue in your buildings",
                n,
            )
            % {"n": n},
            body=_("Tenants must be registered within 3 days of moving in."),
            link=link,
            key="registry:overdue-rentals",
        )
    return {"workers": len(per_worker), "overdue": sum(per_worker.values()) + unassigned, "unassigned": unassigned}


@every(timedelta(days=1), name="registry.remind_overdue_rentals")
@task()
def remind_overdue_rentals_task() -> dict:
    """The daily reminder, run by `anju worker`."""
    return remind_overdue_rentals()
