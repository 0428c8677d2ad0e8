"""Every write to accounts, roles and tokens. Each checks the actor, runs in one transaction and
appends its audit row. `actor=None` is the operator at the command line (demo, imports)."""

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.auth import clear_failures, hash_token
from anju.core.errors import ActionError, Conflict
from anju.core.models import ApiToken, Assignment, User
from anju.core.roles import ADMIN_TRIO, Perm, Role


def _require(actor, perm: str) -> None:
    if actor is not None and not scope.has_perm(actor, perm):
        raise PermissionDenied


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ActionError(" ".join(exc.messages)) from exc


@transaction.atomic
def create_user(actor, *, username: str, password: str, full_name: str = "", phone: str = "") -> User:
    """Open an account (system admin)."""
    _require(actor, Perm.ACCOUNTS_MANAGE)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("The username %(u)s is taken.") % {"u": username})
    user = User(username=username, full_name=full_name, phone=phone)
    _check_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save()
    audit.record("user.create", user=actor, username="cli", obj=user, detail={"full_name": full_name})
    return user


@transaction.atomic
def set_password(actor, user: User, password: str) -> None:
    """Set a password: one's own, or another's as system admin."""
    if actor is not None and actor.pk != user.pk:
        _require(actor, Perm.ACCOUNTS_MANAGE)
    _check_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    audit.record("user.set_password", user=actor, username="cli", obj=user)


@transaction.atomic
def set_active(actor, user: User, active: bool) -> None:
    """Disable or re-enable an account (system admin); disabling also revokes its tokens."""
    _require(actor, Perm.ACCOUNTS_MANAGE)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record("user.enable" if active else "user.disable", user=actor, username="cli", obj=user)


@transaction.atomic
def assign_role(actor, user: User, role: str, node_code: str) -> Assignment:
    """Grant `role` on a division or grid (security admin). Keeps the three administrators apart."""
    _require(actor, Perm.ROLES_ASSIGN)
    if role not in Role.values:
        raise ActionError(_("Unknown role: %(r)s") % {"r": role})
    if actor is not None and actor.pk == user.pk:
        raise ActionError(_("Nobody may grant roles to themselves."))
    node = scope.node_lookup(node_code)
    if node is None:
        raise ActionError(_("No division or grid has the code %(c)s.") % {"c": node_code})
    held = set(user.assignments.values_list("role", flat=True))
    if held and (role in ADMIN_TRIO or held & ADMIN_TRIO) and held != {role}:
        raise ActionError(_("System, security and audit administration are held alone, never with another role."))
    assignment, created = Assignment.objects.get_or_create(
        user=user, role=role, node_code=node.code, defaults={"node_name": node.name, "path": node.path}
    )
    if created:
        audit.record("role.assign", user=actor, username="cli", obj=user, detail={"role": role, "node": node.code})
    return assignment


@transaction.atomic
def revoke_role(actor, assignment: Assignment) -> None:
    """Take a role away (security admin)."""
    _require(actor, Perm.ROLES_ASSIGN)
    detail = {"role": assignment.role, "node": assignment.node_code}
    user = assignment.user
    assignment.delete()
    audit.record("role.revoke", user=actor, username="cli", obj=user, detail=detail)


@transaction.atomic
def unlock(actor, username: str) -> None:
    """Lift a login lock before its 15 minutes are up (security admin)."""
    _require(actor, Perm.ROLES_ASSIGN)
    clear_failures(username)
    audit.record("user.unlock", user=actor, username="cli", object_type="core.user", object_id=username)


@transaction.atomic
def issue_token(user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Create a personal API token for `user`; the secret is returned once and never stored."""
    secret = "anju_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:64],
        prefix=secret[5:13],
        key_hash=hash_token(secret),
        expires_at=timezone.now() + timedelta(days=days or settings.ANJU_TOKEN_DAYS),
    )
    audit.record("token.issue", user=user, obj=token, detail={"name": token.name, "prefix": token.prefix})
    return token, secret


@transaction.atomic
def revoke_token(actor, token: ApiToken) -> None:
    """Revoke a token: one's own, or anyone's as security admin."""
    if actor is not None and actor.pk != token.user_id:
        _require(actor, Perm.ROLES_ASSIGN)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("token.revoke", user=actor, username="cli", obj=token, detail={"prefix": token.prefix})


@dataclass(frozen=True)
class FieldAccount:
    """An account to open for a field worker, with the one role it holds on a grid or division."""

    username: str
    full_name: str
    phone: str
    role: str
    node_code: str


FIELD_ROLES = (Role.GRID_WORKER, Role.AUXILIARY, Role.OFFICER)


@transaction.atomic
def open_field_accounts(actor, accounts: list[FieldAccount]) -> list[User]:
    """Open the accounts of migrated or generated field staff, each with its role, without passwords.

    Command line only (actor None): opening accounts and granting roles belong to two different
    administrators (三员分立), so no signed-in user may do both at once. The accounts get unusable
    passwords: the security administrator sets one when the person starts work. Audited like single
    openings: one "user.create" and one "role.assign" row per account.
    """
    if actor is not None:
        raise PermissionDenied
    nodes = {}
    for account in accounts:
        if account.role not in FIELD_ROLES:
            raise ActionError(_("Unknown role: %(r)s") % {"r": account.role})
        node = nodes.get(account.node_code) or scope.node_lookup(account.node_code)
        if node is None:
            raise ActionError(_("No division or grid has the code %(c)s.") % {"c": account.node_code})
        nodes[account.node_code] = node
    taken = Counter(a.username.lower() for a in accounts)
    taken.update(
        name.lower()
        for name in User.objects.filter(username__in=[a.username for a in accounts]).values_list("username", flat=True)
    )
    duplicates = sorted(name for name, n in taken.items() if n > 1)
    if duplicates:
        raise ActionError(_("The username %(u)s is taken.") % {"u": duplicates[0]})
    users = []
    for account in accounts:
        user = User(username=account.username, full_name=account.full_name, phone=account.phone)
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=2000)
    Assignment.objects.bulk_create(
        (
            Assignment(
                user=user,
                role=account.role,
                node_code=account.node_code,
                node_name=nodes[account.node_code].name,
                path=nodes[account.node_code].path,
            )
            for user, account in zip(users, accounts, strict=True)
        ),
        batch_size=2000,
    )
    for user, account in zip(users, accounts, strict=True):
        audit.record("user.create", username="cli", obj=user, detail={"full_name": account.full_name, "bulk": True})
        audit.record("role.assign", username="cli", obj=user, detail={"role": account.role, "node": account.node_code})
    return users
