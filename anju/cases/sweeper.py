"""The deadline sweeper (督办): yellow cards at 80% of a stage's limit, red cards when it is passed,
escalation of red cases one level up, red cards for missed report-ins, and expired ratings.

Each card is given with a conditional update, so several workers (or a re-run with the same clock)
give it once. `anju worker` runs a pass every few minutes; `anju sla sweep --at` runs one by hand.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from anju.cases.actions import lifecycle, ratings
from anju.cases.models import FINAL_STATES, STAGE_OF, Case, Summons, SummonsState, Supervision
from anju.core import deadlines
from anju.core.notify import notify
from anju.core.periodic import every

RELATED = ("category", "unit", "community", "street", "district", "assignee")


def _card(case: Case, colour: str, now) -> bool:
    """Give the card unless another pass did; True when this pass gave it."""
    with transaction.atomic():
        if not deadlines.claim_card(Case, case, colour):
            return False
        lifecycle.record_event(case, None, colour, case.state, data={"due_at": case.due_at.isoformat()}, now=now)
    if colour == Supervision.YELLOW:
        subject = _("Yellow card: case %(number)s is near its time limit")
    else:
        subject = _("Red card: case %(number)s is past its time limit")
    subject %= {"number": case.number}
    body = _("Stage: %(stage)s. Due: %(due)s.") % {
        "stage": STAGE_OF[case.state].label,
        "due": timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M"),
    }
    # Whoever must act, the unit's leads and the desk: one message each, however many of these they are;
    # a red card replaces the unread yellow one.
    people = [*lifecycle.unit_targets(case), *lifecycle.unit_people(case.unit, leads_only=True)]
    people += lifecycle.desk_people(case)
    for user in {u.pk: u for u in people}.values():
        notify(user, subject, body, case.get_absolute_url(), key=f"case:{case.number}:card")
    return True


@deadlines.register_sweep("cases")
def sweep(now=None) -> dict:
    """One pass at `now`; returns what it did."""
    now = now or timezone.now()
    done = {"yellow": 0, "red": 0, "escalated": 0, "summons_red": 0, "no_rating": 0}
    timed = Case.objects.filter(state__in=list(STAGE_OF)).select_related(*RELATED)
    for case in timed.filter(due_at__lte=now).exclude(supervision=Supervision.RED).iterator(chunk_size=500):
        if not _card(case, Supervision.RED, now):
            continue
        done["red"] += 1
        if lifecycle.routing.level_above(case.level) is not None:
            lifecycle.transition(
                None, case, "escalate", now=now, note=_("Past its time limit: escalated by the supervision sweep.")
            )
            done["escalated"] += 1
    yellow = timed.filter(warn_at__lte=now, due_at__gt=now, supervision=Supervision.NONE)
    for case in yellow.iterator(chunk_size=500):
        done["yellow"] += _card(case, Supervision.YELLOW, now)
    # A case closed or rejected before the department came needs it no more.
    missed = Summons.objects.filter(state=SummonsState.SUMMONED, red=False, due_at__lte=now).exclude(
        case__state__in=FINAL_STATES
    )
    for summons in missed.select_related(
        "unit", "case__category", "case__unit", "case__community", "case__street", "case__district"
    ):
        with transaction.atomic():
            if not Summons.objects.filter(pk=summons.pk, red=False).update(red=True):
                continue
            lifecycle.record_event(
                summons.case, None, "summons_red", summons.case.state, data={"unit": summons.unit.code}, now=now
            )
        subject = _("Red card: %(unit)s has not reported in on case %(number)s") % {
            "unit": summons.unit,
            "number": summons.case.number,
        }
        for user in lifecycle.unit_people(summons.unit):
            notify(user, subject, "", summons.case.get_absolute_url())
        lifecycle.tell_desk(summons.case, subject)
        done["summons_red"] += 1
    done["no_rating"] = ratings.expire_ratings(now)
    return done


@every(timedelta(minutes=5), name="cases.sweep")
@task()
def sweep_task() -> dict:
    """The periodic pass, queued by `anju worker`."""
    return sweep()
