"""The cases API through the real HTTP stack: reporting, lists, detail, steps, summonses, ratings, errors."""

import base64

import pytest

from anju import cli
from anju.cases import actions, sweeper
from anju.cases.models import Case, CasePhoto, State
from anju.core.roles import Role
from tests.cases.conftest import OWN_COMMUNITY, OWN_POINT, at, report
from tests.conftest import OTHER_GRID, OWN_GRID, token_client

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(64))
GIF = b"GIF89a" + bytes(range(64))
# A point in OTHER_GRID (120.31-120.32, 36.08-36.09).
OTHER_POINT = {"lng": 120.315, "lat": 36.085}
COMMUNITY_CENTRE = f"community-{OWN_COMMUNITY}"
URBAN_MANAGEMENT = "urban_management-370203"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(client, auth, url, body=None):
    return client.post(url, body or {}, content_type="application/json", **auth)


def step(client, auth, number, action, **body):
    return post(client, auth, f"/api/v1/cases/{number}/transitions", {"action": action, **body})


def new_case(**extra) -> dict:
    return {"category": "0601", "description": "垃圾堆放三天无人清运", **OWN_POINT, **extra}


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["number"] for c in response.json()]


# --- Reference data --------------------------------------------------------------------------------


def test_category_tree(district, worker):
    client, auth = token_client(worker)
    r = client.get("/api/v1/case-categories", **auth)
    assert r.status_code == 200
    tree = {node["code"]: node for node in r.json()}
    environment = tree["06"]
    assert environment["name"] == "环境卫生"
    leaf = next(c for c in environment["children"] if c["code"] == "0601")
    assert leaf == {"code": "0601", "name": "垃圾堆放或清运不及时", "children": []}
    assert client.get("/api/v1/case-categories").status_code == 401


def test_units_in_scope_with_the_districts_departments(desks, department_staff):
    elsewhere = "community-370203006002"
    report(None, **OTHER_POINT)  # makes the other community's centre
    client, auth = token_client(desks["community"])
    r = client.get("/api/v1/units", **auth)
    assert r.status_code == 200
    units = {u["code"]: u for u in r.json()}
    assert units[COMMUNITY_CENTRE]["level"] == "community" and units[COMMUNITY_CENTRE]["kind"] == "community"
    assert units[URBAN_MANAGEMENT] == {
        "code": URBAN_MANAGEMENT,
        "name": "市北区综合行政执法局",
        "kind": "department",
        "department": "urban_management",
        "level": "district",
        "division": "370203",
    }
    assert elsewhere not in units and "street-370203005" not in units


# --- Reporting -------------------------------------------------------------------------------------


def test_report_places_routes_and_keeps_photos(desks, worker):
    client, auth = token_client(worker)
    photos = [b64(PNG), "data:image/jpeg;base64," + b64(JPEG)]
    r = post(client, auth, "/api/v1/cases", new_case(photos=photos))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "reported" and body["category"] == "0601" and body["channel"] == "api"
    assert body["grid"] == OWN_GRID and body["level"] == "community" and body["unit"] == COMMUNITY_CENTRE
    assert body["supervision"] == "none" and body["due_at"] and body["possible_duplicates"] == []
    case = Case.objects.get(number=body["number"])
    assert case.reporter == worker and case.path.endswith(OWN_GRID + "/")
    names = sorted(p.file.name.rsplit(".", 1)[1] for p in CasePhoto.objects.filter(case=case))
    assert names == ["jpg", "png"]

    # The same problem reported again nearby, by the hotline: the first case is offered as a duplicate.
    desk_client, desk_auth = token_client(desks["community"])
    again = new_case(channel="hotline", reporter_name="张三丰", reporter_phone="13812345678", lng=120.3052)
    r = post(desk_client, desk_auth, "/api/v1/cases", again)
    assert r.status_code == 201, r.content
    assert r.json()["possible_duplicates"] == [body["number"]] and r.json()["channel"] == "hotline"
    assert Case.objects.get(number=r.json()["number"]).reporter_phone == "13812345678"


def test_report_by_unknown_address_goes_to_the_district(desks, department_staff):
    client, auth = token_client(desks["community"])
    r = post(client, auth, "/api/v1/cases", new_case(lng=None, lat=None, address="无名路999号"))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["grid"] is None and body["level"] == "district" and body["unit"] == URBAN_MANAGEMENT
    assert body["address"] == "无名路999号"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "9999"}, "category"),
        ({"category": "06"}, "category"),
        ({"description": " "}, "description"),
        ({"lng": None, "lat": None}, "lng"),
        ({"lat": 200}, "lat"),
        ({"lat": "north"}, "lat"),
        ({"channel": "open311"}, "channel"),
        ({"reporter_phone": "12345"}, "reporter_phone"),
        ({"photos": [b64(GIF)]}, "photos"),
        ({"photos": ["data:image/png;base64," + b64(b"just some text, not a picture")]}, "photos"),
        ({"photos": ["this is not base64!"]}, "photos"),
        ({"photos": ["data:image/png," + PNG.decode("latin-1")]}, "photos"),
        ({"photos": [b64(PNG)] * 7}, "photos"),
    ],
)
def test_bad_report_is_422_naming_the_field(desks, worker, change, field):
    client, auth = token_client(worker)
    r = post(client, auth, "/api/v1/cases", new_case(**change))
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field and r.json()["detail"].startswith(field + ": ")
    assert not Case.objects.exists() and not CasePhoto.objects.exists()


