"""The timeline every tracked record keeps (cases, disputes): who did what, when, from which state to which.

`TimelineEvent` is the shape of one step; each app's event model adds the key of what it belongs to.
`record` writes the event and its audit row together, so no step is on one and missing from the other.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from anju.core import audit


class TimelineEvent(models.Model):
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "system" for the sweeper, "public" for a resident's link, a client's name for a machine.
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


def actor_name(actor, fallback: str = "system") -> str:
    return actor.username if actor is not None else fallback


def record(
    model,
    owner: str,
    obj,
    actor,
    action: str,
    from_state: str,
    *,
    prefix: str,
    number: str,
    note: str = "",
    data=None,
    by: str = "",
    now=None,
):
    """Write one `model` event for `obj` (its key field named `owner`) and the audit row `prefix.action`."""
    username = actor_name(actor, by or "system")
    event = model.objects.create(
        **{owner: obj},
        at=now or timezone.now(),
        actor=actor,
        username=username,
        action=action,
        from_state=from_state,
        to_state=obj.state,
        note=note,
        data=data or {},
    )
    audit.record(
        f"{prefix}.{action}",
        user=actor,
        username=username,
        obj=obj,
        object_id=number,
        detail={"from": from_state, "to": obj.state, **({"data": data} if data else {})},
    )
    return event


def row(event: TimelineEvent, label: str, states: dict, detail: str = "", names: dict | None = None, **extra) -> dict:
    """One line of a record's timeline page: the event, what it was, who, the state change, details.

    `names` reads the event's username when no account is linked ("system", "public"...).
    `extra` carries what one kind of record adds (a case's photo links).
    """
    if event.actor is not None:
        actor = str(event.actor)
    else:
        actor = (names or {}).get(event.username, event.username)
    moved = None
    if event.from_state not in ("", event.to_state):
        moved = (states.get(event.from_state), states.get(event.to_state))
    return {"event": event, "label": label, "actor": actor, "moved": moved, "detail": detail, **extra}
