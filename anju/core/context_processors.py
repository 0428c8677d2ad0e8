"""Template context: the signed-in user's roles and powers, for the navigation."""

from django.conf import settings

from anju.core.roles import PERMISSIONS
from anju.core.scope import assignments


def roles(request):
    user = getattr(request, "user", None)
    held = assignments(user) if user is not None else []
    perms = set().union(*(PERMISSIONS.get(a.role, frozenset()) for a in held)) if held else set()
    unread = (
        user.notifications.filter(read_at__isnull=True).count() if user is not None and user.is_authenticated else 0
    )
    return {"my_assignments": held, "my_perms": perms, "tiles": settings.ANJU_MAP_TILES, "unread": unread}
