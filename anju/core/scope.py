"""Who may see what: role assignments give scope paths; `restrict(user)` filters on them.

Every division and grid has a `path` of codes ("37/3702/370203/370203005/"). A working role held
on a node sees that node and everything below it. Models holding personal or case data keep a copy
of their grid's (or division's) path and use `ScopedQuerySet`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from anju.core.roles import PERMISSIONS, SCOPED_ROLES


@dataclass(frozen=True)
class Node:
    """A place in the division tree a role can be held on."""

    code: str
    name: str
    path: str
    level: str


# Set by the geo app at start-up, so that core does not import the app above it.
node_lookup: Callable[[str], Node | None] = lambda code: None  # noqa: E731


def assignments(user) -> list:
    """The user's assignments, read once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_anju_assignments", None)
    if cached is None:
        cached = list(user.assignments.all())
        user._anju_assignments = cached
    return cached


def has_perm(user, perm: str, path: str | None = None) -> bool:
    """Does any of the user's roles grant `perm` (on a node covering `path`, when given)?"""
    return any(
        perm in PERMISSIONS.get(a.role, ()) and (path is None or path.startswith(a.path)) for a in assignments(user)
    )


def scope_paths(user) -> list[str]:
    """The shortest set of paths the user's working roles cover."""
    paths = sorted({a.path for a in assignments(user) if a.role in SCOPED_ROLES})
    kept: list[str] = []
    for p in paths:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def ancestors(path: str) -> list[str]:
    """Paths of the nodes above `path` ("37/3702/370203/" -> ["37/", "37/3702/"])."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def in_scope(user, path: str) -> bool:
    """Is a row with this path inside the user's scope?"""
    return any(path.startswith(p) for p in scope_paths(user))


class ScopedQuerySet(models.QuerySet):
    """A queryset that can be cut down to what a user may read."""

    def restrict(self, user):
        """Rows whose scope path lies under one of the user's scope paths; none for no scope."""
        field = getattr(self.model, "scope_field", "path")
        paths = scope_paths(user)
        if not paths:
            return self.none()
        q = Q()
        for p in paths:
            q |= Q(**{f"{field}__startswith": p})
        return self.filter(q)
