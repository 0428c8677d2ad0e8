"""Accounts: password hashing and rules, lockout, sessions, API tokens, role rules, /me, language."""

import hashlib
import importlib
import itertools
import re
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from anju.core import actions as core_actions
from anju.core.errors import ActionError
from anju.core.models import ApiToken, AuditEvent, LoginThrottle, User
from anju.core.passwords import CharacterClassValidator, generate_password
from anju.core.roles import ADMIN_TRIO, PERMISSIONS, SCOPED_ROLES, Role
from tests.conftest import OWN_GRID, PASSWORD, login, token_client

WRONG = "Wrong-pass-2024!"

# --- passwords -----------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(db, make_user):
    user = make_user(None)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD) and not user.check_password(WRONG)


@pytest.mark.parametrize("password", ["alllowercase123", "ALLUPPERCASE123", "lowerUPPERonly", "lower-and-symbols"])
def test_character_classes_refuse_two_kinds(password):
    with pytest.raises(ValidationError) as caught:
        CharacterClassValidator(min_classes=3).validate(password)
    assert caught.value.error_list[0].code == "password_too_simple"


@pytest.mark.parametrize("password", ["Lowercase123", "lower-123-x", "UPPER_lower", "Test-pass-2024!"])
def test_character_classes_accept_three_kinds(password):
    CharacterClassValidator(min_classes=3).validate(password)


def test_generated_passwords_pass_the_rules():
    for _ in range(50):
        validate_password(generate_password())


def test_weak_password_is_refused_when_opening_an_account(db):
    with pytest.raises(ActionError):
        core_actions.create_user(None, username="weak", password="alllowercase123")
    with pytest.raises(ActionError):
        core_actions.create_user(None, username="short", password="Ab-1")
    assert not User.objects.filter(username__in=["weak", "short"]).exists()


@pytest.fixture
def production_settings(monkeypatch):
    monkeypatch.setenv("ANJU_SECRET_KEY", "x" * 50)
    monkeypatch.setenv("ANJU_ALLOWED_HOSTS", "anju.example")
    sys.modules.pop("anju.settings_production", None)
    yield importlib.import_module("anju.settings_production")
    sys.modules.pop("anju.settings_production", None)


def test_production_needs_ten_characters_from_three_classes(production_settings):
    validators = get_password_validators(production_settings.AUTH_PASSWORD_VALIDATORS)
    names = [type(v).__name__ for v in validators]
    assert "CharacterClassValidator" in names and "CommonPasswordValidator" in names
    assert [v.min_length for v in validators if type(v).__name__ == "MinimumLengthValidator"] == [10]
    with pytest.raises(ValidationError):
        validate_password("Ab-345678", password_validators=validators)  # 9 characters
    validate_password("Ab-3456789", password_validators=validators)
    with pytest.raises(ValidationError):
        validate_password("abcdefgh1234", password_validators=validators)  # two classes
    assert production_settings.ANJU_PASSWORD_MAX_AGE_DAYS == 90
    assert production_settings.SESSION_COOKIE_AGE == 1800
    # The development settings keep 8.
    assert [
        v.min_length
        for v in get_password_validators(settings.AUTH_PASSWORD_VALIDATORS)
        if type(v).__name__ == "MinimumLengthValidator"
    ] == [8]


# --- lockout -------------------------------------------------------------------------------------


def page_error(response) -> str:
    match = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', response.content.decode(), re.S)
    assert match, "no error shown"
    return match.group(1).strip()


def try_page(username: str, password: str):
    return Client().post("/login/", {"username": username, "password": password})


def try_api(username: str, password: str):
    return Client().post(
        "/api/v1/auth/token", {"username": username, "password": password}, content_type="application/json"
    )


