"""Every read of cases, cut to the reader: cases in scope, those of the units they work in, their own reports.

Reporters' names and phones are masked unless the reader works the case at its desk (DESIGN rule 4).
"""

from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from anju.cases.actions import lifecycle
from anju.cases.models import (
    OPEN_STATES,
    STAGE_OF,
    Case,
    Category,
    Summons,
    SummonsState,
    Supervision,
    Unit,
    UnitMember,
)
from anju.core import masking, scope
from anju.core.roles import Perm
from anju.geo import queries as geo_queries

RELATED = ("category", "unit", "grid", "community", "street", "district", "assignee")


def cases(user):
    """Cases the user may read: in their scope, with a unit they belong to, or reported by them."""
    if user is None or not user.is_authenticated:
        return Case.objects.none()
    q = Q(reporter=user)
    unit_ids = my_units(user)
    if unit_ids:
        # An id list, not a subquery: PostgreSQL can then combine every arm of the OR with indexes.
        summoned = list(Summons.objects.filter(unit_id__in=unit_ids).values_list("case_id", flat=True))
        q |= Q(unit_id__in=unit_ids) | Q(pk__in=summoned)
    if scope.has_perm(user, Perm.CASES_VIEW):
        for p in scope.scope_paths(user):
            q |= Q(path__startswith=p)
    return Case.objects.filter(q).select_related(*RELATED)


def my_units(user) -> list[int]:
    """Ids of the units the user works in, read once per user object."""
    cached = getattr(user, "_anju_units", None)
    if cached is None:
        cached = list(UnitMember.objects.filter(user=user).values_list("unit_id", flat=True))
        user._anju_units = cached
    return cached


def get_case(user, number: str) -> Case:
    """One case the user may read, or 404."""
    case = cases(user).filter(number=number).first()
    if case is None:
        raise Http404
    return case


def filtered(
    user,
    state: str = "",
    overdue: bool | None = None,
    grid: str = "",
    unit: str = "",
    under: str = "",
    category: str = "",
    supervision: str = "",
    mine: bool = False,
):
    """The cases list with its filters; `under` is a division or grid code in scope (404 otherwise)."""
    qs = cases(user)
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    if overdue is not None:
        late = Q(state__in=list(STAGE_OF), due_at__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if grid:
        qs = qs.filter(path__startswith=geo_queries.get_grid(user, grid).path)
    if under:
        node = geo_queries.get_grid(user, under) if len(under) == 15 else geo_queries.get_division(user, under)
        qs = qs.filter(path__startswith=node.path)
    if unit:
        qs = qs.filter(unit__code=unit)
    if category:
        qs = qs.filter(Q(category__code=category) | Q(category__parent__code=category))
    if supervision:
        qs = qs.filter(supervision=supervision)
    if mine:
        qs = qs.filter(Q(assignee=user) | Q(assignee=None, unit_id__in=my_units(user)))
    return qs


def supervision_board(user):
    """Open cases with a yellow or red card in the user's reach, red first, the most overdue first."""
    return (
        cases(user)
        .filter(state__in=list(STAGE_OF), supervision__in=[Supervision.YELLOW, Supervision.RED])
        .annotate(card_order=models.Case(models.When(supervision=Supervision.RED, then=0), default=1))
        .order_by("card_order", "due_at")
    )


def summonses(user, case: Case):
    return list(Summons.objects.filter(case=case).select_related("unit", "reported_in_by"))


def open_summonses_for(user):
    """Summonses waiting for the units the user works in."""
    return (
        Summons.objects.filter(unit_id__in=my_units(user))
        .exclude(state=SummonsState.DONE)
        .select_related("case", "unit")
    )


def works_desk(user, case: Case) -> bool:
    return lifecycle.is_desk(user, case)


def reporter_fields(user, case: Case) -> dict:
    """The reporter's contact: in full for the case's desk and its unit, masked for everyone else."""
    signed_in = user is not None and user.is_authenticated
    full = signed_in and (
        works_desk(user, case) or lifecycle.is_unit_member(user, case.unit) or case.reporter_id == user.pk
    )
    name, phone = case.reporter_name, case.reporter_phone
    return {
        "reporter_name": name if full else masking.mask_name(name),
        "reporter_phone": phone if full else masking.mask_phone(phone),
    }


def category_tree(include_inactive: bool = False) -> list[dict]:
    """[{code, name, children: [...]}], in display order."""
    rows = Category.objects.all() if include_inactive else Category.objects.filter(active=True)
    rows = list(rows.order_by("order", "code"))
    by_parent: dict = {}
    for c in rows:
        by_parent.setdefault(c.parent_id, []).append(c)

    def node(c):
        return {"code": c.code, "name": c.name, "children": [node(k) for k in by_parent.get(c.pk, [])]}

    return [node(c) for c in by_parent.get(None, [])]


def leaf_categories():
    """Categories a case can be filed under (no active children), for forms and Open311 services."""
    return (
        Category.objects.filter(active=True)
        .exclude(children__active=True)
        .select_related("parent")
        .order_by("parent__order", "order", "code")
    )


def units(user):
    """Units in the user's scope, and the departments of the districts above it (cases go to them)."""
    paths = scope.scope_paths(user)
    if not paths:
        return Unit.objects.none()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p) | Q(kind="department", path__in=scope.ancestors(p) + [p])
    return Unit.objects.filter(q, active=True)


def timeline(case: Case):
    """The case's events in order, with their photos."""
    return case.events.select_related("actor").prefetch_related("photos")
