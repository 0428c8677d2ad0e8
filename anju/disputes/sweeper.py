"""The dispute sweep: yellow at 80 % of the 30-day mediation period, red when it is passed (telling the
mediators and the managers over the place), and a reminder for each follow-up visit that falls due.
It joins the supervision pass of `core.deadlines`, run by `anju worker` and `anju sla sweep`."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from anju.cases.models import Supervision
from anju.core import deadlines
from anju.core.periodic import every
from anju.disputes import routing
from anju.disputes.actions import procedure
from anju.disputes.models import TIMED_STATES, Dispute, FollowUp

RELATED = ("lead__user", "room", "community", "street", "district")


def _card(dispute: Dispute, colour: str, now) -> bool:
    with transaction.atomic():
        if not deadlines.claim_card(Dispute, dispute, colour):
            return False
        procedure.record_event(
            dispute, None, colour, dispute.state, data={"due_at": dispute.due_at.isoformat()}, now=now
        )
    if colour == Supervision.YELLOW:
        subject = _("Yellow card: dispute %(number)s is near the end of its 30 days")
    else:
        subject = _("Red card: dispute %(number)s is past its 30 days")
    subject %= {"number": dispute.number}
    body = _("Due: %(due)s.") % {"due": timezone.localtime(dispute.due_at).strftime("%Y-%m-%d %H:%M")}
    people = procedure.mediator_people(dispute)
    if colour == Supervision.RED:
        people += routing.managers(dispute)
    procedure.tell(people, dispute, subject, body, key="card")
    return True


@deadlines.register_sweep("disputes")
def sweep(now=None) -> dict:
    """One pass at `now`; returns what it did."""
    now = now or timezone.now()
    done = {"yellow": 0, "red": 0, "follow_ups_due": 0}
    timed = Dispute.objects.filter(state__in=list(TIMED_STATES)).select_related(*RELATED)
    for dispute in timed.filter(due_at__lte=now).exclude(supervision=Supervision.RED).iterator(chunk_size=500):
        done["red"] += _card(dispute, Supervision.RED, now)
    yellow = timed.filter(warn_at__lte=now, due_at__gt=now, supervision=Supervision.NONE)
    for dispute in yellow.iterator(chunk_size=500):
        done["yellow"] += _card(dispute, Supervision.YELLOW, now)
    due = FollowUp.objects.filter(done_at=None, reminded=False, due_on__lte=timezone.localdate(now))
    for visit in due.select_related(*(f"dispute__{r}" for r in RELATED)):
        if not FollowUp.objects.filter(pk=visit.pk, reminded=False).update(reminded=True):
            continue
        subject = _("Follow-up visit due: dispute %(number)s") % {"number": visit.dispute.number}
        procedure.tell(procedure.mediator_people(visit.dispute), visit.dispute, subject, key="follow_up")
        done["follow_ups_due"] += 1
    return done


@every(timedelta(minutes=15), name="disputes.sweep")
@task()
def sweep_task() -> dict:
    """The periodic pass, queued by `anju worker`."""
    return sweep()
