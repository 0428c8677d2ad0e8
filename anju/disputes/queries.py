"""Every read of disputes, cut to the reader: disputes in their scope (with disputes.view) and those
they mediate. Parties' ID numbers and phones are masked unless the reader may mediate the dispute."""

from django.db.models import Q
from django.http import Http404

from anju.core import masking, scope
from anju.core.roles import Perm
from anju.disputes.actions import procedure
from anju.disputes.models import Dispute, MediationRoom, Mediator

RELATED = ("lead", "room", "grid", "community", "street", "district")


def disputes(user):
    """Disputes the user may read."""
    if user is None or not user.is_authenticated:
        return Dispute.objects.none()
    mine = Mediator.objects.filter(user=user).values_list("pk", flat=True).first()
    q = Q(pk__in=[])
    if mine is not None:
        led = Dispute.mediators.through.objects.filter(mediator_id=mine).values_list("dispute_id", flat=True)
        q |= Q(lead_id=mine) | Q(pk__in=list(led))
    if scope.has_perm(user, Perm.DISPUTES_VIEW):
        for p in scope.scope_paths(user):
            q |= Q(path__startswith=p)
    return Dispute.objects.filter(q).select_related(*RELATED)


def get_dispute(user, number: str) -> Dispute:
    """One dispute the user may read, or 404."""
    dispute = disputes(user).filter(number=number).first()
    if dispute is None:
        raise Http404
    return dispute


def parties(user, dispute: Dispute) -> list[dict]:
    """The parties as the reader may see them."""
    full = procedure.may_mediate(user, dispute)
    out = []
    for p in dispute.parties.all():
        out.append(
            {
                "id": p.pk,
                "role": p.role,
                "role_label": p.get_role_display(),
                "name": p.name if full else masking.mask_name(p.name),
                "id_number": p.id_number if full else masking.mask_id_number(p.id_number),
                "phone": p.phone if full else masking.mask_phone(p.phone),
                "address": p.address,
                "representative": p.representative,
                "person": p.person_id,
                "organization": p.organization_id,
            }
        )
    return out


def rooms(user):
    """Mediation rooms in the reader's area (none without disputes.view)."""
    if not scope.has_perm(user, Perm.DISPUTES_VIEW):
        return MediationRoom.objects.none()
    return MediationRoom.objects.restrict(user)


def mediators(user):
    """Mediators serving the reader's area (and the pools above it), with their load."""
    from anju.disputes.routing import with_load

    paths = scope.scope_paths(user)
    if not paths or not scope.has_perm(user, Perm.DISPUTES_VIEW):
        return Mediator.objects.none()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p) | Q(path__in=scope.ancestors(p))
    return with_load(Mediator.objects.filter(q).select_related("room", "division")).order_by("path", "name")
