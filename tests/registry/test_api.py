"""The registry API through the real HTTP stack: people, verification, addresses, houses, check-in/out."""

import pytest

from anju.core.models import AuditEvent
from anju.registry.models import Person, Residence, Revision, Status
from tests.conftest import OWN_GRID, token_client
from tests.registry.conftest import OWN_COMMUNITY, house_data, id_number, uscc

pytestmark = pytest.mark.django_db


def _post(client, auth, url, body):
    return client.post(url, body, content_type="application/json", **auth)


def test_collect_person_in_a_house_checks_them_in(household, worker):
    client, auth = token_client(worker)
    number = id_number("19880808", "456", "320102")
    r = _post(
        client,
        auth,
        "/api/v1/people",
        {
            "name": "赵敏",
            "id_number": number,
            "phone": "13712345678",
            "kind": "floating",
            "house": household["house"].pk,
            "relation": "tenant",
            "from": "2026-11-20",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id_number"] == "320102********" + number[-4:]
    assert body["phone"] == "137****5678"
    assert body["name"] == "赵敏"  # a grid worker meets the people: names in full
    assert body["sex"] == "female" and body["birth_year"] == 1988
    assert body["status"] == "pending"
    [res] = body["residences"]
    assert res["relation"] == "tenant" and res["registration_due"] == "2026-11-23"


@pytest.mark.parametrize(
    ("field", "value"),
    [("id_number", "370203199001011230"), ("phone", "12345"), ("kind", "martian"), ("name", "")],
)
def test_bad_person_input_is_422_naming_the_field(household, worker, field, value):
    client, auth = token_client(worker)
    body = {"name": "赵敏", "id_number": id_number(), "phone": "13712345678", "grid": OWN_GRID, field: value}
    r = _post(client, auth, "/api/v1/people", body)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field and r.json()["detail"].startswith(field + ": ")
    assert not Person.objects.filter(name="赵敏").exists()


def test_duplicate_person_is_409(household, worker):
    client, auth = token_client(worker)
    body = {"name": "李强", "id_number": household["tenant"].id_number, "grid": OWN_GRID}
    assert _post(client, auth, "/api/v1/people", body).status_code == 409


def test_person_detail_masked_and_audited_unmask_needs_reason(household, worker, make_user):
    tenant = household["tenant"]
    client, auth = token_client(worker)
    r = client.get(f"/api/v1/people/{tenant.pk}", **auth)
    assert r.status_code == 200 and r.json()["masked"] and tenant.id_number not in r.content.decode()
    assert AuditEvent.objects.filter(action="person.view", object_id=str(tenant.pk)).exists()
    r = client.get(f"/api/v1/people/{tenant.pk}?unmask=true", **auth)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.get(f"/api/v1/people/{tenant.pk}?unmask=true&reason=上门核查", **auth)
    assert r.status_code == 200 and r.json()["id_number"] == tenant.id_number
    event = AuditEvent.objects.filter(action="person.unmask").last()
    assert event.purpose == "上门核查" and event.object_id == str(tenant.pk)
    # A mediator reads masked names and may not unmask.
    mediator_client, mediator_auth = token_client(make_user("mediator", OWN_COMMUNITY))
    r = mediator_client.get(f"/api/v1/people/{tenant.pk}", **mediator_auth)
    assert r.status_code == 200 and r.json()["name"] == "李*"
    r = mediator_client.get(f"/api/v1/people/{tenant.pk}?unmask=true&reason=调解", **mediator_auth)
    assert r.status_code == 403


def test_patch_is_pending_until_verified_and_reject_returns_reason(
    household, worker, officer, django_capture_on_commit_callbacks
):
    owner = household["owner"]
    client, auth = token_client(worker)
    r = client.patch(f"/api/v1/people/{owner.pk}", {"phone": "13612345678"}, content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["pending"] == ["phone"]
    owner.refresh_from_db()
    assert owner.phone == "13812345678" and owner.pending == {"phone": "13612345678"}
    officer_client, officer_auth = token_client(officer)
    r = _post(officer_client, officer_auth, f"/api/v1/people/{owner.pk}/verify", {})
    assert r.status_code == 200 and r.json() == {
        "id": owner.pk,
        "status": "verified",
        "pending": [],
        "reject_reason": "",
    }
    owner.refresh_from_db()
    assert owner.phone == "13612345678"
    revision = Revision.objects.filter(record_type="person", record_id=owner.pk, action="verify").first()
    assert revision.changes == {"phone": ["13812345678", "13612345678"]}
    # Nothing pending any more: a second verify is a conflict.
    assert _post(officer_client, officer_auth, f"/api/v1/people/{owner.pk}/verify", {}).status_code == 409
    # Reject needs a reason; the collector is told.
    tenant = household["tenant"]
    assert _post(officer_client, officer_auth, f"/api/v1/people/{tenant.pk}/reject", {"reason": ""}).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        r = _post(officer_client, officer_auth, f"/api/v1/people/{tenant.pk}/reject", {"reason": "身份证号与本人不符"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert worker.notifications.filter(body="身份证号与本人不符").exists()


def test_worker_cannot_verify(household, worker):
    client, auth = token_client(worker)
    r = _post(client, auth, f"/api/v1/people/{household['tenant'].pk}/verify", {})
    assert r.status_code == 403
    assert Person.objects.get(pk=household["tenant"].pk).status == Status.PENDING


def test_addresses_create_duplicate_and_parse(household, officer):
    client, auth = token_client(officer)
    r = _post(client, auth, "/api/v1/addresses", house_data(room="六〇一", building="三号楼"))
    assert r.status_code == 201, r.content
    assert r.json()["building"] == "3" and r.json()["room"] == "六〇一" or r.json()["room"] == "601"
    assert _post(client, auth, "/api/v1/addresses", house_data(room="502")).status_code == 409
    r = _post(client, auth, "/api/v1/addresses/parse", {"text": "青岛市市北区延安三路１２３号鲁邦国际三号楼2单元502室"})
    assert r.status_code == 200
    body = r.json()
    assert body["fields"]["building"] == "3" and body["fields"]["room"] == "502"
    assert body["matches"][0]["id"] == household["house"].address_id and body["matches"][0]["score"] == 1.0


def test_check_out_retires_without_deleting(household, worker):
    client, auth = token_client(worker)
    residence = household["residence"]
    r = _post(client, auth, f"/api/v1/residences/{residence.pk}/check-out", {"to": "2026-01-05"})
    assert r.status_code == 422 and r.json()["field"] == "to"
    r = _post(client, auth, f"/api/v1/residences/{residence.pk}/check-out", {"to": "2026-11-01", "reason": "合同到期"})
    assert r.status_code == 200 and r.json()["to"] == "2026-11-01"
    assert Residence.objects.filter(pk=residence.pk, end__isnull=False).exists()
    assert _post(client, auth, f"/api/v1/residences/{residence.pk}/check-out", {"to": "2026-11-02"}).status_code == 409
    r = client.get(f"/api/v1/houses/{household['house'].pk}", **auth)
    assert [x["person"] for x in r.json()["residents"]] == [household["owner"].pk]


def test_overdue_list_and_search(household, worker):
    client, auth = token_client(worker)
    r = client.get("/api/v1/residences/overdue", **auth)
    assert [x["id"] for x in r.json()] == [household["residence"].pk]
    for q, expected in [
        (household["tenant"].id_number, "id_number"),
        ("13912345678", "phone"),
        ("李强", "name"),
        ("延安三路123号鲁邦国际3号楼2单元502室", "address"),
    ]:
        r = client.get("/api/v1/people", {"q": q}, **auth)
        assert r.json()["query"] == expected
        assert household["tenant"].pk in [p["id"] for p in r.json()["results"]], q


def test_organizations_and_vehicles(household, officer):
    client, auth = token_client(officer)
    code = uscc()
    body = {
        "name": "鲁邦便利店",
        "uscc": code,
        "kind": "shop",
        "address": household["house"].address_id,
        "key_unit": True,
    }
    r = _post(client, auth, "/api/v1/organizations", body)
    assert r.status_code == 201, r.content
    assert _post(client, auth, "/api/v1/organizations", body).status_code == 409
    bad = {**body, "uscc": code[:17] + ("0" if code[-1] != "0" else "1")}
    assert _post(client, auth, "/api/v1/organizations", bad).json()["field"] == "uscc"
    r = _post(client, auth, "/api/v1/vehicles", {"plate": "鲁B·D12345", "owner": household["owner"].pk})
    assert r.status_code == 201 and r.json()["plate"] == "鲁BD12345" and r.json()["kind"] == "new_energy"
    assert (
        _post(client, auth, "/api/v1/vehicles", {"plate": "鲁BI2345", "owner": household["owner"].pk}).json()["field"]
        == "plate"
    )
    r = client.get("/api/v1/people", {"q": "鲁BD12345"}, **auth)
    assert [p["id"] for p in r.json()["results"]] == [household["owner"].pk]


def test_responsible_worker(household, officer, worker, make_user):
    client, auth = token_client(officer)
    building = household["house"].building
    r = client.put(
        f"/api/v1/buildings/{building.pk}/responsible",
        {"username": worker.username},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 200 and r.json()["responsible"] == worker.username
    stranger = make_user("grid_worker", "370203006002002")
    r = client.put(
        f"/api/v1/buildings/{building.pk}/responsible",
        {"username": stranger.username},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 422 and r.json()["field"] == "responsible"


def test_building_facts(household, officer, worker):
    client, auth = token_client(officer)
    body = {
        **house_data(),
        "unit": "",
        "room": "",
        "floors": 18,
        "units": 3,
        "steward_name": "刘洋",
        "steward_phone": "13512345678",
    }
    r = _post(client, auth, "/api/v1/buildings", body)
    assert r.status_code == 200, r.content
    assert r.json()["id"] == household["house"].building_id and r.json()["floors"] == 18 and r.json()["houses"] == 1
    assert _post(client, auth, "/api/v1/buildings", {**body, "floors": 500}).json()["field"] == "floors"
    worker_client, worker_auth = token_client(worker)
    assert _post(worker_client, worker_auth, "/api/v1/buildings", body).status_code == 403


def test_named_routes_are_not_taken_for_ids(household, worker):
    client, auth = token_client(worker)
    assert client.get("/api/v1/residences/overdue", **auth).status_code == 200
    assert _post(client, auth, "/api/v1/addresses/parse", {"text": "延安三路123号"}).status_code == 200
