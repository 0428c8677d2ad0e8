"""Deadlines and supervision cards shared by every tracked record (cases, disputes).

A tracked record keeps the end of its current period (`due_at`), its 80 % mark (`warn_at`) and its
card (`supervision`: none, yellow, red). Cards are given with a conditional update, so several
workers, or a re-run with the same clock, give each card once. Each app registers its sweep here;
`anju sla sweep` and the worker run them all.
"""

from collections.abc import Callable

from django.db import models

SWEEPS: dict[str, Callable] = {}


def register_sweep(name: str):
    """Decorator: `fn(now) -> dict of counts` joins the supervision pass under `name`."""

    def add(fn):
        SWEEPS[name] = fn
        return fn

    return add


def sweep_all(now) -> dict[str, dict]:
    """Every registered sweep at `now`: name -> what it did."""
    return {name: fn(now) for name, fn in SWEEPS.items()}


def claim_card(model: type[models.Model], obj, colour: str) -> bool:
    """Give `obj` the card `colour` unless another pass did, or its deadline moved meanwhile."""
    if not model.objects.filter(pk=obj.pk, due_at=obj.due_at).exclude(supervision=colour).update(supervision=colour):
        return False
    obj.supervision = colour
    return True
