"""One case driven through the whole loop over HTTP, with a clock that moves and `anju sla sweep` run by hand:
report, yellow card, red card and escalation, acceptance at street level, dispatch, a summons with its
report-in (and one missed), an extension, a rework, closing, rating, a reopening within 7 days and its
refusal after them."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from anju.cases import routing
from anju.geo.models import Division
from tests.cases.conftest import OWN_STREET, at
from tests.cases.test_api import COMMUNITY_CENTRE, JPEG, PNG, URBAN_MANAGEMENT, b64, new_case, post
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

STREET_CENTRE = f"street-{OWN_STREET}"
HOUSING = "housing-370203"


class Clock:
    """The time every request and action sees; the test moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(at(2026, 11, 23, 10))  # a Monday
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_case_from_report_to_rating_over_http(clock, sla_sweep, desks, worker, department_staff):
    routing.department(Division.objects.get(code="370203"), "housing")
    field = token_client(worker)
    street = token_client(desks["street"])
    staff = token_client(department_staff)

    def get(who, number):
        client, auth = who
        r = client.get(f"/api/v1/cases/{number}", **auth)
        assert r.status_code == 200, r.content
        return r.json()

    def act(who, number, action, status=200, **body):
        client, auth = who
        r = post(client, auth, f"/api/v1/cases/{number}/transitions", {"action": action, **body})
        assert r.status_code == status, r.content
        return r.json()

    # Monday 10:00: the grid worker reports from the field, with a photo.
    client, auth = field
    r = post(client, auth, "/api/v1/cases", new_case(channel="field", photos=[b64(PNG)]))
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    case = get(street, number)
    assert case["level"] == "community" and case["unit"] == COMMUNITY_CENTRE and case["state"] == "reported"
    assert when(case["due_at"]) == at(2026, 11, 23, 12)  # 2 working hours to accept
    assert when(case["warn_at"]) == at(2026, 11, 23, 11, 36)

    # Nobody at the community desk takes it: a yellow card at 80% of the limit, once.
    done = sla_sweep("--at", "2026-11-23T11:40")
    assert done == {"yellow": 1, "red": 0, "escalated": 0, "summons_red": 0, "no_rating": 0}
    assert sla_sweep("--at", "2026-11-23T11:45")["yellow"] == 0
    assert get(street, number)["supervision"] == "yellow"
    # Past the limit (given with its offset, as the API wrote it): red, and up to the street.
    done = sla_sweep("--at", case["due_at"])
    assert done["red"] == 1 and done["escalated"] == 1
    case = get(street, number)
    assert case["level"] == "street" and case["unit"] == STREET_CENTRE and case["escalation_count"] == 1
    assert [e["action"] for e in case["events"]] == ["report", "yellow", "red", "escalate"]
    assert case["events"][-1]["data"]["to_level"] == "street" and case["events"][-1]["actor"] == "system"
    assert case["supervision"] == "none" and when(case["due_at"]) == at(2026, 11, 23, 15, 30)
    assert case["allowed_actions"] == ["accept", "reject", "escalate"]

    # Monday afternoon: the street desk takes it and sends the community's grid worker.
    clock.now = at(2026, 11, 23, 14)
    act(street, number, "accept")
    assert when(act(street, number, "register")["close_due_at"]) > clock.now
    case = act(street, number, "dispatch", unit=COMMUNITY_CENTRE, assignee=worker.username, note="请网格员处置")
    assert case["state"] == "dispatched" and case["assignee"] == worker.username and case["level"] == "street"
    assert when(case["due_at"]) == at(2026, 11, 24, 14)  # 1 working day to handle

    # 吹哨报到: two departments summoned; urban management reports in on time, housing never does.
    client, auth = street
    r = post(
        client, auth, f"/api/v1/cases/{number}/summons", {"units": [URBAN_MANAGEMENT, HOUSING], "note": "联合处置"}
    )
    assert r.status_code == 201, r.content
    summonses = {s["unit"]: s for s in r.json()}
    assert when(summonses[URBAN_MANAGEMENT]["due_at"]) == at(2026, 11, 23, 16)
    clock.now = at(2026, 11, 23, 14, 30)
    client, auth = staff
    r = post(client, auth, f"/api/v1/cases/{number}/summons/{summonses[URBAN_MANAGEMENT]['id']}/report-in", {})
    assert r.status_code == 200 and r.json()["red"] is False
    assert sla_sweep("--at", "2026-11-23T16:01")["summons_red"] == 1
    r = post(
        client, auth, f"/api/v1/cases/{number}/summons/{summonses[URBAN_MANAGEMENT]['id']}/done", {"note": "已清运"}
    )
    assert r.status_code == 200 and r.json()["state"] == "done"
    case = get(street, number)
    assert {s["unit"]: (s["state"], s["red"]) for s in case["summonses"]} == {
        URBAN_MANAGEMENT: ("done", False),
        HOUSING: ("summoned", True),
    }

    # The worker starts, asks for one more working day; the street desk grants it.
    clock.now = at(2026, 11, 23, 16, 10)
    act(field, number, "handle")
    case = act(field, number, "extend", limit="1d", note="需联系物业")
    assert case["extension_requested"] == "1d" and "approve_extension" in get(street, number)["allowed_actions"]
    case = act(street, number, "approve_extension", approve=True, note="同意")
    assert when(case["due_at"]) == at(2026, 11, 25, 14) and case["extension_count"] == 1

    # Tuesday: reported back with a photo, sent back once, reported back again, checked and closed.
    clock.now = at(2026, 11, 24, 10)
    case = act(field, number, "report_back", note="已清运", photos=[b64(JPEG)])
    assert case["state"] == "reported_back" and len(case["events"][-1]["photos"]) == 1
    photo = field[0].get(case["events"][-1]["photos"][0], **field[1])
    assert photo.status_code == 200 and b"".join(photo.streaming_content) == JPEG
    case = act(street, number, "rework", note="仍有残留垃圾")
    assert case["state"] == "handling" and case["rework_count"] == 1
    act(field, number, "report_back", status=422)  # a report needs a note
    act(field, number, "report_back", note="已全部清运")
    act(street, number, "check", note="现场核查通过")
    case = act(street, number, "close")
    assert case["state"] == "closed" and case["rating"] == "pending" and case["closed_at"]

    # The reporter rates it.
    clock.now = at(2026, 11, 24, 15)
    client, auth = field
    r = post(client, auth, f"/api/v1/cases/{number}/rating", {"score": 5, "comment": "处理及时"})
    assert r.status_code == 200 and r.json()["rating"] == "rated" and r.json()["score"] == 5

    # Thursday: the rubbish is back; the case is reopened within 7 days and closed again.
    clock.now = at(2026, 11, 26, 10)
    case = act(street, number, "reopen", note="垃圾再次堆放")
    assert case["state"] == "dispatched" and case["rating"] == "" and case["score"] is None
    act(field, number, "handle")
    act(field, number, "report_back", note="已清运并设置提示牌")
    act(street, number, "check")
    clock.now = at(2026, 11, 26, 15)
    closed = act(street, number, "close")
    assert when(closed["closed_at"]) == at(2026, 11, 26, 15)

    # Unrated for 3 days: "no rating", never "satisfied".
    assert sla_sweep("--at", "2026-11-29T15:01")["no_rating"] == 1
    assert get(street, number)["rating"] == "none"
    # Seven days after closing it may still be reopened; a minute later it may not.
    clock.now = at(2026, 11, 26, 15) + timedelta(days=7)
    assert "reopen" in get(street, number)["allowed_actions"]
    clock.now += timedelta(minutes=1)
    assert "reopen" not in get(street, number)["allowed_actions"]
    r = act(street, number, "reopen", status=409, note="又有垃圾")
    assert r["detail"]
    case = get(street, number)
    assert case["state"] == "closed" and case["rework_count"] == 1 and case["extension_count"] == 1
    assert [e["action"] for e in case["events"]].count("reopen") == 1
