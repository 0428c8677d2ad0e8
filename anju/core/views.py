"""Pages for signing in, one's own password and tokens, and the audit log."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.core import actions, audit, notify, scope
from anju.core.auth import is_locked
from anju.core.errors import ActionError
from anju.core.forms import RoleForm, UserCreateForm
from anju.core.models import ApiToken, AuditEvent, User
from anju.core.passwords import generate_password
from anju.core.roles import Perm


class LoginForm(AuthenticationForm):
    # One message for a wrong password, an unknown user and a locked account alike.
    error_messages = {
        "invalid_login": gettext_lazy(
            "Wrong username or password, or the account is locked for a while after repeated failures."
        ),
        "inactive": gettext_lazy(
            "Wrong username or password, or the account is locked for a while after repeated failures."
        ),
    }


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        # Through the action, so the change is audited and dated for password ageing.
        actions.set_password(self.request.user, self.request.user, form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, self.request.user)
        messages.success(self.request, _("Your password was changed."))
        return redirect(self.success_url)


NEW_TOKEN_COOKIE = "anju_new_token"


@login_required
def tokens(request):
    """List, create and revoke one's own API tokens.

    A new secret reaches the page after a redirect (so a reload issues nothing) in a signed cookie
    that lives a minute and is deleted once shown: it never rests in the database, sessions included.
    """
    if request.method == "POST":
        name = request.POST.get("name", "").strip() or "api"
        _token, secret = actions.issue_token(request.user, name)
        response = redirect("tokens")
        response.set_signed_cookie(
            NEW_TOKEN_COOKIE,
            secret,
            salt=str(request.user.pk),
            max_age=60,
            path=request.path,
            httponly=True,
            secure=request.is_secure(),
            samesite="Strict",
        )
        return response
    secret = request.get_signed_cookie(NEW_TOKEN_COOKIE, default=None, salt=str(request.user.pk), max_age=60)
    rows = ApiToken.objects.filter(user=request.user)
    response = render(request, "core/tokens.html", {"tokens": rows, "secret": secret})
    if secret:
        response.delete_cookie(NEW_TOKEN_COOKIE, path=request.path)
        response.headers["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    actions.revoke_token(request.user, token)
    messages.success(request, _("Token %(p)s… was revoked.") % {"p": token.prefix})
    return redirect("tokens")


@login_required
def audit_log(request):
    """The audit log with filters and a chain check (auditors only; their reading is audited too)."""
    if not scope.has_perm(request.user, Perm.AUDIT_VIEW):
        raise PermissionDenied
    rows = AuditEvent.objects.order_by("-id")
    action = request.GET.get("action", "").strip()
    username = request.GET.get("username", "").strip()
    if action:
        rows = rows.filter(action=action)
    if username:
        rows = rows.filter(username=username)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    result = None
    if request.GET.get("verify"):
        result = audit.verify()
        audit.record(
            "audit.verify",
            user=request.user,
            result="ok" if result.ok else "broken",
            detail={"checked": result.checked, "problem": result.problem},
        )
    else:
        audit.record(
            "audit.view", user=request.user, detail={"action": action, "username": username, "page": page.number}
        )
    actions_known = AuditEvent.objects.order_by().values_list("action", flat=True).distinct()
    return render(
        request,
        "core/audit.html",
        {
            "page": page,
            "result": result,
            "action": action,
            "username": username,
            "actions_known": [(a, audit.action_label(a)) for a in sorted(actions_known)],
        },
    )


def _require_any(user, *perms) -> None:
    if not any(scope.has_perm(user, p) for p in perms):
        raise PermissionDenied


@login_required
def users(request):
    """Accounts: the system admin opens and disables them; the security admin grants roles."""
    _require_any(request.user, Perm.ACCOUNTS_MANAGE, Perm.ROLES_ASSIGN)
    created = None
    form = UserCreateForm(request.POST or None)
    if request.method == "POST":
        _require_any(request.user, Perm.ACCOUNTS_MANAGE)
        if form.is_valid():
            password = generate_password()
            try:
                created = actions.create_user(request.user, password=password, **form.cleaned_data)
            except ActionError as exc:
                form.add_error(None, str(exc))
            else:
                created.initial_password = password
                form = UserCreateForm()
    q = request.GET.get("q", "").strip()
    rows = User.objects.prefetch_related("assignments").order_by("username")
    if q:
        rows = rows.filter(username__icontains=q) | rows.filter(full_name__icontains=q)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "core/users.html", {"page": page, "form": form, "created": created, "q": q})


@login_required
def user_detail(request, user_id: int):
    """One account: enable/disable and password reset (system admin); roles and unlock (security admin)."""
    _require_any(request.user, Perm.ACCOUNTS_MANAGE, Perm.ROLES_ASSIGN)
    account = get_object_or_404(User, pk=user_id)
    role_form = RoleForm(request.POST if request.POST.get("op") == "assign" else None)
    new_password = None
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "assign" and role_form.is_valid():
                actions.assign_role(
                    request.user, account, role_form.cleaned_data["role"], role_form.cleaned_data["node"]
                )
                messages.success(request, _("Role granted."))
                return redirect("user_detail", user_id=account.pk)
            if op == "revoke":
                assignment = get_object_or_404(account.assignments, pk=request.POST.get("assignment"))
                actions.revoke_role(request.user, assignment)
                messages.success(request, _("Role taken away."))
                return redirect("user_detail", user_id=account.pk)
            if op == "unlock":
                actions.unlock(request.user, account.username)
                messages.success(request, _("The account is unlocked."))
                return redirect("user_detail", user_id=account.pk)
            if op in ("disable", "enable"):
                actions.set_active(request.user, account, op == "enable")
                messages.success(request, _("Saved."))
                return redirect("user_detail", user_id=account.pk)
            if op == "reset":
                new_password = generate_password()
                actions.set_password(request.user, account, new_password)
        except ActionError as exc:
            role_form.add_error(None, str(exc))
    return render(
        request,
        "core/user_detail.html",
        {
            "account": account,
            "role_form": role_form,
            "new_password": new_password,
            "locked": is_locked(account.username),
            "assignments": account.assignments.all(),
        },
    )


@login_required
def inbox(request):
    """The user's messages, newest first; POST marks them all read (or opens one and marks it)."""
    if request.method == "POST":
        opened = request.POST.get("open", "")
        pick = notify.mark_read(request.user, int(opened) if opened.isdigit() else None)
        if pick is not None and pick.link.startswith("/"):
            return redirect(pick.link)
        return redirect("inbox")
    return render(request, "core/inbox.html", {"messages_list": request.user.notifications.all()[:200]})
