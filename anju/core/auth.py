"""Sign-in with lockout, and API token authentication.

Five failures in a row lock a username for 15 minutes. The throttle is kept per typed username,
known or not, and the answer is the same in every case, so a caller learns nothing about accounts.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.utils import timezone

from anju.core.models import ApiToken, LoginThrottle


def _key(username: str | None) -> str:
    return (username or "").strip().lower()[:150]


def is_locked(username: str | None) -> bool:
    """Is this username locked out now?"""
    row = LoginThrottle.objects.filter(username=_key(username)).first()
    return bool(row and row.locked_until and row.locked_until > timezone.now())


def note_failure(username: str | None) -> bool:
    """Count a failed attempt; lock at the limit. Returns True when the username is now locked."""
    key = _key(username)
    row, _ = LoginThrottle.objects.get_or_create(username=key)
    LoginThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
    row.refresh_from_db()
    if row.failures >= settings.ANJU_LOGIN_MAX_FAILURES:
        row.locked_until = timezone.now() + timedelta(seconds=settings.ANJU_LOGIN_LOCK_SECONDS)
        row.failures = 0
        row.save(update_fields=["locked_until", "failures"])
        return True
    return False


def clear_failures(username: str | None) -> None:
    """Forget failures after a successful sign-in or an unlock."""
    LoginThrottle.objects.filter(username=_key(username)).delete()


class ThrottledModelBackend(ModelBackend):
    """Django's backend, refusing locked usernames and counting failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if is_locked(username):
            # Spend the same time as a real check so a locked account is not told apart.
            make_password(password)
            request_note(request, "locked")
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            if note_failure(username):
                request_note(request, "locked")
            return None
        clear_failures(username)
        return user


def request_note(request, note: str) -> None:
    """Leave a note on the request for the audit row of this attempt."""
    if request is not None:
        request._anju_login_note = note


def hash_token(secret: str) -> str:
    """Tokens are stored as SHA-256: they are long random strings, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def user_for_token(secret: str):
    """The active user a bearer token belongs to, or None (unknown, revoked or expired)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    # Write the last-use time at most once a minute per token, not on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
