"""The audit log (DESIGN rule 3): a row for every sign-in and write, chained, append-only,
and `verify()` / `anju audit verify` finding any altered or removed row."""

import json
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from anju import cli
from anju.core import actions as core_actions
from anju.core import audit
from anju.core.audit import GENESIS, compute_hash, current_ip, verify
from anju.core.models import ApiToken, AuditEvent, AuditHead
from anju.geo import actions as geo_actions
from anju.geo.models import Grid
from tests.conftest import OWN_GRID, PASSWORD, login, square, token_client


def rows(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def last_row() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


# --- sign-in and sign-out ------------------------------------------------------------------------


def test_login_and_logout_leave_rows_with_user_and_ip(district, make_user):
    user = make_user("officer", OWN_GRID[:12], username="zhang")
    client = Client(REMOTE_ADDR="10.9.8.7")
    assert client.post("/login/", {"username": "zhang", "password": PASSWORD}).status_code == 302
    row = last_row()
    assert (row.action, row.username, row.ip, row.result) == ("login", "zhang", "10.9.8.7", "ok")
    assert row.user_id_ref == user.pk
    assert row.role == "officer" and row.scope == f"officer@{OWN_GRID[:12]}"
    assert client.post("/logout/").status_code == 302
    row = last_row()
    assert (row.action, row.username, row.ip, row.result) == ("logout", "zhang", "10.9.8.7", "ok")


def test_proxy_address_is_recorded(district, make_user, settings):
    settings.ANJU_TRUSTED_PROXIES = ["127.0.0.1"]
    make_user("officer", OWN_GRID[:12], username="li")
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.5")
    client.post("/login/", {"username": "li", "password": PASSWORD})
    assert last_row().ip == "203.0.113.5"


def test_a_client_cannot_forge_its_address(district, make_user):
    make_user("officer", OWN_GRID[:12], username="li")
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_REAL_IP="10.0.0.1")
    client.post("/login/", {"username": "li", "password": PASSWORD})
    assert last_row().ip == "198.51.100.7"


def test_failed_and_locked_logins_leave_rows(db, make_user):
    make_user(None, username="wang")
    client = Client(REMOTE_ADDR="10.1.1.1")
    client.post("/login/", {"username": "wang", "password": "wrong-Password-1"})
    row = last_row()
    assert (row.action, row.username, row.ip, row.result) == ("login_failed", "wang", "10.1.1.1", "failed")
    assert row.user_id_ref is None
    for _ in range(4):
        client.post("/login/", {"username": "wang", "password": "wrong-Password-1"})
    # Locked now: even the right password is refused, and the row says so.
    response = client.post("/login/", {"username": "wang", "password": PASSWORD})
    assert response.status_code == 200
    row = last_row()
    assert (row.action, row.username, row.ip, row.result) == ("login_failed", "wang", "10.1.1.1", "locked")
    attempts = rows(action="login_failed", username="wang")
    assert len(attempts) == 6
    assert [r.result for r in attempts[:4]] == ["failed"] * 4
    assert not rows(action="login", username="wang")


def test_api_token_refusal_is_audited(db, make_user):
    make_user(None, username="zhao")
    response = Client(REMOTE_ADDR="10.2.2.2").post(
        "/api/v1/auth/token", {"username": "zhao", "password": "nope-Nope-1"}, content_type="application/json"
    )
    assert response.status_code == 401
    row = last_row()
    assert (row.action, row.username, row.ip, row.result) == ("login_failed", "zhao", "10.2.2.2", "failed")


# --- writes --------------------------------------------------------------------------------------


