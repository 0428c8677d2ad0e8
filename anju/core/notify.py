"""The one way to tell a user something: an in-app inbox message, then any further senders.

Further senders (SMS, e-mail, a messaging gateway) are functions named in the setting
`ANJU_NOTIFICATION_SENDERS` (dotted paths); each gets the written `Notification` and its user. A
sender that fails is logged and skipped: the inbox message stays, whatever the gateway does.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from anju.core.models import Notification

log = logging.getLogger(__name__)


def notify(user, subject: str, body: str = "", link: str = "", key: str = "") -> None:
    """Queue a message for `user`, written when the surrounding transaction commits.

    With a `key`, an unread message with the same key is refreshed instead of repeated.
    """
    if user is None:
        return

    def send():
        if key:
            updated = Notification.objects.filter(user=user, key=key, read_at__isnull=True).update(
                subject=subject, body=body, link=link
            )
            if updated:
                return
        message = Notification.objects.create(user=user, subject=subject, body=body, link=link, key=key)
        for path in getattr(settings, "ANJU_NOTIFICATION_SENDERS", ()):
            try:
                import_string(path)(message)
            except Exception:  # a gateway's failure must not undo or block the inbox message
                log.exception("notification sender %s failed", path)

    transaction.on_commit(send)


def mark_read(user, notification_id: int | None = None) -> Notification | None:
    """Mark one of the user's messages read (all of them when no id is given); returns that message."""
    own = Notification.objects.filter(user=user)
    pick = own.filter(pk=notification_id).first() if notification_id else None
    (own.filter(pk=pick.pk) if pick else own).filter(read_at__isnull=True).update(read_at=timezone.now())
    return pick
