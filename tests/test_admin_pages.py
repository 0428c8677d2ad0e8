"""Pages that change things: accounts (system admin), roles (security admin), a grid's team and grid
upload (district and street admins), and password ageing. All through the real HTTP stack."""

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from anju.core.models import ApiToken, Assignment, AuditEvent, User
from anju.geo.models import Grid, TeamMember
from tests.conftest import OTHER_GRID, OWN_GRID, PASSWORD, login, square, token_client


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Many sign-ins here; Argon2 itself is tested in test_accounts."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- accounts: system admin ----------------------------------------------------------------------


def test_system_admin_opens_an_account_and_sees_the_password_once(district, make_user):
    page = login(make_user("system_admin", "370203"))
    response = page.post("/manage/users/", {"username": "li.na", "full_name": "李娜", "phone": "13912345678"})
    assert response.status_code == 200
    user = User.objects.get(username="li.na")
    shown = response.content.decode().split('id="initial-password">')[1].split("<")[0]
    assert user.check_password(shown)
    assert AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).count() == 1
    assert shown not in page.get("/manage/users/").content.decode()


def test_opening_an_account_refuses_bad_input_and_duplicates(district, make_user):
    page = login(make_user("system_admin", "370203"))
    before = User.objects.count()
    assert page.post("/manage/users/", {"username": "bad name!", "full_name": "x"}).status_code == 200
    assert page.post("/manage/users/", {"username": "ok", "full_name": "x", "phone": "12345"}).status_code == 200
    assert User.objects.count() == before
    page.post("/manage/users/", {"username": "zhou", "full_name": "周"})
    response = page.post("/manage/users/", {"username": "ZHOU", "full_name": "周"})
    assert User.objects.filter(username__iexact="zhou").count() == 1
    assert "alert-error" in response.content.decode()


@pytest.mark.parametrize("role", ["security_admin", "auditor", "district_admin", "grid_worker"])
def test_only_the_system_admin_opens_accounts(district, make_user, role):
    node = OWN_GRID if role == "grid_worker" else "370203"
    page = login(make_user(role, node))
    response = page.post("/manage/users/", {"username": "x1", "full_name": "某"})
    assert response.status_code == 403
    assert not User.objects.filter(username="x1").exists()


def test_disabling_an_account_ends_its_tokens_and_sign_in(district, make_user):
    worker = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(worker)
    page = login(make_user("system_admin", "370203"))
    assert page.post(f"/manage/users/{worker.pk}/", {"op": "disable"}).status_code == 302
    worker.refresh_from_db()
    assert not worker.is_active
    assert ApiToken.objects.filter(user=worker, revoked_at__isnull=True).count() == 0
    assert client.get("/api/v1/me", **auth).status_code == 401
    assert client.post("/login/", {"username": worker.username, "password": PASSWORD}).status_code == 200


def test_password_reset_shows_a_new_password(district, make_user):
    worker = make_user("grid_worker", OWN_GRID)
    page = login(make_user("system_admin", "370203"))
    response = page.post(f"/manage/users/{worker.pk}/", {"op": "reset"})
    shown = response.content.decode().split('id="new-password">')[1].split("<")[0]
    worker.refresh_from_db()
    assert worker.check_password(shown) and not worker.check_password(PASSWORD)


# --- roles: security admin -----------------------------------------------------------------------


def test_security_admin_grants_and_revokes_a_role(district, make_user):
    user = make_user(None)
    page = login(make_user("security_admin", "370203"))
    response = page.post(f"/manage/users/{user.pk}/", {"op": "assign", "role": "officer", "node": OWN_GRID[:12]})
    assert response.status_code == 302
    assignment = Assignment.objects.get(user=user)
    assert (assignment.role, assignment.node_code, assignment.node_name) == (
        "officer",
        OWN_GRID[:12],
        "贮水山社区居委会",
    )
    page.post(f"/manage/users/{user.pk}/", {"op": "revoke", "assignment": assignment.pk})
    assert not Assignment.objects.filter(user=user).exists()
    actions = list(AuditEvent.objects.filter(object_id=str(user.pk)).values_list("action", flat=True))
    assert actions[-2:] == ["role.assign", "role.revoke"]


@pytest.mark.parametrize(
    "held, role, node",
    [("officer", "auditor", "370203"), (None, "officer", "999999999999"), (None, "officer", "abc")],
)
def test_granting_a_role_refuses_what_may_not_be(district, make_user, held, role, node):
    user = make_user(held, OWN_GRID[:12]) if held else make_user(None)
    before = set(Assignment.objects.filter(user=user).values_list("role", "node_code"))
    page = login(make_user("security_admin", "370203"))
    response = page.post(f"/manage/users/{user.pk}/", {"op": "assign", "role": role, "node": node})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "alert-error" in response.content.decode()
    assert set(Assignment.objects.filter(user=user).values_list("role", "node_code")) == before