def test_missing_category_is_422(desks, worker):
    client, auth = token_client(worker)
    r = post(client, auth, "/api/v1/cases", {"description": "x", **OWN_POINT})
    assert r.status_code == 422 and r.json()["field"] == "category"


@pytest.mark.parametrize("role", [Role.AUDITOR, None])
def test_report_needs_a_working_role(desks, make_user, role):
    client, auth = token_client(make_user(role, "370203" if role else None))
    r = post(client, auth, "/api/v1/cases", new_case())
    assert r.status_code == 403 and r.json() == {"detail": "You may not do this."}
    assert not Case.objects.exists()


# --- Lists -----------------------------------------------------------------------------------------


@pytest.fixture
def three_cases(desks, worker):
    """a, b: reported long ago (overdue) in OWN_GRID and OTHER_GRID; c: a parking case in OWN_GRID now,
    dispatched to the community desk itself."""
    a, _ = report(worker, now=at(2025, 3, 3, 10))
    b, _ = report(None, now=at(2025, 3, 3, 10, 5), **OTHER_POINT)
    c, _ = report(worker, category="0901")
    desk = desks["community"]
    for action in ("accept", "register"):
        actions.transition(desk, c, action)
    actions.transition(desk, c, "dispatch", assignee=desk.username)
    return a, b, c


def test_list_filters(three_cases, desks, worker):
    a, b, c = (x.number for x in three_cases)
    client, auth = token_client(desks["district"])

    def listed(query=""):
        return numbers(client.get(f"/api/v1/cases{query}", **auth))

    assert listed() == [c, b, a]
    assert listed("?state=reported") == [b, a]
    assert listed("?state=open") == [c, b, a]
    assert listed("?state=dispatched") == [c]
    assert listed("?overdue=true") == [b, a] and listed("?overdue=false") == [c]
    assert listed(f"?grid={OWN_GRID}") == [c, a]
    assert listed("?under=370203006") == [b]
    assert listed("?category=06") == [b, a] and listed("?category=0901") == [c]
    assert listed(f"?unit={COMMUNITY_CENTRE}") == [c, a]
    assert listed("?limit=1&offset=1") == [b]
    assert listed("?supervision=yellow") == []
    sweeper.sweep(at(2025, 3, 3, 11, 45))  # past 80% of the 2h accept limit: yellow for a and b
    assert listed("?supervision=yellow") == [b, a]
    for query, field in (("?state=lost", "state"), ("?supervision=blue", "supervision"), ("?limit=0", "limit")):
        r = client.get(f"/api/v1/cases{query}", **auth)
        assert r.status_code == 422 and r.json()["field"] == field

    # The grid worker reads their grid only; their own work is a, not c (dispatched to the desk).
    client, auth = token_client(worker)
    assert listed() == [c, a]
    assert listed("?mine=true") == [a]
    assert client.get("/api/v1/cases?under=370203006", **auth).status_code == 404
    assert client.get(f"/api/v1/cases?grid={OTHER_GRID}", **auth).status_code == 404


# --- Detail ----------------------------------------------------------------------------------------