def test_account_and_role_writes_leave_rows(district, make_user):
    sysadmin = make_user("system_admin", "370203", username="sys")
    secadmin = make_user("security_admin", "370203", username="sec")
    user = core_actions.create_user(sysadmin, username="newbie", password=PASSWORD)
    row = last_row()
    assert (row.action, row.username, row.object_type, row.object_id) == (
        "user.create",
        "sys",
        "core.user",
        str(user.pk),
    )
    assert row.role == "system_admin" and row.scope == "system_admin@370203"
    core_actions.assign_role(secadmin, user, "grid_worker", OWN_GRID)
    row = last_row()
    assert (row.action, row.username, row.object_id) == ("role.assign", "sec", str(user.pk))
    assert json.loads(row.detail) == {"node": OWN_GRID, "role": "grid_worker"}


def test_token_issue_and_revoke_leave_rows(district, make_user):
    user = make_user("grid_worker", OWN_GRID, username="liu")
    client, auth = token_client(user)
    issued = last_row()
    token = ApiToken.objects.get(user=user)
    assert (issued.action, issued.username, issued.object_id) == ("token.issue", "liu", str(token.pk))
    assert json.loads(issued.detail)["prefix"] == token.prefix
    assert client.delete(f"/api/v1/tokens/{token.pk}", **auth).status_code == 204
    revoked = last_row()
    assert (revoked.action, revoked.username, revoked.object_id) == ("token.revoke", "liu", str(token.pk))


def test_grid_import_team_and_export_leave_rows(district, make_user):
    admin = make_user("district_admin", "370203", username="qu")
    client, auth = token_client(admin)
    feature = {
        "type": "Feature",
        "properties": {"code": OWN_GRID[:12] + "003", "name": "新网格", "community": OWN_GRID[:12], "households": 320},
        "geometry": square(120.32, 36.05),
    }
    response = client.post(
        "/api/v1/grids/import",
        {"type": "FeatureCollection", "features": [feature]},
        content_type="application/json",
        REMOTE_ADDR="10.3.3.3",
        **auth,
    )
    assert response.status_code == 200, response.content
    row = last_row()
    assert (row.action, row.username, row.ip, row.object_type) == ("grids.import", "qu", "10.3.3.3", "geo.grid")
    assert json.loads(row.detail) == {"created": [OWN_GRID[:12] + "003"], "updated": []}

    grid = Grid.objects.get(code=OWN_GRID)
    geo_actions.set_team(admin, grid, [{"post": "head", "name": "周敏", "phone": "13800000000"}])
    row = last_row()
    assert (row.action, row.username, row.object_id) == ("team.set", "qu", OWN_GRID)

    response = client.get("/api/v1/grids/export?under=370203005", REMOTE_ADDR="10.4.4.4", **auth)
    assert response.status_code == 200
    row = last_row()
    assert (row.action, row.username, row.ip, row.object_id) == ("grids.export", "qu", "10.4.4.4", "370203005")
    assert json.loads(row.detail) == {"count": len(response.json()["features"])} == {"count": 5}


# --- the chain -----------------------------------------------------------------------------------


def test_rows_are_dense_and_chained(district, make_user):
    login(make_user("officer", OWN_GRID[:12]))
    events = rows()
    assert len(events) >= 5
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    for e in events:
        assert e.hash == compute_hash(e) and len(e.hash) == 64
    head = AuditHead.objects.get(pk=1)
    assert (head.last_id, head.last_hash) == (events[-1].id, events[-1].hash)
    result = verify()
    assert result.ok and result.checked == len(events) and result.problem == ""


def test_verify_walks_batches(district):
    n = AuditEvent.objects.count()
    assert n >= 3
    assert verify(batch=2).ok and verify(batch=2).checked == n


# --- append-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditevent SET username = 'mallory' WHERE id = 1",
        "DELETE FROM core_auditevent WHERE id = 1",
        "DELETE FROM core_auditevent",
    ],
)
def test_database_refuses_update_and_delete(district, sql):
    before = [(e.id, e.username, e.hash) for e in rows()]
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert [(e.id, e.username, e.hash) for e in rows()] == before


