"""What the reporter says at the end: confirm the result, rate it 1-5; silence is "no rating", never "satisfied"."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases.actions import lifecycle
from anju.cases.models import Case, Rating, State
from anju.core.errors import Conflict, InvalidField

# The reporter has this long after closing to rate; after it the case counts as "no rating".
RATING_DAYS = 3
# Scores at or below this flag the case for a supervisor to review.
LOW_SCORE = 2


def rate(case: Case, score, comment: str = "", actor=None, by: str = "public", now=None) -> Case:
    """Record the reporter's rating. Through the API only the reporter (or the desk, recording a rating
    taken by phone) may rate; the public link rates as the reporter."""
    if actor is not None and case.reporter_id != actor.pk:
        lifecycle.require(actor, case, lifecycle.DESK)
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise InvalidField("score", _("Give a score from 1 to 5."))
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise InvalidField("comment", _("At most 500 characters."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "unit", "community", "street", "district")
            .get(pk=case.pk)
        )
        if locked.state != State.CLOSED or locked.rating != Rating.PENDING:
            raise Conflict(_("This case is not waiting for a rating."))
        if locked.closed_at and now - locked.closed_at > timedelta(days=RATING_DAYS):
            raise Conflict(_("Ratings are taken within 3 days of closing."))
        locked.rating, locked.score, locked.rating_comment, locked.rated_at = Rating.RATED, score, comment, now
        locked.flagged = score <= LOW_SCORE
        locked.save(update_fields=["rating", "score", "rating_comment", "rated_at", "flagged"])
        lifecycle.record_event(locked, actor, "rate", locked.state, comment, {"score": score}, by=by, now=now)
        if locked.flagged:
            lifecycle.tell_desk(
                locked,
                _("Case %(number)s got a low rating (%(score)d): please review")
                % {"number": locked.number, "score": score},
                comment,
            )
    case.refresh_from_db()
    return case


def confirm(case: Case, passed: bool, note: str = "", photos=(), now=None) -> Case:
    """The reporter, through their link, says whether the problem is solved (check) or not (rework)."""
    action = "check" if passed else "rework"
    if case.state != State.REPORTED_BACK:
        raise Conflict(_("This case is not waiting for your confirmation."))
    if not passed and not (note or "").strip():
        raise InvalidField("note", _("Say what is still wrong."))
    with transaction.atomic():
        lifecycle.transition(None, case, action, now=now, by="public", note=note, photos=photos)
        if not passed:
            Case.objects.filter(pk=case.pk).update(flagged=True)
    case.refresh_from_db()
    return case


def expire_ratings(now=None) -> int:
    """Closed cases unrated for 3 days become "no rating"; returns how many."""
    now = now or timezone.now()
    due = Case.objects.filter(
        state=State.CLOSED, rating=Rating.PENDING, closed_at__lte=now - timedelta(days=RATING_DAYS)
    )
    n = 0
    for case in due.select_related("category", "unit", "community", "street", "district").iterator():
        with transaction.atomic():
            if Case.objects.filter(pk=case.pk, rating=Rating.PENDING).update(rating=Rating.NONE):
                case.rating = Rating.NONE
                lifecycle.record_event(case, None, "no_rating", case.state, now=now)
                n += 1
    return n
