"""API of accounts, tokens and the audit log."""

from datetime import datetime

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from anju.core import actions, audit, scope
from anju.core.models import ApiToken, AuditEvent
from anju.core.roles import Perm

router = Router(tags=["accounts and audit"])


class Credentials(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=200)
    name: str = Field("api", max_length=64, description="A label for the token")


class TokenOut(Schema):
    token: str
    expires_at: datetime


class Detail(Schema):
    detail: str


@router.post("/auth/token", auth=None, response={200: TokenOut, 401: Detail})
def create_token(request, body: Credentials):
    """Exchange a username and password for a personal API token (shown once)."""
    user = authenticate(request, username=body.username, password=body.password)
    if user is None:
        return Status(401, {"detail": "Wrong username or password, or the account is locked for now."})
    token, secret = actions.issue_token(user, body.name)
    return {"token": secret, "expires_at": token.expires_at}


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.get("/tokens", response=list[TokenInfo])
def list_tokens(request):
    """The caller's own tokens (never their secrets)."""
    return ApiToken.objects.filter(user=request.user)


@router.delete("/tokens/{token_id}", response={204: None})
def revoke_token(request, token_id: int):
    """Revoke one of the caller's tokens."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    actions.revoke_token(request.user, token)
    return Status(204, None)


class RoleOut(Schema):
    role: str
    scope: str
    scope_name: str


class MeOut(Schema):
    username: str
    full_name: str
    roles: list[RoleOut]


@router.get("/me", response=MeOut)
def me(request):
    """Who the caller is and the roles they hold, each with its node."""
    user = request.user
    return {
        "username": user.username,
        "full_name": user.full_name,
        "roles": [{"role": a.role, "scope": a.node_code, "scope_name": a.node_name} for a in scope.assignments(user)],
    }


class AuditOut(Schema):
    id: int
    at: datetime
    username: str
    role: str
    scope: str
    action: str
    object_type: str
    object_id: str
    result: str
    ip: str
    purpose: str
    detail: str
    hash: str


class AuditPage(Schema):
    count: int
    items: list[AuditOut]


class AuditFilter(Schema):
    action: str | None = None
    username: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


@router.get("/audit", response=AuditPage)
def audit_log(request, filters: Query[AuditFilter]):
    """The audit log, newest first (auditors only)."""
    if not scope.has_perm(request.user, Perm.AUDIT_VIEW):
        raise PermissionDenied
    rows = AuditEvent.objects.order_by("-id")
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.username:
        rows = rows.filter(username=filters.username)
    if filters.since:
        rows = rows.filter(at__gte=filters.since)
    if filters.until:
        rows = rows.filter(at__lt=filters.until)
    return {"count": rows.count(), "items": list(rows[filters.offset : filters.offset + filters.limit])}


class VerifyOut(Schema):
    ok: bool
    checked: int
    problem: str
    bad_id: int | None


@router.get("/audit/verify", response=VerifyOut)
def audit_verify(request):
    """Check the whole chain (auditors only)."""
    if not scope.has_perm(request.user, Perm.AUDIT_VIEW):
        raise PermissionDenied
    return audit.verify().__dict__
