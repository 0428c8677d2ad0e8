"""Further notification senders get every new inbox message; a failing one does not lose it."""

from anju.core.models import Notification
from anju.core.notify import notify

SENT = []


def record_sender(message):
    SENT.append((message.user.username, message.subject))


def broken_sender(message):
    raise RuntimeError("gateway down")


def test_senders_get_each_message_and_failures_keep_the_inbox(make_user, settings, django_capture_on_commit_callbacks):
    settings.ANJU_NOTIFICATION_SENDERS = [
        "tests.test_notify_senders.broken_sender",
        "tests.test_notify_senders.record_sender",
    ]
    user = make_user()
    SENT.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, "案件已派遣")
    assert SENT == [(user.username, "案件已派遣")]
    assert Notification.objects.filter(user=user, subject="案件已派遣").count() == 1