def test_detail_masks_the_reporter_and_lists_the_callers_steps(desks, worker, make_user):
    client, auth = token_client(worker)
    body = new_case(reporter_name="张三丰", reporter_phone="13812345678", photos=[b64(PNG)])
    number = post(client, auth, "/api/v1/cases", body).json()["number"]

    desk_client, desk_auth = token_client(desks["community"])
    r = desk_client.get(f"/api/v1/cases/{number}", **desk_auth)
    assert r.status_code == 200
    detail = r.json()
    assert detail["reporter_name"] == "张三丰" and detail["reporter_phone"] == "13812345678"
    assert detail["allowed_actions"] == ["accept", "reject", "escalate"]
    assert detail["due_at"] and detail["warn_at"] < detail["due_at"] and detail["close_due_at"] is None
    assert detail["community"] == OWN_COMMUNITY and detail["stage"] == "accept"
    [event] = detail["events"]
    assert event["action"] == "report" and event["actor"] == worker.username
    assert event["from"] == "" and event["to"] == "reported" and event["data"] == {"channel": "api"}
    [photo_url] = event["photos"]
    photo = desk_client.get(photo_url, **desk_auth)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert b"".join(photo.streaming_content) == PNG

    # An officer of the community reads the case with the reporter masked, and may take no step now.
    officer_client, officer_auth = token_client(make_user(Role.OFFICER, OWN_COMMUNITY))
    detail = officer_client.get(f"/api/v1/cases/{number}", **officer_auth).json()
    assert detail["reporter_name"] == "张**" and detail["reporter_phone"] == "138****5678"
    assert detail["allowed_actions"] == []

    # Outside the case's street: not found, the photo neither.
    other_client, other_auth = token_client(make_user(Role.GRID_WORKER, OTHER_GRID))
    r = other_client.get(f"/api/v1/cases/{number}", **other_auth)
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert other_client.get(photo_url, **other_auth).status_code == 404
    assert desk_client.get(f"/api/v1/cases/{number}/photos/999999", **desk_auth).status_code == 404


# --- Steps -----------------------------------------------------------------------------------------


def test_steps_and_their_refusals(desks, worker, make_user):
    case, _ = report(worker)
    number = case.number
    desk_client, desk_auth = token_client(desks["community"])
    worker_client, worker_auth = token_client(worker)

    r = step(desk_client, desk_auth, number, "close")
    assert r.status_code == 409 and r.json()["detail"]
    assert step(worker_client, worker_auth, number, "accept").status_code == 403
    other_client, other_auth = token_client(make_user(Role.GRID_WORKER, OTHER_GRID))
    assert step(other_client, other_auth, number, "accept").status_code == 404
    for body, field in (
        ({"action": "fly"}, "action"),
        ({"action": "reject"}, "note"),
        ({"action": "reject", "note": "无效", "reason": "bored"}, "reason"),
        ({"action": "reject", "reason": "duplicate"}, "duplicate_of"),
        ({"action": "accept", "photos": [b64(PNG)]}, "photos"),
        ({"note": "无动作"}, "action"),
        ({"action": "accept", "approve": "perhaps"}, "approve"),
    ):
        r = post(desk_client, desk_auth, f"/api/v1/cases/{number}/transitions", body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.content)
    case.refresh_from_db()
    assert case.state == State.REPORTED and case.events.count() == 1

    r = step(desk_client, desk_auth, number, "accept", note="受理")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert "register" in r.json()["allowed_actions"] and r.json()["events"][-1]["note"] == "受理"
    assert step(desk_client, desk_auth, number, "register").json()["close_due_at"]
    assert step(desk_client, desk_auth, number, "dispatch", unit="nope").json()["field"] == "unit"
    assert step(desk_client, desk_auth, number, "dispatch", assignee="ghost").json()["field"] == "assignee"
    r = step(desk_client, desk_auth, number, "dispatch", assignee=worker.username)
    assert r.status_code == 200 and r.json()["assignee"] == worker.username and r.json()["state"] == "dispatched"
    assert worker_client.get(f"/api/v1/cases/{number}", **worker_auth).json()["allowed_actions"] == [
        "handle",
        "extend",
    ]

    assert step(worker_client, worker_auth, number, "handle").json()["state"] == "handling"
    assert step(worker_client, worker_auth, number, "extend", note="需要协调").json()["field"] == "limit"
    r = step(worker_client, worker_auth, number, "extend", note="需要协调", limit="1d")
    assert r.status_code == 200 and r.json()["extension_requested"] == "1d"
    assert step(worker_client, worker_auth, number, "extend", note="再要", limit="1d").status_code == 409
    due = r.json()["due_at"]
    r = step(desk_client, desk_auth, number, "approve_extension", approve=False, note="时间足够")
    assert r.json()["due_at"] == due and r.json()["extension_requested"] == "" and r.json()["extension_count"] == 0
    assert r.json()["events"][-1]["data"] == {"limit": "1d", "approved": False}

    r = step(worker_client, worker_auth, number, "report_back", note="已清运", photos=[b64(JPEG)])
    assert r.status_code == 200 and r.json()["state"] == "reported_back"
    assert len(r.json()["events"][-1]["photos"]) == 1


def test_reject_as_duplicate_names_the_original(desks, worker):
    first, _ = report(worker)
    second, _ = report(worker)
    client, auth = token_client(desks["community"])
    r = step(client, auth, second.number, "reject", reason="duplicate", duplicate_of=first.number)
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "rejected" and r.json()["duplicate_of"] == first.number
    assert r.json()["allowed_actions"] == []


# --- Summonses -------------------------------------------------------------------------------------