def test_five_failures_lock_the_account(db, make_user):
    make_user(None, username="chen")
    for _ in range(5):
        assert try_page("chen", WRONG).status_code == 200
    response = try_page("chen", PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in response.client.session
    assert try_api("chen", PASSWORD).status_code == 401
    assert LoginThrottle.objects.get(username="chen").locked_until > timezone.now() + timedelta(minutes=14)


def test_lock_is_per_username_ignoring_case(db, make_user):
    make_user(None, username="chen")
    make_user(None, username="lin")
    for _ in range(5):
        try_page("CHEN", WRONG)
    assert try_page("chen", PASSWORD).status_code == 200
    assert try_page("lin", PASSWORD).status_code == 302


def test_locked_wrong_and_unknown_get_the_same_answer(db, make_user):
    make_user(None, username="locked")
    make_user(None, username="known")
    for _ in range(5):
        try_page("locked", WRONG)
    page_answers = {
        page_error(try_page(u, p)) for u, p in [("locked", PASSWORD), ("known", WRONG), ("nobody-here", WRONG)]
    }
    assert len(page_answers) == 1
    api_answers = [try_api(u, p) for u, p in [("locked", PASSWORD), ("known", WRONG), ("nobody-here2", WRONG)]]
    assert {r.status_code for r in api_answers} == {401}
    assert len({r.content for r in api_answers}) == 1
    assert "locked" in api_answers[0].json()["detail"]


def test_unknown_usernames_are_locked_too(db):
    for _ in range(5):
        try_page("ghost", WRONG)
    throttle = LoginThrottle.objects.get(username="ghost")
    assert throttle.locked_until is not None and throttle.locked_until > timezone.now()
    try_page("ghost", WRONG)
    assert AuditEvent.objects.filter(action="login_failed", username="ghost").order_by("-id")[0].result == "locked"


def _shift_clock(monkeypatch, delta: timedelta) -> None:
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)


def test_lock_ends_after_fifteen_minutes(db, make_user, monkeypatch):
    make_user(None, username="sun")
    for _ in range(5):
        try_page("sun", WRONG)
    _shift_clock(monkeypatch, timedelta(minutes=14))
    assert try_page("sun", PASSWORD).status_code == 200
    monkeypatch.undo()
    _shift_clock(monkeypatch, timedelta(minutes=15, seconds=5))
    assert try_page("sun", PASSWORD).status_code == 302


def test_lock_ends_when_locked_until_passes(db, make_user):
    make_user(None, username="he")
    for _ in range(5):
        try_page("he", WRONG)
    assert try_page("he", PASSWORD).status_code == 200
    LoginThrottle.objects.filter(username="he").update(locked_until=timezone.now() - timedelta(seconds=1))
    assert try_page("he", PASSWORD).status_code == 302


def test_a_success_resets_the_count(db, make_user):
    make_user(None, username="guo")
    for _ in range(4):
        try_page("guo", WRONG)
    assert try_page("guo", PASSWORD).status_code == 302
    assert not LoginThrottle.objects.filter(username="guo").exists()
    for _ in range(4):
        try_page("guo", WRONG)
    assert try_page("guo", PASSWORD).status_code == 302


def test_security_admin_can_lift_a_lock(district, make_user):
    make_user(None, username="ma")
    for _ in range(5):
        try_page("ma", WRONG)
    with pytest.raises(PermissionDenied):
        core_actions.unlock(make_user("district_admin", "370203"), "ma")
    assert try_page("ma", PASSWORD).status_code == 200
    core_actions.unlock(make_user("security_admin", "370203"), "ma")
    assert try_page("ma", PASSWORD).status_code == 302


def test_a_disabled_account_cannot_sign_in(db, make_user):
    user = make_user(None, username="off")
    core_actions.set_active(None, user, False)
    response = try_page("off", PASSWORD)
    assert response.status_code == 200 and page_error(response) == page_error(try_page("off", WRONG))


# --- sessions ------------------------------------------------------------------------------------


