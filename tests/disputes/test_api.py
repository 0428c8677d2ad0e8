"""The disputes API through the real HTTP stack: intake, the procedure's steps, the records, the PDFs,
scope and masking, the mediators and rooms, and the errors (403, 404, 409, 422 naming the field)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.disputes.actions import procedure, setup
from anju.disputes.models import Mediator
from tests.conftest import OTHER_GRID, token_client
from tests.disputes.conftest import DISTRICT, TO_CLOSING, dispute_data

pytestmark = pytest.mark.django_db

SESSION = {"attendees": "张三、李四", "minutes": "双方陈述，李四同意赔偿。", "outcome": "agreement"}


def post(client, auth, url, body=None):
    return client.post(url, body or {}, content_type="application/json", **auth)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def step(client, auth, number, action, **body):
    return post(client, auth, f"/api/v1/disputes/{number}/transitions", {"action": action, **body})


def today() -> str:
    return timezone.localdate().isoformat()


def agreement_body(**over) -> dict:
    deadline = (timezone.localdate() + timedelta(days=14)).isoformat()
    body = {
        "facts": "302室漏水致202室天花板受损。",
        "responsibilities": "李四负主要责任。",
        "method": "现金一次性支付",
        "deadline": deadline,
        "signed_on": today(),
        "terms": [{"obligor": "李四", "text": "赔偿张三维修费2500元"}],
    }
    body.update(over)
    return body


def take_in(people, **over) -> dict:
    """A dispute taken in over HTTP by the grid worker."""
    client, auth = token_client(people["grid_worker"])
    return ok(post(client, auth, "/api/v1/disputes", dispute_data(**over)), 201)


def open_session(client, auth, number) -> None:
    """Accept, inform, investigate and record a session: the dispute is then being mediated."""
    ok(step(client, auth, number, "accept"))
    ok(step(client, auth, number, "inform"))
    ok(step(client, auth, number, "investigate", note="现场查看，确认漏水点。"))
    ok(post(client, auth, f"/api/v1/disputes/{number}/sessions", SESSION), 201)


def detail(client, auth, number) -> dict:
    return ok(client.get(f"/api/v1/disputes/{number}", **auth))


# --- A whole dispute -------------------------------------------------------------------------------


def test_a_dispute_from_intake_to_closing(mediation):
    people, mediators = mediation["people"], mediation["mediators"]
    created = take_in(people)
    assert created["number"].startswith("JF") and created["id"] == created["number"]
    assert (created["state"], created["grade"], created["level"], created["lead"], created["room"]) == (
        "received",
        "ordinary",
        "room",
        mediators["room_mediator"].pk,
        mediation["rooms"]["community"].pk,
    )
    assert created["due_at"] is None and created["repeat_of"] is None
    number = created["number"]
    client, auth = token_client(people["room_mediator"])
    assert detail(client, auth, number)["actions"] == ["accept", "decline", "escalate", "refer"]

    accepted = ok(step(client, auth, number, "accept", note="受理"))
    assert accepted["state"] == "accepted" and accepted["due_at"].endswith("+08:00")
    assert accepted["event"]["action"] == "accept" and accepted["event"]["from"] == "received"
    ok(step(client, auth, number, "inform"))
    ok(step(client, auth, number, "investigate", note="现场查看，确认漏水点。"))
    held = (timezone.localtime() - timedelta(hours=1)).replace(microsecond=0, tzinfo=None).isoformat()
    session = ok(post(client, auth, f"/api/v1/disputes/{number}/sessions", {**SESSION, "at": held}), 201)
    assert session["number"] == 1 and session["mediators"] == "王调解"
    agreement = ok(post(client, auth, f"/api/v1/disputes/{number}/agreement", agreement_body()), 201)
    assert (agreement["version"], agreement["versions"]) == (1, 1)
    assert agreement["terms"][0]["due_on"] == agreement["deadline"] and agreement["terms"][0]["state"] == "pending"

    pdf = client.get(f"/api/v1/disputes/{number}/agreement.pdf", **auth)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    row = AuditEvent.objects.get(action="dispute.agreement_pdf")
    assert (row.object_id, row.username, row.detail) == (number, people["room_mediator"].username, '{"version": 1}')

    ok(step(client, auth, number, "close"), 409)
    term = ok(post(client, auth, f"/api/v1/disputes/{number}/terms/1", {"state": "done", "note": "已付清"}))
    assert term["state"] == "done" and term["settled_at"] is not None
    visit = {"method": "phone", "performed": True, "satisfied": True, "flare_up": False, "note": "双方满意"}
    assert ok(post(client, auth, f"/api/v1/disputes/{number}/follow-ups", visit), 201)["performed"] is True
    assert ok(step(client, auth, number, "close"))["state"] == "closed"

    seen = detail(client, auth, number)
    assert (seen["state"], seen["outcome"], seen["settled_level"], seen["concluded_late"]) == (
        "closed",
        "agreement",
        "room",
        False,
    )
    assert [e["action"] for e in seen["events"]] == TO_CLOSING
    assert [a["context"] for a in seen["assessments"]] == ["intake", "session"]
    assert seen["agreement"]["terms"][0]["note"] == "已付清" and seen["follow_ups"][0]["method"] == "phone"
    assert seen["parties"][0]["phone"] == "13800000001" and seen["actions"] == []


def test_court_confirmation_a_new_agreement_version_and_the_dossier_review(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    open_session(client, auth, number)
    ok(post(client, auth, f"/api/v1/disputes/{number}/agreement", agreement_body()), 201)
    second = ok(post(client, auth, f"/api/v1/disputes/{number}/agreement", agreement_body(method="分两期支付")), 201)
    assert (second["version"], second["versions"]) == (2, 2)
    assert client.get(f"/api/v1/disputes/{number}/agreement.pdf?version=1", **auth).status_code == 200
    assert client.get(f"/api/v1/disputes/{number}/agreement.pdf?version=3", **auth).status_code == 404

    court = ok(
        post(client, auth, f"/api/v1/disputes/{number}/court", {"court": "市北区人民法院", "applied_on": today()}), 201
    )
    assert (court["answer"], court["agreement_version"]) == ("pending", 2)
    answer = {"answer": "confirmed", "answered_on": today()}
    assert ok(post(client, auth, f"/api/v1/disputes/{number}/court/answer", answer))["answer"] == "confirmed"
    ok(post(client, auth, f"/api/v1/disputes/{number}/court/answer", answer), 409)

    dossier = client.get(f"/api/v1/disputes/{number}/dossier.pdf", **auth)
    assert dossier.status_code == 200 and dossier.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="dispute.dossier_pdf", object_id=number).exists()

    scores = {"intake": 10, "rights": 10, "investigation": 15, "minutes": 15, "outcome": 20}
    scores |= {"performance": 8, "follow_up": 5, "order": 10}
    ok(post(client, auth, f"/api/v1/disputes/{number}/reviews", {"scores": scores}), 403)
    chief, chief_auth = token_client(people["chief"])
    bad = ok(post(chief, chief_auth, f"/api/v1/disputes/{number}/reviews", {"scores": {**scores, "order": 11}}), 422)
    assert bad["field"] == "order"
    review = ok(
        post(chief, chief_auth, f"/api/v1/disputes/{number}/reviews", {"scores": scores, "comment": "回访偏晚"}), 201
    )
    assert review["total"] == 93 and review["reviewer"] == people["chief"].username
    seen = detail(chief, chief_auth, number)
    assert seen["court_confirmation"]["answer"] == "confirmed" and seen["reviews"][0]["total"] == 93


def test_a_terminated_dispute(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    open_session(client, auth, number)
    missing = ok(step(client, auth, number, "terminate", reason="双方分歧过大"), 422)
    assert missing["field"] == "other_routes"
    ended = ok(step(client, auth, number, "terminate", reason="双方分歧过大", other_routes="向人民法院起诉"))
    assert ended["state"] == "terminated" and ended["event"]["data"]["other_routes"] == "向人民法院起诉"
    ok(post(client, auth, f"/api/v1/disputes/{number}/agreement", agreement_body()), 409)
    assert ok(step(client, auth, number, "close"))["state"] == "closed"
    seen = detail(client, auth, number)
    assert (seen["outcome"], seen["outcome_reason"], seen["agreement"]) == ("terminated", "双方分歧过大", None)


def test_a_declined_dispute(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    declined = ok(step(client, auth, number, "decline", reason="已向法院起诉", other_routes="等待法院判决"))
    assert declined["state"] == "declined"
    ok(step(client, auth, number, "accept"), 409)
    seen = detail(client, auth, number)
    assert (seen["outcome"], seen["other_routes"], seen["actions"]) == ("declined", "等待法院判决", [])


def test_escalation_up_the_levels(mediation):
    people, mediators = mediation["people"], mediation["mediators"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    assert ok(step(client, auth, number, "escalate"), 422)["field"] == "note"
    up = ok(step(client, auth, number, "escalate", note="双方分歧大，需专家介入"))
    assert up["level"] == "expert" and up["lead"] in (mediators["lawyer"].pk, mediators["labour"].pk)
    assert up["event"]["data"] == {"from_level": "room", "to_level": "expert"}
    # Above the first level the room's mediator may still read the dispute, but no longer mediates it.
    ok(step(client, auth, number, "escalate", note="再上一级"), 403)
    chief, chief_auth = token_client(people["chief"])
    top = ok(step(chief, chief_auth, number, "escalate", note="需街道联调"))
    assert (top["level"], top["lead"]) == ("joint", mediators["joint"].pk)
    ok(step(chief, chief_auth, number, "escalate", note="已是最高级"), 409)
    seen = detail(chief, chief_auth, number)
    assert (seen["escalation_count"], seen["first_level"], seen["room_name"]) == (2, "room", "街道联调中心")
    assert "escalate" not in seen["actions"] and "assign" in seen["actions"]


def test_assigning_a_lead_is_for_managers(mediation):
    people, mediators = mediation["people"], mediation["mediators"]
    number = take_in(people)["number"]
    lawyer = mediators["lawyer"].pk
    client, auth = token_client(people["room_mediator"])
    ok(step(client, auth, number, "assign", lead=lawyer), 403)
    chief, chief_auth = token_client(people["chief"])
    assert ok(step(chief, chief_auth, number, "assign", lead=0), 422)["field"] == "lead"
    assigned = ok(step(chief, chief_auth, number, "assign", lead=lawyer, mediators=[mediators["labour"].pk]))
    assert assigned["lead"] == lawyer
    assert {m["name"] for m in detail(chief, chief_auth, number)["mediators"]} == {"李律师", "赵专家"}


# --- Errors ----------------------------------------------------------------------------------------


def test_an_illegal_step_conflicts_and_an_unknown_one_is_invalid(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    conflict = ok(step(client, auth, number, "investigate", note="x"), 409)
    assert str(procedure.ACTION_LABELS["investigate"]) in conflict["detail"]
    ok(post(client, auth, f"/api/v1/disputes/{number}/sessions", SESSION), 409)
    ok(post(client, auth, f"/api/v1/disputes/{number}/terms/1", {"state": "done"}), 409)
    assert ok(step(client, auth, number, "agreement"), 422)["field"] == "action"
    assert [e["action"] for e in detail(client, auth, number)["events"]] == ["receive"]


# Each bad intake and the field its refusal names.
BAD_INTAKES = [
    ({"parties": []}, "parties"),
    ({"parties": [{"role": "applicant", "name": "张三"}]}, "parties"),
    ({"flags": ["weapons", "curses"]}, "flags"),
    ({"parties": [{"role": "applicant", "name": "张三", "id_number": "12345"}]}, "parties[0].id_number"),
    ({"parties": [{"role": "witness", "name": "张三"}]}, "parties[0].role"),
    ({"kind": "quarrel"}, "kind"),
    ({"amount": "a lot"}, "amount"),
]


def test_intake_refusals_name_the_field(mediation):
    client, auth = token_client(mediation["people"]["grid_worker"])
    for over, field in BAD_INTAKES:
        refused = ok(post(client, auth, "/api/v1/disputes", dispute_data(**over)), 422)
        assert refused["field"] == field, over
    assert ok(client.get("/api/v1/disputes", **auth)) == []


def test_record_refusals_name_the_field(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    for action in ("accept", "inform"):
        ok(step(client, auth, number, action))
    url = f"/api/v1/disputes/{number}"
    assert ok(post(client, auth, f"{url}/sessions", {**SESSION, "at": "yesterday"}), 422)["field"] == "at"
    assert ok(post(client, auth, f"{url}/sessions", {**SESSION, "outcome": "maybe"}), 422)["field"] == "outcome"
    ok(post(client, auth, f"{url}/sessions", SESSION), 201)
    bad_date = ok(post(client, auth, f"{url}/agreement", agreement_body(deadline="2026-13-45")), 422)
    assert bad_date["field"] == "deadline"
    no_terms = ok(post(client, auth, f"{url}/agreement", agreement_body(terms=[])), 422)
    assert no_terms["field"] == "terms"
    bad_term = agreement_body(terms=[{"obligor": "李四", "text": "赔偿", "due_on": "someday"}])
    assert ok(post(client, auth, f"{url}/agreement", bad_term), 422)["field"] == "terms[0].due_on"
    assert ok(post(client, auth, f"{url}/assessments", {"flags": ["curses"]}), 422)["field"] == "flags"


def test_reading_outside_scope_is_not_found(mediation, make_user):
    people = mediation["people"]
    number = take_in(people)["number"]
    outsider = make_user(Role.GRID_WORKER, OTHER_GRID)
    client, auth = token_client(outsider)
    assert client.get(f"/api/v1/disputes/{number}", **auth).status_code == 404
    assert step(client, auth, number, "accept").status_code == 404
    assert ok(client.get("/api/v1/disputes", **auth)) == []
    assert client.get("/api/v1/disputes/JF2099010100001", **auth).status_code == 404


def test_documents_and_intake_are_refused_to_those_without_the_right(mediation, make_user):
    people = mediation["people"]
    number = take_in(people)["number"]
    client, auth = token_client(people["room_mediator"])
    open_session(client, auth, number)
    ok(post(client, auth, f"/api/v1/disputes/{number}/agreement", agreement_body()), 201)
    worker, worker_auth = token_client(people["grid_worker"])
    assert worker.get(f"/api/v1/disputes/{number}", **worker_auth).status_code == 200
    assert worker.get(f"/api/v1/disputes/{number}/agreement.pdf", **worker_auth).status_code == 403
    assert worker.get(f"/api/v1/disputes/{number}/dossier.pdf", **worker_auth).status_code == 403
    assert not AuditEvent.objects.filter(action__endswith="_pdf").exists()
    ok(post(worker, worker_auth, f"/api/v1/disputes/{number}/terms/1", {"state": "done"}), 403)
    staff, staff_auth = token_client(make_user(Role.DEPARTMENT_STAFF, DISTRICT))
    assert post(staff, staff_auth, "/api/v1/disputes", dispute_data()).status_code == 403
    assert client.get("/api/v1/disputes").status_code == 401


def test_parties_are_masked_for_a_grid_worker(mediation):
    people = mediation["people"]
    number = take_in(people)["number"]
    worker, worker_auth = token_client(people["grid_worker"])
    masked = detail(worker, worker_auth, number)
    assert [(p["name"], p["phone"]) for p in masked["parties"]] == [("张*", "138****0001"), ("李*", "138****0002")]
    assert masked["actions"] == []
    client, auth = token_client(people["room_mediator"])
    assert detail(client, auth, number)["parties"][1]["phone"] == "13800000002"


# --- Lists -----------------------------------------------------------------------------------------


def test_list_filters(mediation):
    people = mediation["people"]
    leak = take_in(people)["number"]
    wages = take_in(people, kind="labour", summary="拖欠工资两个月", flags=["repeated_calls"])["number"]
    client, auth = token_client(people["room_mediator"])
    ok(step(client, auth, leak, "decline", reason="不属于调解范围", other_routes="向住建部门投诉"))

    def numbers(query: str) -> list[str]:
        return [d["number"] for d in ok(client.get(f"/api/v1/disputes{query}", **auth))]

    chief, chief_auth = token_client(people["chief"])
    assert [d["number"] for d in ok(chief.get("/api/v1/disputes", **chief_auth))] == [wages, leak]
    client, auth = chief, chief_auth
    assert numbers("?open=true") == [wages]
    assert numbers("?state=declined") == [leak]
    assert numbers("?grade=difficult&level=expert") == [wages]
    assert numbers("?kind=labour") == [wages]
    assert numbers("?q=工资") == [wages] and numbers(f"?q={leak[-5:]}") == [leak]
    assert numbers("?limit=1&offset=1") == [leak]
    assert ok(client.get("/api/v1/disputes?state=bogus", **auth), 422)["field"] == "state"


def test_mediators_with_their_load_and_masked_phones(mediation):
    people, mediators = mediation["people"], mediation["mediators"]
    Mediator.objects.filter(pk=mediators["room_mediator"].pk).update(phone="13900001111")
    take_in(people)
    worker, worker_auth = token_client(people["grid_worker"])
    listed = {m["name"]: m for m in ok(worker.get("/api/v1/mediators", **worker_auth))}
    assert set(listed) == {"王调解", "李律师", "赵专家", "孙主任"}
    room = listed["王调解"]
    assert (room["load"], room["capacity"], room["phone"], room["room_name"]) == (1, 8, "139****1111", "笑脸调解室")
    assert listed["李律师"]["load"] == 0 and listed["李律师"]["specialties"] == ["family", "loan"]
    chief, chief_auth = token_client(people["chief"])
    assert ok(chief.get(f"/api/v1/mediators/{mediators['room_mediator'].pk}", **chief_auth))["phone"] == "13900001111"

    def names(query: str) -> list[str]:
        return [m["name"] for m in ok(worker.get(f"/api/v1/mediators{query}", **worker_auth))]

    assert names("?specialty=labour") == ["赵专家"]
    assert sorted(names("?in_pool=true")) == sorted(["李律师", "赵专家"])
    assert names("?kind=lawyer") == ["李律师"]
    assert ok(worker.get("/api/v1/mediators?specialty=magic", **worker_auth), 422)["field"] == "specialty"


def test_another_streets_mediator_is_not_found(mediation):
    elsewhere = setup.save_mediator(None, {"name": "周调解", "kind": "peoples", "division": "370203006"})
    client, auth = token_client(mediation["people"]["room_mediator"])
    assert client.get(f"/api/v1/mediators/{elsewhere.pk}", **auth).status_code == 404
    assert "周调解" not in [m["name"] for m in ok(client.get("/api/v1/mediators", **auth))]
    assert ok(client.get(f"/api/v1/mediators/{mediation['mediators']['joint'].pk}", **auth))["name"] == "孙主任"


def test_mediation_rooms_in_scope(mediation):
    chief, chief_auth = token_client(mediation["people"]["chief"])
    rooms = {r["name"]: r for r in ok(chief.get("/api/v1/mediation-rooms", **chief_auth))}
    assert set(rooms) == {"笑脸调解室", "派出所调解中心", "街道联调中心"}
    assert rooms["笑脸调解室"]["kind"] == "community" and rooms["笑脸调解室"]["division"] == "370203005011"
    client, auth = token_client(mediation["people"]["room_mediator"])
    assert [r["name"] for r in ok(client.get("/api/v1/mediation-rooms", **auth))] == ["笑脸调解室"]