def test_summons_report_in_and_done(desks, worker, department_staff, make_user):
    case, _ = report(worker)
    other, _ = report(worker, description="另一件")
    url = f"/api/v1/cases/{case.number}/summons"
    desk_client, desk_auth = token_client(desks["community"])
    for body, field in (
        ({"units": []}, "units"),
        ({"units": ["nope-370203"]}, "units"),
        ({"units": [COMMUNITY_CENTRE]}, "units"),  # a centre is not a department
        ({"units": [URBAN_MANAGEMENT], "within": "soon"}, "within"),
        ({}, "units"),
    ):
        r = post(desk_client, desk_auth, url, body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.content)
    worker_client, worker_auth = token_client(worker)
    assert post(worker_client, worker_auth, url, {"units": [URBAN_MANAGEMENT]}).status_code == 403

    r = post(desk_client, desk_auth, url, {"units": [URBAN_MANAGEMENT], "note": "请执法局到场", "within": "1h"})
    assert r.status_code == 201, r.content
    [summons] = r.json()
    assert summons["unit"] == URBAN_MANAGEMENT and summons["state"] == "summoned" and summons["red"] is False
    assert post(desk_client, desk_auth, url, {"units": [URBAN_MANAGEMENT]}).status_code == 409

    staff_client, staff_auth = token_client(department_staff)
    done_url = f"{url}/{summons['id']}/done"
    assert post(staff_client, staff_auth, done_url, {"note": "已处理"}).status_code == 409
    assert (
        post(staff_client, staff_auth, f"/api/v1/cases/{other.number}/summons/{summons['id']}/report-in").status_code
        == 404
    )
    officer_client, officer_auth = token_client(make_user(Role.OFFICER, OWN_COMMUNITY))
    assert post(officer_client, officer_auth, f"{url}/{summons['id']}/report-in").status_code == 403

    r = post(staff_client, staff_auth, f"{url}/{summons['id']}/report-in", {"note": "已到场"})
    assert r.status_code == 200 and r.json()["state"] == "reported_in" and r.json()["reported_in_at"]
    assert post(staff_client, staff_auth, f"{url}/{summons['id']}/report-in").status_code == 409
    assert post(staff_client, staff_auth, done_url, {"note": " "}).json()["field"] == "note"
    r = post(staff_client, staff_auth, done_url, {"note": "已清理占道物品"})
    assert r.status_code == 200 and r.json()["state"] == "done" and r.json()["note"] == "已清理占道物品"

    detail = desk_client.get(f"/api/v1/cases/{case.number}", **desk_auth).json()
    assert [s["state"] for s in detail["summonses"]] == ["done"]
    assert [e["action"] for e in detail["events"]] == ["report", "summon", "report_in", "summons_done"]

    actions.transition(desks["community"], other, "reject", note="无效")
    r = post(desk_client, desk_auth, f"/api/v1/cases/{other.number}/summons", {"units": [URBAN_MANAGEMENT]})
    assert r.status_code == 409


# --- Ratings ---------------------------------------------------------------------------------------


def test_rating(desks, worker, make_user):
    case, _ = report(worker)
    client, auth = token_client(worker)
    url = f"/api/v1/cases/{case.number}/rating"
    assert post(client, auth, url, {"score": 5}).status_code == 409
    desk = desks["community"]
    for action in ("accept", "register", "dispatch", "handle"):
        actions.transition(desk, case, action)
    actions.transition(desk, case, "report_back", note="已清运")
    actions.transition(desk, case, "check")
    actions.transition(desk, case, "close")

    officer_client, officer_auth = token_client(make_user(Role.OFFICER, OWN_COMMUNITY))
    assert post(officer_client, officer_auth, url, {"score": 5}).status_code == 403
    for body in ({"score": 9}, {"score": "good"}, {}):
        r = post(client, auth, url, body)
        assert r.status_code == 422 and r.json()["field"] == "score"
    r = post(client, auth, url, {"score": 2, "comment": "太慢"})
    assert r.status_code == 200, r.content
    assert r.json()["rating"] == "rated" and r.json()["score"] == 2 and r.json()["rating_comment"] == "太慢"
    assert r.json()["flagged"] is True
    assert post(client, auth, url, {"score": 5}).status_code == 409


# --- The sweep command -----------------------------------------------------------------------------


def test_sla_sweep_now_by_default(desks, worker, sla_sweep):
    case, _ = report(worker, now=at(2025, 3, 3, 10))
    assert sla_sweep() == {"yellow": 0, "red": 1, "escalated": 1, "summons_red": 0, "no_rating": 0}
    case.refresh_from_db()
    assert case.level == "street" and case.escalation_count == 1


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T10:00", ""])
def test_sla_sweep_refuses_a_bad_time(value, capsys):
    assert cli.main(["sla", "sweep", "--at", value]) == 2
    assert "--at" in capsys.readouterr().err