def test_orm_update_and_delete_are_refused(district):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(id=2).update(result="failed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(id=2).delete()
    assert AuditEvent.objects.get(id=2).result == "ok"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_truncate(district):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE core_auditevent")
    assert AuditEvent.objects.count() > 0


# --- tampering is found --------------------------------------------------------------------------


def drop_triggers() -> None:
    """What an intruder with database rights would do first (undone by the test's rollback)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER core_auditevent_no_change ON core_auditevent")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
            cursor.execute("DROP TRIGGER core_auditevent_no_delete")


def tamper(sql: str, *params) -> None:
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chain(district, make_user):
    """A chain of a dozen or so rows, intact to start with."""
    login(make_user("officer", OWN_GRID[:12]))
    assert verify().ok
    return AuditEvent.objects.count()


def test_verify_finds_an_altered_row(chain):
    tamper("UPDATE core_auditevent SET username = %s WHERE id = 3", "mallory")
    result = verify()
    assert not result.ok
    assert (result.problem, result.bad_id, result.checked) == ("row 3 was altered", 3, 2)


@pytest.mark.parametrize("field", ["at", "action", "result", "ip", "detail", "object_id"])
def test_verify_finds_any_altered_field(chain, field):
    value = "2020-01-01 00:00:00+00:00" if field == "at" else "x"
    tamper(f"UPDATE core_auditevent SET {field} = %s WHERE id = 4", value)
    assert verify().problem == "row 4 was altered"


def test_verify_finds_a_rehashed_row(chain):
    """Re-computing the hash of an edited row breaks the link to the next one."""
    event = AuditEvent.objects.get(id=3)
    event.username = "mallory"
    tamper("UPDATE core_auditevent SET username = %s, hash = %s WHERE id = 3", "mallory", compute_hash(event))
    result = verify()
    assert not result.ok and result.bad_id == 4 and "row 4" in result.problem


def test_verify_finds_a_removed_row(chain):
    tamper("DELETE FROM core_auditevent WHERE id = 3")
    result = verify()
    assert (result.ok, result.problem, result.bad_id) == (False, "row 3 was removed", 3)


def test_verify_finds_a_removed_tail(chain):
    tamper("DELETE FROM core_auditevent WHERE id = %s", chain)
    result = verify()
    assert (result.ok, result.problem, result.bad_id) == (False, f"row {chain} was removed", chain)


def test_verify_finds_an_emptied_log(chain):
    tamper("DELETE FROM core_auditevent")
    result = verify()
    assert not result.ok and result.problem == "row 1 was removed"


def test_rows_appended_after_a_check_keep_the_chain(chain):
    audit.record("test.event", username="cli", detail={"n": 1})
    assert verify().ok and verify().checked == chain + 1


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """Run `anju ...` in this process (same database as the test); returns (code, out, err)."""
    monkeypatch.setenv("ANJU_HOME", str(tmp_path / "home"))
    before = current_ip.get()

    def run(*argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    current_ip.set(before)


def test_cli_verify_intact(chain, run_cli):
    code, out, err = run_cli("audit", "verify")
    assert code == 0, err
    assert f"{chain} rows checked" in out


def test_cli_verify_names_the_altered_row(chain, run_cli):
    tamper("UPDATE core_auditevent SET result = 'ok!' WHERE id = 5")
    code, out, err = run_cli("audit", "verify")
    assert code == 1
    assert "row 5 was altered" in err


def test_cli_verify_names_the_removed_row(chain, run_cli):
    tamper("DELETE FROM core_auditevent WHERE id = 2")
    code, out, err = run_cli("audit", "verify")
    assert code == 1
    assert "row 2 was removed" in err


# --- reading the log -----------------------------------------------------------------------------

READERS = [("auditor", "370203", 200)] + [
    (role, node, 403)
    for role, node in [
        ("district_admin", "370203"),
        ("security_admin", "370203"),
        ("system_admin", "370203"),
        ("grid_worker", OWN_GRID),
        (None, None),
    ]
]


@pytest.mark.parametrize(("role", "node", "status"), READERS, ids=[str(r[0]) for r in READERS])
def test_who_reads_the_log(district, make_user, role, node, status):
    user = make_user(role, node)
    assert login(user).get("/audit/").status_code == status
    client, auth = token_client(user)
    listed = client.get("/api/v1/audit?limit=100&offset=0", **auth)
    checked = client.get("/api/v1/audit/verify", **auth)
    assert listed.status_code == checked.status_code == status
    if status == 200:
        listed = client.get("/api/v1/audit?limit=100&offset=0", **auth)
        assert listed.json()["count"] == AuditEvent.objects.count()
        assert checked.json() == {"ok": True, "checked": AuditEvent.objects.count(), "problem": "", "bad_id": None}
    else:
        assert listed.json() == {"detail": "You may not do this."}


def test_log_filters(district, make_user):
    auditor = make_user("auditor", "370203", username="shen")
    make_user(None, username="wu")
    Client().post("/login/", {"username": "wu", "password": "bad-Password-1"})
    Client().post("/login/", {"username": "wu", "password": "bad-Password-2"})
    client, auth = token_client(auditor)
    body = client.get("/api/v1/audit?action=login_failed&username=wu&limit=100&offset=0", **auth).json()
    assert body["count"] == 2 and len(body["items"]) == 2
    assert all(i["action"] == "login_failed" and i["username"] == "wu" for i in body["items"])
    assert body["items"][0]["id"] > body["items"][1]["id"]  # newest first
    body = client.get("/api/v1/audit?username=shen&limit=100&offset=0", **auth).json()
    assert body["count"] >= 1 and {i["username"] for i in body["items"]} == {"shen"}
    body = client.get("/api/v1/audit?limit=2&offset=1", **auth).json()
    assert len(body["items"]) == 2 and body["items"][0]["id"] == AuditEvent.objects.count() - 1

    page = login(auditor)
    listed = table_rows(page.get("/audit/?action=login_failed&username=wu").content.decode())
    assert len(listed) == 2 and all("login_failed" in r and ">wu<" in r for r in listed)
    listed = table_rows(page.get("/audit/?action=token.issue").content.decode())
    assert listed and all("token.issue" in r and "login_failed" not in r for r in listed)


def table_rows(html: str) -> list[str]:
    """The rows of the audit table on the page."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body, re.S) if 'colspan="10"' not in r]


def test_log_api_pages_by_default(district, make_user):
    client, auth = token_client(make_user("auditor", "370203"))
    for n in range(120):
        audit.record("test.event", username="cli", detail={"n": n})
    response = client.get("/api/v1/audit", **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == AuditEvent.objects.count() > 100
    assert len(body["items"]) == 100 and body["items"][0]["id"] == body["count"]  # newest first, 100 a page


@pytest.mark.parametrize("query", ["limit=0&offset=0", "limit=1001&offset=0", "limit=10&offset=-1"])
def test_log_api_refuses_bad_paging(district, make_user, query):
    client, auth = token_client(make_user("auditor", "370203"))
    response = client.get(f"/api/v1/audit?{query}", **auth)
    assert response.status_code == 422 and "detail" in response.json()


def test_log_page_verifies_the_chain(district, make_user):
    client = login(make_user("auditor", "370203"))
    html = client.get("/audit/?verify=1").content.decode()
    assert 'id="verify-result"' in html and "alert-ok" in html
    tamper("UPDATE core_auditevent SET detail = 'x' WHERE id = 2")
    html = client.get("/audit/?verify=1").content.decode()
    assert "alert-error" in html and "row 2 was altered" in html
    client_api, auth = token_client(make_user("auditor", "370203"))
    assert client_api.get("/api/v1/audit/verify", **auth).json()["bad_id"] == 2


def test_signed_out_cannot_read_the_log(district):
    assert Client().get("/api/v1/audit").status_code == 401
    response = Client().get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