def test_system_admin_cannot_grant_roles(district, make_user):
    user = make_user(None)
    page = login(make_user("system_admin", "370203"))
    response = page.post(f"/manage/users/{user.pk}/", {"op": "assign", "role": "district_admin", "node": "370203"})
    assert response.status_code == 403
    assert not Assignment.objects.filter(user=user).exists()


def test_security_admin_unlocks_a_locked_account(district, make_user):
    user = make_user("grid_worker", OWN_GRID)
    from django.test import Client

    for _ in range(5):
        Client().post("/login/", {"username": user.username, "password": "Wrong-pass-99"})
    assert Client().post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 200
    page = login(make_user("security_admin", "370203"))
    assert "badge-red" in page.get(f"/manage/users/{user.pk}/").content.decode()
    page.post(f"/manage/users/{user.pk}/", {"op": "unlock"})
    assert Client().post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302


# --- a grid's team -------------------------------------------------------------------------------


def test_street_admin_edits_a_team(district, make_user):
    page = login(make_user("street_admin", OWN_GRID[:9]))
    form = {
        "head": "赵大明 13800001111",
        "manager": "钱小红",
        "volunteer": "孙一 13700001111\n李二\n\n周三 0532-88886666",
    }
    assert page.post(f"/grids/{OWN_GRID}/team/", form).status_code == 302
    team = {(m.post, m.name, m.phone) for m in TeamMember.objects.filter(grid__code=OWN_GRID)}
    assert team == {
        ("head", "赵大明", "13800001111"),
        ("manager", "钱小红", ""),
        ("volunteer", "孙一", "13700001111"),
        ("volunteer", "李二", ""),
        ("volunteer", "周三", "0532-88886666"),
    }
    assert AuditEvent.objects.filter(action="team.set", object_id=OWN_GRID).count() == 2  # fixture + this


def test_two_grid_heads_are_refused_and_nothing_changes(district, make_user):
    before = sorted(TeamMember.objects.filter(grid__code=OWN_GRID).values_list("post", "name"))
    page = login(make_user("district_admin", "370203"))
    response = page.post(f"/grids/{OWN_GRID}/team/", {"head": "赵大明\n钱二"})
    assert response.status_code == 200 and "alert-error" in response.content.decode()
    assert sorted(TeamMember.objects.filter(grid__code=OWN_GRID).values_list("post", "name")) == before


@pytest.mark.parametrize(
    "role, node, grid, status",
    [
        ("grid_worker", OWN_GRID, OWN_GRID, 403),
        ("officer", OWN_GRID[:12], OWN_GRID, 403),
        ("street_admin", OWN_GRID[:9], OTHER_GRID, 404),
    ],
)
def test_team_editing_is_for_admins_over_the_grid(district, make_user, role, node, grid, status):
    page = login(make_user(role, node))
    assert page.get(f"/grids/{grid}/team/").status_code == status
    assert page.post(f"/grids/{grid}/team/", {"head": "赵大明"}).status_code == status
    assert not TeamMember.objects.filter(name="赵大明").exists()


# --- grid upload page ----------------------------------------------------------------------------


def upload(page, data) -> str:
    payload = io.BytesIO(json.dumps(data).encode())
    payload.name = "grids.geojson"
    return page.post("/grids/import/", {"file": payload}).content.decode()


def test_grid_upload_page_imports_and_lists_faults(district, make_user):
    page = login(make_user("district_admin", "370203"))
    good = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square(120.32, 36.05),
                "properties": {"code": OWN_GRID[:12] + "003", "name": "新网格", "households": 380},
            }
        ],
    }
    assert 'id="import-result"' in upload(page, good)
    assert Grid.objects.filter(code=OWN_GRID[:12] + "003", households=380).exists()

    before = Grid.objects.count()
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square(120.30, 36.05),
                "properties": {"code": OWN_GRID[:12] + "004", "name": "重叠", "households": 380},
            }
        ],
    }
    html = upload(page, bad)
    assert 'id="import-faults"' in html and OWN_GRID in html
    assert Grid.objects.count() == before
    assert 'id="import-faults"' in upload(page, {"not": "geojson"})
    assert "JSON" in page.post("/grids/import/", {"file": io.BytesIO(b"\xff\xfe")}).content.decode()


def test_grid_upload_page_is_for_grid_managers(district, make_user):
    page = login(make_user("grid_worker", OWN_GRID))
    assert page.get("/grids/import/").status_code == 403


# --- password ageing -----------------------------------------------------------------------------


def test_an_aged_password_must_be_changed_first(district, make_user, settings):
    settings.ANJU_PASSWORD_MAX_AGE_DAYS = 90
    user = make_user("grid_worker", OWN_GRID)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    page = login(user)
    response = page.get(f"/grids/{OWN_GRID}/")
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    new = "Another-pass-2025!"
    response = page.post("/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert page.get(f"/grids/{OWN_GRID}/").status_code == 200
    assert AuditEvent.objects.filter(action="user.set_password", object_id=str(user.pk)).count() == 1
