"""Accounts, role assignments, API tokens, login throttling and the chained audit log."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from anju.core.roles import Role


class User(AbstractUser):
    """A person who signs in. Chinese names are one field; first/last name stay unused."""

    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)

    def __str__(self):
        return self.full_name or self.username


class Assignment(models.Model):
    """A role held on a node of the division tree (a division or a grid): (user, role, node)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    node_code = models.CharField(_("node code"), max_length=15)
    node_name = models.CharField(_("node name"), max_length=100)
    # Copy of the node's path: scoping filters on it without a join.
    path = models.CharField(max_length=120, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "node_code"], name="assignment_unique"),
        ]
        ordering = ["user_id", "role", "node_code"]

    def __str__(self):
        return f"{self.get_role_display()}@{self.node_name}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class LoginThrottle(models.Model):
    """Consecutive failed logins per typed username, known or not, so both get the same answer."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.username


class AuditEvent(models.Model):
    """One append-only audit row. `hash` covers every field and the previous row's hash.

    Ids are given by the writer, dense from 1, so a removed row shows as a gap; database
    triggers refuse UPDATE and DELETE.
    """

    id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    user_id_ref = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    role = models.CharField(max_length=400, blank=True)
    scope = models.CharField(max_length=400, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    result = models.CharField(max_length=16, default="ok")
    ip = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=400, blank=True)
    detail = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.id} {self.action} {self.username}"


class AuditHead(models.Model):
    """The single row that names the newest audit event: it serialises appends and shows a cut tail."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit head #{self.last_id}"


class Notification(models.Model):
    """One message in a user's in-app inbox. Every module notifies through `anju.core.notify`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    at = models.DateTimeField(auto_now_add=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # Same key, same unread message: a repeated reminder does not pile up.
    key = models.CharField(max_length=120, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.subject


class RateLimit(models.Model):
    """Hits per key in the current fixed window (public forms). In the database, so that every
    server process counts the same hits."""

    key = models.CharField(max_length=150, unique=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.key


class PeriodicRun(models.Model):
    """When a periodic task was last queued, so several workers and restarts queue it once per interval."""

    name = models.CharField(max_length=100, primary_key=True)
    last_queued_at = models.DateTimeField()

    def __str__(self):
        return self.name


class CalendarDay(models.Model):
    """An exception to the working week: a public holiday on a weekday, or a weekend day worked in
    exchange (调休). Every other Monday to Friday is a working day."""

    date = models.DateField(_("date"), primary_key=True)
    working = models.BooleanField(_("working day"), default=False)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"
