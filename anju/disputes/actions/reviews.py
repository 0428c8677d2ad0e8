"""卷宗评查: reviewers score concluded dossiers against a checklist each month."""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.errors import Conflict, InvalidField
from anju.disputes.actions import procedure
from anju.disputes.models import FINAL_STATES, Dispute, DossierReview, State

# What a complete dossier holds, in the order of the file, with the points each is worth (100 in all).
CHECKLIST = (
    ("intake", gettext_lazy("Application and acceptance registered completely"), 10),
    ("rights", gettext_lazy("Parties informed of their rights and duties"), 10),
    ("investigation", gettext_lazy("Investigation recorded"), 15),
    ("minutes", gettext_lazy("Session minutes complete and signed"), 15),
    ("outcome", gettext_lazy("Agreement or termination in proper form"), 20),
    ("performance", gettext_lazy("Performance tracked"), 10),
    ("follow_up", gettext_lazy("Follow-up visit recorded"), 10),
    ("order", gettext_lazy("Documents filed in order"), 10),
)
POINTS = {code: points for code, _label, points in CHECKLIST}
# A dossier is reviewed once its mediation has ended.
REVIEWABLE = FINAL_STATES | {State.AGREED, State.TERMINATED}


def review_dossier(actor, dispute: Dispute, scores: dict, comment: str = "", now=None) -> DossierReview:
    """Score one dossier; one review per reviewer, and never by the dispute's own lead."""
    procedure.require(actor, dispute, manager=True)
    if dispute.lead_id and dispute.lead.user_id == getattr(actor, "pk", None):
        raise PermissionDenied
    if not isinstance(scores, dict):
        raise InvalidField("scores", _("Score each item of the checklist."))
    clean = {}
    for code, _label, points in CHECKLIST:
        value = scores.get(code)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= points:
            raise InvalidField(code, _("Give 0 to %(points)d points.") % {"points": points})
        clean[code] = value
    unknown = set(scores) - set(POINTS)
    if unknown:
        raise InvalidField(sorted(unknown)[0], _("Not an item of the checklist."))
    now = now or timezone.now()
    with transaction.atomic():
        d = procedure.locked(dispute)
        procedure.expect(d, "review", REVIEWABLE)
        try:
            with transaction.atomic():
                review = DossierReview.objects.create(
                    dispute=d,
                    reviewer=actor,
                    reviewed_at=now,
                    scores=clean,
                    total=sum(clean.values()),
                    comment=str(comment or "").strip()[:2000],
                )
        except IntegrityError:
            raise Conflict(_("You have already reviewed this dossier.")) from None
        procedure.record_event(d, actor, "review", d.state, note=review.comment, data={"total": review.total}, now=now)
    return review
