"""Audit rows for sign-in, sign-out and failed sign-in."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from anju.core import audit


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit.record("login", user=user, obj=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record("logout", user=user, obj=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    note = getattr(request, "_anju_login_note", "")
    audit.record(
        "login_failed",
        username=str(credentials.get("username", ""))[:150],
        result="locked" if note == "locked" else "failed",
    )
