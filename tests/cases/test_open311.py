"""Open311 GeoReport v2, driven as an outside application would: over HTTP, form-encoded, JSON and XML."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from anju.cases import actions
from anju.cases.models import Case, Channel, State
from anju.registry import actions as registry_actions
from tests.cases.conftest import OWN_COMMUNITY, OWN_POINT

BASE = "/open311/v2"
NAME, PHONE = "李四", "13912345678"
INTERNAL_NOTE = "已联系报告人王五 13612345678，已清运"


@pytest.fixture
def key(district):
    _client, key = actions.issue_open311_key(None, "随手拍")
    return key


def xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def post(key, fmt="json", client=None, **fields):
    data = {
        "api_key": key,
        "service_code": "0601",
        "lat": OWN_POINT["lat"],
        "long": OWN_POINT["lng"],
        "description": "小区门口垃圾堆放三天无人清运",
        "first_name": "四",
        "last_name": "李",
        "phone": PHONE,
        "email": "lisi@example.com",
        "device_id": "tt222111",
        "account_id": "123456",
        **fields,
    }
    data = {k: v for k, v in data.items() if v is not None}
    return (client or Client()).post(f"{BASE}/requests.{fmt}", data)


def get_request(number: str) -> dict:
    response = Client().get(f"{BASE}/requests/{number}.json")
    assert response.status_code == 200
    assert NAME not in response.content.decode() and PHONE not in response.content.decode()
    [item] = response.json()
    return item


def label(state) -> str:
    with translation.override("zh-hans"):
        return str(state.label)


def test_discovery_names_the_endpoint(district):
    data = Client().get(f"{BASE}/discovery.json").json()
    [endpoint] = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert data["changeset"] and data["key_service"]
    root = xml(Client().get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_services_in_json_and_xml(district):
    response = Client().get(f"{BASE}/services.json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    services = response.json()
    garbage = next(s for s in services if s["service_code"] == "0601")
    assert garbage == {
        "service_code": "0601",
        "service_name": "垃圾堆放或清运不及时",
        "description": None,
        "metadata": False,
        "type": "realtime",
        "keywords": "垃圾堆放, 清运不及时, 环境卫生",
        "group": "环境卫生",
    }
    # Only categories a case can be filed under: "06" has sub-categories.
    assert "06" not in {s["service_code"] for s in services}

    root = xml(Client().get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert len(root.findall("service")) == len(services)
    element = next(s for s in root.findall("service") if s.findtext("service_code") == "0601")
    assert element.findtext("metadata") == "false" and element.findtext("group") == "环境卫生"

    definition = Client().get(f"{BASE}/services/0601.json").json()
    assert definition == {"service_code": "0601", "attributes": []}
    root = xml(Client().get(f"{BASE}/services/0601.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "0601"
    assert root.find("attributes") is not None and len(root.find("attributes")) == 0

    for path in ("/services/06.json", "/services/9999.json"):
        response = Client().get(BASE + path)
        assert response.status_code == 404 and response.json()[0]["code"] == 404


def test_a_request_through_its_life_cycle(key, desks, worker):
    # An outside application posts without a CSRF token.
    response = post(key, client=Client(enforce_csrf_checks=True), media_url="https://example.com/p/1.jpg")
    assert response.status_code == 200, response.content
    [answer] = response.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    number = answer["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.channel == Channel.OPEN311 and case.open311_client.name == "随手拍"
    assert (case.reporter_name, case.reporter_phone, case.reporter_email) == (NAME, PHONE, "lisi@example.com")
    assert (case.lat, case.lng) == (OWN_POINT["lat"], OWN_POINT["lng"])
    assert case.description.endswith("\nhttps://example.com/p/1.jpg")
    assert case.events.get().username == "随手拍"

    item = get_request(number)
    assert item["status"] == "open" and item["status_notes"] == label(State.REPORTED)
    assert item["service_code"] == "0601" and item["agency_responsible"] == case.unit.name
    assert item["requested_datetime"].endswith("+08:00")
    assert item["expected_datetime"] is not None and item["lat"] == OWN_POINT["lat"]

    desk = desks["community"]
    steps = [
        (desk, "accept", {}),
        (desk, "register", {}),
        (desk, "dispatch", {"assignee": worker.username}),
        (worker, "handle", {}),
        (worker, "report_back", {"note": INTERNAL_NOTE}),
        (worker, "check", {}),
    ]
    for actor, action, params in steps:
        actions.transition(actor, case, action, **params)
        item = get_request(number)
        assert item["status"] == "open"
        assert item["status_notes"] == label(State(case.state))
    actions.transition(desk, case, "close")

    root = xml(Client().get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert request.findtext("status") == "closed"
    assert request.findtext("status_notes") == label(State.CLOSED)
    case.refresh_from_db()
    assert request.findtext("updated_datetime") == timezone.localtime(case.closed_at).isoformat(timespec="seconds")
    assert request.find("expected_datetime").text is None

    response = Client().get(f"{BASE}/servicerequestupdates.json", {"service_request_id": number})
    body = response.content.decode()
    assert "王五" not in body and "13612345678" not in body and NAME not in body
    updates = response.json()
    assert [u["status"] for u in updates] == ["open"] * 7 + ["closed"]
    with translation.override("zh-hans"):
        expected = [str(label) for label in (State.REPORTED.label, *(actions.ACTION_LABELS[a] for _, a, _ in steps))]
        expected.append(str(actions.ACTION_LABELS["close"]))
    assert [u["description"] for u in updates] == expected
    assert len({u["update_id"] for u in updates}) == 8 and {u["service_request_id"] for u in updates} == {number}

    start = (timezone.now() - timedelta(hours=1)).isoformat()
    root = xml(Client().get(f"{BASE}/servicerequestupdates.xml", {"start_date": start}))
    assert root.tag == "service_request_updates"
    assert [u.findtext("status") for u in root.findall("request_update")][-1] == "closed"

    tokens = Client().get(f"{BASE}/tokens/{number}.json").json()
    assert tokens == [{"service_request_id": number, "token": number}]
    assert Client().get(f"{BASE}/tokens/nothing.json").status_code == 404


def test_listing_requests_with_filters(key, desks):
    number = post(key).json()[0]["service_request_id"]
    other = post(key, service_code="0701").json()[0]["service_request_id"]
    actions.transition(desks["community"], Case.objects.get(number=number), "reject", note="重复")

    def listed(**params):
        response = Client().get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in response.json()]

    assert listed() == [other, number]
    assert listed(status="closed") == [number]
    assert listed(status="open") == [other]
    assert listed(status="open,closed") == [other, number]
    assert listed(service_code="0701") == [other]
    assert listed(service_request_id=f"{number},{other}") == [other, number]
    assert listed(jurisdiction_id="370203") == [other, number]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert listed(start_date=future) == []
    # "+08:00" sent unencoded arrives as " 08:00".
    assert listed(start_date=timezone.localtime().strftime("%Y-%m-%dT00:00:00 08:00")) == [other, number]

    root = xml(Client().get(f"{BASE}/requests.xml"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [other, number]
    assert root.find("request").findtext("address_id") == ""  # present and empty, as in the spec's examples

    for params in (
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01", "end_date": "2026-06-01"},
    ):
        response = Client().get(f"{BASE}/requests.json", params)
        assert response.status_code == 400 and response.json()[0]["code"] == 400
    response = Client().get(f"{BASE}/requests.xml", {"jurisdiction_id": "999999"})
    assert response.status_code == 404 and xml(response).findtext("error/code") == "404"


def test_errors_in_the_spec_format(key, district):
    response = post(None)
    assert response.status_code == 403
    [error] = response.json()
    assert error["code"] == 403 and "api_key" in error["description"]

    client, revoked = actions.issue_open311_key(None, "旧应用")
    actions.revoke_open311_key(None, client)
    response = post(revoked, fmt="xml")
    assert response.status_code == 403
    root = xml(response)
    assert root.tag == "errors" and root.findtext("error/code") == "403"
    assert not Case.objects.exists()

    response = post(key, service_code="9999")
    assert response.status_code == 404 and response.json()[0]["code"] == 404

    response = post(key, lat=None, long=None)
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400 and "address_string" in error["description"]
    response = post(key, fmt="xml", lat=None, long=None, service_code=None)
    assert response.status_code == 400
    root = xml(response)
    assert [e.findtext("code") for e in root.findall("error")] == ["400", "400"]
    assert "service_code" in root.findall("error")[0].findtext("description")

    # Our own checks come back named as the spec names the parameters.
    for fields, parameter in (
        ({"lat": "95"}, "lat"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"address_id": "999999", "lat": None, "long": None}, "address_id"),
    ):
        response = post(key, **fields)
        assert response.status_code == 400, fields
        assert response.json()[0]["description"].startswith(parameter + ":")
    assert not Case.objects.exists()

    assert Client().get(f"{BASE}/requests/20990101000001.json").status_code == 404
    response = Client().delete(f"{BASE}/requests.json")
    assert response.status_code == 405 and response["Allow"] == "GET, POST"


def test_public_answers_carry_no_personal_data(key, district):
    description = "楼下有人乱倒垃圾，联系我13812345678，身份证370203199001011234"
    number = post(key, description=description).json()[0]["service_request_id"]
    item = get_request(number)
    assert "13812345678" not in item["description"] and "138****5678" in item["description"]
    assert "370203199001011234" not in item["description"] and "370203********1234" in item["description"]

    # A registry address is accepted by its id; the public address stops at the building.
    address = registry_actions.create_address(
        None,
        {
            "community": OWN_COMMUNITY,
            "road": "延安三路",
            "door_number": "123",
            "building": "3",
            "unit": "2",
            "room": "502",
            **OWN_POINT,
        },
    )
    number = post(key, lat=None, long=None, address_id=str(address.pk)).json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.address == address.label and "502" in case.address and case.lat == address.lat
    item = get_request(number)
    assert item["address"] == "贮水山社区 延安三路123号 3号楼"

    # A neighbours' dispute is listed, but without its description or place.
    number = post(key, service_code="0201", description="隔壁张三家天天吵架").json()[0]["service_request_id"]
    item = get_request(number)
    assert item["service_code"] == "0201" and item["status"] == "open"
    assert (item["description"], item["address"], item["lat"], item["long"]) == (None, None, None, None)
    assert "张三" not in Client().get(f"{BASE}/requests.xml").content.decode()
