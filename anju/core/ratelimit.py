"""Fixed-window rate limiting for public, unauthenticated forms."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from anju.core.models import RateLimit


@transaction.atomic
def allow(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on `key`; False once `limit` hits fall in the current window."""
    now = timezone.now()
    row, _ = RateLimit.objects.select_for_update().get_or_create(key=key, defaults={"window_start": now})
    if now - row.window_start >= timedelta(seconds=window_seconds):
        row.window_start, row.hits = now, 0
    row.hits += 1
    row.save(update_fields=["window_start", "hits"])
    return row.hits <= limit