def test_session_settings():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_idle_session_ends(district, make_user):
    client = login(make_user("officer", OWN_GRID[:12]))
    assert client.get("/").status_code == 200
    Session.objects.filter(pk=_session_row(client).pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_activity_keeps_the_session_for_thirty_more_minutes(district, make_user, monkeypatch):
    client = login(make_user("officer", OWN_GRID[:12]))
    _shift_clock(monkeypatch, timedelta(minutes=25))
    assert client.get("/").status_code == 200
    expires = _session_row(client).expire_date - timezone.now()
    assert timedelta(minutes=29) < expires <= timedelta(minutes=30)
    monkeypatch.undo()
    _shift_clock(monkeypatch, timedelta(minutes=25 + 29))
    assert client.get("/").status_code == 200  # 29 idle minutes: still in
    monkeypatch.undo()
    _shift_clock(monkeypatch, timedelta(minutes=25 + 29 + 31))
    response = client.get("/")  # 31 idle minutes: out
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- API tokens ----------------------------------------------------------------------------------


def test_tokens_are_stored_hashed(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(user)
    secret = auth["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()]
    assert not any(secret in v or secret[13:] in v for v in stored)
    assert not AuditEvent.objects.filter(detail__contains=secret[13:]).exists()
    assert client.get("/api/v1/me", **auth).status_code == 200
    listed = client.get("/api/v1/tokens", **auth).json()
    assert [t["prefix"] for t in listed] == [token.prefix] and secret not in str(listed)


def test_bearer_token_works_and_wrong_ones_do_not(district, make_user):
    client, auth = token_client(make_user("grid_worker", OWN_GRID))
    assert client.get(f"/api/v1/grids/{OWN_GRID}", **auth).status_code == 200
    good = auth["HTTP_AUTHORIZATION"]
    for header in ["Bearer anju_not-a-token", good + "x", "Token " + good.removeprefix("Bearer "), "Bearer "]:
        response = client.get(f"/api/v1/grids/{OWN_GRID}", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401 and response.json() == {"detail": "Unauthorized"}


def test_revoked_token_is_refused(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(user)
    token = ApiToken.objects.get(user=user)
    assert client.delete(f"/api/v1/tokens/{token.pk}", **auth).status_code == 204
    assert client.get("/api/v1/me", **auth).status_code == 401


def test_expired_token_is_refused(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(user)
    token = ApiToken.objects.get(user=user)
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", **auth).status_code == 401


def test_disabled_users_token_is_refused(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(user)
    # The flag alone is enough, even before the action revokes the tokens.
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/me", **auth).status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get("/api/v1/me", **auth).status_code == 200
    core_actions.set_active(None, user, False)
    assert ApiToken.objects.get(user=user).revoked_at is not None
    assert client.get("/api/v1/me", **auth).status_code == 401


def test_one_cannot_revoke_anothers_token(district, make_user):
    owner = make_user("grid_worker", OWN_GRID)
    token_client(owner)
    token = ApiToken.objects.get(user=owner)
    client, auth = token_client(make_user("grid_worker", OWN_GRID))
    assert client.delete(f"/api/v1/tokens/{token.pk}", **auth).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    with pytest.raises(PermissionDenied):
        core_actions.revoke_token(make_user("district_admin", "370203"), token)


def test_tokens_page_creates_and_revokes(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    page = login(user)
    assert page.get("/account/tokens/").status_code == 200
    assert not ApiToken.objects.filter(user=user).exists()
    response = page.post("/account/tokens/", {"name": "phone"}, follow=True)
    assert response.redirect_chain and response.redirect_chain[-1][0] == "/account/tokens/"
    html = response.content.decode()
    secret = re.search(r'<code id="new-token">([^<]+)</code>', html).group(1)
    token = ApiToken.objects.get(user=user)
    assert token.name == "phone" and secret.startswith("anju_") and secret[5:13] == token.prefix
    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").json()["username"] == user.username
    # Shown once (a reload does not show it again, nor issue another): the list shows the prefix only.
    html = page.get("/account/tokens/").content.decode()
    assert ApiToken.objects.filter(user=user).count() == 1
    assert secret not in html and token.prefix in html and 'id="new-token"' not in html
    response = page.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/tokens/"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_a_new_token_never_rests_in_the_database(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    page = login(user)
    page.post("/account/tokens/", {"name": "phone"})  # the browser has not followed the redirect yet
    token = ApiToken.objects.get(user=user)
    for session in Session.objects.all():
        assert not any(str(v).startswith(f"anju_{token.prefix}") for v in session.get_decoded().values())


def test_tokens_page_needs_a_session(db):
    response = Client().get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_tokens_page_cannot_revoke_anothers_token(district, make_user):
    owner = make_user("grid_worker", OWN_GRID)
    token_client(owner)
    token = ApiToken.objects.get(user=owner)
    page = login(make_user("grid_worker", OWN_GRID))
    assert page.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# --- roles ---------------------------------------------------------------------------------------

TRIO = sorted(ADMIN_TRIO)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(TRIO, 2)))
def test_two_administrator_roles_never_together(district, make_user, first, second):
    user = make_user(first, "370203")
    with pytest.raises(ActionError):
        core_actions.assign_role(None, user, second, "370203")
    assert list(user.assignments.values_list("role", flat=True)) == [first]


@pytest.mark.parametrize("admin", TRIO)
@pytest.mark.parametrize("working", [Role.DISTRICT_ADMIN, Role.GRID_WORKER, Role.VOLUNTEER])
def test_administrator_roles_never_with_working_roles(district, make_user, admin, working):
    node = OWN_GRID if working != Role.DISTRICT_ADMIN else "370203"
    user = make_user(admin, "370203")
    with pytest.raises(ActionError):
        core_actions.assign_role(None, user, working, node)
    other = make_user(working, node)
    with pytest.raises(ActionError):
        core_actions.assign_role(None, other, admin, "370203")
    assert list(user.assignments.values_list("role", flat=True)) == [admin]
    assert list(other.assignments.values_list("role", flat=True)) == [working]


def test_working_roles_combine(district, make_user):
    user = make_user("officer", OWN_GRID[:12])
    core_actions.assign_role(None, user, "mediator", OWN_GRID[:12])
    core_actions.assign_role(None, user, "grid_worker", OWN_GRID)
    assert user.assignments.count() == 3


def test_administrator_permission_sets_are_disjoint():
    working = set().union(*(PERMISSIONS[r] for r in SCOPED_ROLES))
    for a in TRIO:
        assert PERMISSIONS[a], a
        assert not PERMISSIONS[a] & working, a
        for b in TRIO:
            if a != b:
                assert not PERMISSIONS[a] & PERMISSIONS[b], (a, b)
    assert set(PERMISSIONS) == set(Role)


def test_security_admin_grants_but_not_to_themselves(district, make_user):
    secadmin = make_user("security_admin", "370203")
    worker = make_user(None)
    core_actions.assign_role(secadmin, worker, "grid_worker", OWN_GRID)
    assert worker.assignments.get().role == "grid_worker"
    with pytest.raises(ActionError):
        core_actions.assign_role(secadmin, secadmin, "security_admin", "370203")
    with pytest.raises(ActionError):
        core_actions.assign_role(secadmin, secadmin, "grid_worker", OWN_GRID)
    assert list(secadmin.assignments.values_list("role", flat=True)) == ["security_admin"]


@pytest.mark.parametrize(
    ("role", "node"),
    [("grid_worker", OWN_GRID), ("district_admin", "370203"), ("system_admin", "370203"), ("auditor", "370203")],
)
def test_only_the_security_admin_grants_roles(district, make_user, role, node):
    actor = make_user(role, node)
    target = make_user(None)
    with pytest.raises(PermissionDenied):
        core_actions.assign_role(actor, target, "grid_worker", OWN_GRID)
    assert not target.assignments.exists()


def test_only_the_system_admin_opens_accounts(district, make_user):
    with pytest.raises(PermissionDenied):
        core_actions.create_user(make_user("security_admin", "370203"), username="x1", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        core_actions.create_user(make_user("district_admin", "370203"), username="x2", password=PASSWORD)
    core_actions.create_user(make_user("system_admin", "370203"), username="x3", password=PASSWORD)
    assert list(User.objects.filter(username__startswith="x").values_list("username", flat=True)) == ["x3"]


def test_unknown_role_and_node_are_refused(district, make_user):
    user = make_user(None)
    with pytest.raises(ActionError):
        core_actions.assign_role(None, user, "king", "370203")
    with pytest.raises(ActionError):
        core_actions.assign_role(None, user, "grid_worker", "370203099999999")
    assert not user.assignments.exists()


def test_me(district, make_user):
    user = make_user("officer", OWN_GRID[:12], username="tang")
    core_actions.assign_role(None, user, "grid_worker", OWN_GRID)
    client, auth = token_client(user)
    body = client.get("/api/v1/me", **auth).json()
    assert body["username"] == "tang" and body["full_name"] == "测试用户"
    assert sorted((r["role"], r["scope"]) for r in body["roles"]) == [
        ("grid_worker", OWN_GRID),
        ("officer", OWN_GRID[:12]),
    ]
    assert {r["scope_name"] for r in body["roles"]} == {"贮水山社区居委会", "网格11001"}
    assert Client().get("/api/v1/me").status_code == 401
    # The session works for the API too (the pages' scripts use it).
    assert login(user).get("/api/v1/me").json()["username"] == "tang"


# --- language ------------------------------------------------------------------------------------


def test_chinese_by_default_whatever_the_browser_says(db):
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html and "Sign in" not in html
    assert response["Content-Language"] == "zh-hans"


def test_language_switch_by_cookie(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get("/login/").content.decode()
    assert '<html lang="en">' in html and "Sign in" in html and "登录" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    html = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in html and "登录" in html


def test_unknown_language_cookie_falls_back_to_chinese(db):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert '<html lang="zh-hans">' in client.get("/login/").content.decode()


def test_error_message_is_translated(db):
    zh = page_error(try_page("nobody", WRONG))
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    en = page_error(client.post("/login/", {"username": "nobody", "password": WRONG}))
    assert en.startswith("Wrong username or password")
    assert zh != en and re.search(r"[\u4e00-\u9fff]", zh)
