"""The dispute pages through the real HTTP stack, signed in through the login page: the list cut to the
reader's area, taking a dispute in, a whole mediation by the page's forms, refusals shown with their status,
masked parties, assignment by a manager, the set-up of mediators and the PDF papers."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.disputes.actions import procedure, reviews
from anju.disputes.models import Dispute, Mediator, State
from tests.conftest import OTHER_GRID, login
from tests.disputes.conftest import OWN_POINT, TO_CLOSING
from tests.registry.test_pages import element, flashed, html

pytestmark = pytest.mark.django_db

OTHER_POINT = {"lng": 120.315, "lat": 36.085}  # inside OTHER_GRID


def page_of(d: Dispute) -> str:
    return reverse("dispute_detail", args=[d.number])


def numbers(response) -> list[str]:
    return [d.number for d in response.context["page"]]


def act(client, d: Dispute, action: str, **fields):
    return client.post(reverse("dispute_act", args=[d.number]), {"action": action, **fields})


def refreshed(d: Dispute) -> Dispute:
    d.refresh_from_db()
    return d


def intake_post(**over) -> dict:
    """The intake form as a browser sends it: an applicant and a respondent, two rows left empty."""
    data = {
        "source": "walk_in",
        "kind": "neighbour",
        "mediation_type": "peoples",
        "summary": "楼上漏水致楼下天花板受损",
        "facts": "302室卫生间漏水，202室天花板发霉脱落。",
        "claims": "赔偿维修费3000元。",
        "amount": "3000",
        "lng": str(OWN_POINT["lng"]),
        "lat": str(OWN_POINT["lat"]),
        "address": "辽宁路街道某小区5号楼",
        "grade": "ordinary",
        "party0-role": "applicant",
        "party0-name": "张三",
        "party0-phone": "13800000001",
        "party1-role": "respondent",
        "party1-name": "李四",
        "party1-phone": "13800000002",
        "party2-role": "third",
        "party3-role": "third",
    }
    data.update(over)
    return data


def test_the_list_shows_only_disputes_in_scope(take_in, mediation, make_user):
    ours = take_in()
    outsider = make_user(Role.GRID_WORKER, OTHER_GRID)
    theirs = take_in(actor=outsider, **OTHER_POINT, address="延安路某号")
    worker = login(mediation["people"]["grid_worker"])
    r = worker.get("/disputes/", {"tab": "all"})
    assert r.status_code == 200 and numbers(r) == [ours.number]
    assert ours.summary in element(r, "table", "disputes")
    assert numbers(login(outsider).get("/disputes/", {"tab": "all"})) == [theirs.number]
    # The room's mediator starts on the disputes they lead.
    r = login(mediation["people"]["room_mediator"]).get("/disputes/")
    assert r.context["tab"] == "mine" and numbers(r) == [ours.number]
    assert numbers(worker.get("/disputes/", {"tab": "all", "q": "不存在"})) == []
    assert 'href="/disputes/"' in html(worker.get("/"))


def test_the_intake_form_takes_a_dispute_in(mediation):
    client = login(mediation["people"]["grid_worker"])
    assert client.get("/disputes/new/").status_code == 200
    r = client.post("/disputes/new/", intake_post(flags=["threats"]))
    d = Dispute.objects.get()
    assert r.status_code == 302 and r["Location"] == page_of(d)
    assert [p.name for p in d.parties.all()] == ["张三", "李四"]
    assert (d.state, d.grade, d.flags) == (State.RECEIVED, "difficult", ["threats"])


def test_a_reported_neighbours_case_is_taken_in_for_mediation(mediation):
    from anju.cases import actions as case_actions

    worker = mediation["people"]["grid_worker"]
    case, _ = case_actions.report_case(
        worker, {"category": "0201", "description": "楼上噪音扰民多次协商无果", **OWN_POINT}, "field"
    )
    client = login(worker)
    assert f"/disputes/new/?case={case.number}" in html(client.get(case.get_absolute_url()))
    r = client.get("/disputes/new/", {"case": case.number})
    initial = r.context["form"].initial
    assert (initial["source"], initial["kind"], initial["cases"]) == ("case", "neighbour", case.number)
    assert client.get("/disputes/new/", {"case": "NO-SUCH"}).status_code == 404
    r = client.post("/disputes/new/", intake_post(source="case", cases=case.number))
    d = Dispute.objects.get()
    assert r.status_code == 302 and list(d.cases.all()) == [case]
    assert d.number in html(client.get(case.get_absolute_url()))


def test_the_intake_form_without_a_respondent_is_422(mediation):
    client = login(mediation["people"]["grid_worker"])
    r = client.post("/disputes/new/", intake_post(**{"party1-name": "", "party1-phone": ""}))
    assert r.status_code == 422 and not Dispute.objects.exists()
    assert gettext("A dispute has parties: give at least an applicant and a respondent.") in element(
        r, "div", "form-errors"
    )


def test_a_whole_mediation_by_the_page(take_in, mediation):
    d = take_in()
    client = login(mediation["people"]["room_mediator"])
    assert {f.step for f in client.get(page_of(d)).context["step_forms"]} == {"accept", "decline", "escalate", "refer"}
    for action, fields in (("accept", {}), ("inform", {}), ("investigate", {"note": "现场查看，确认漏水点。"})):
        r = act(client, d, action, **fields)
        assert r.status_code == 302, flashed(client.get(page_of(d)))
    held = timezone.localtime() - timedelta(hours=1)
    r = client.post(
        reverse("dispute_session", args=[d.number]),
        {
            "session-at": held.strftime("%Y-%m-%dT%H:%M"),
            "session-attendees": "张三、李四",
            "session-minutes": "双方陈述，李四同意赔偿。",
            "session-outcome": "agreement",
            "session-grade": "ordinary",
        },
    )
    assert r.status_code == 302 and refreshed(d).state == State.MEDIATING
    deadline = (timezone.localdate() + timedelta(days=10)).isoformat()
    r = client.post(
        reverse("dispute_agreement", args=[d.number]),
        {
            "agreement-facts": "302室漏水致202室天花板受损。",
            "agreement-responsibilities": "李四负主要责任。",
            "agreement-method": "现金一次性支付",
            "agreement-deadline": deadline,
            "term0-obligor": "李四",
            "term0-text": "赔偿张三维修费2500元",
        },
    )
    assert r.status_code == 302 and refreshed(d).state == State.AGREED
    page = client.get(page_of(d))
    assert "赔偿张三维修费2500元" in element(page, "table", "terms")
    paper = client.get(reverse("dispute_agreement_pdf", args=[d.number]))
    assert paper.status_code == 200 and paper["Content-Type"] == "application/pdf"
    audited = AuditEvent.objects.get(action="dispute.agreement_pdf", object_id=d.number)
    assert json.loads(audited.detail) == {"version": 1}
    assert client.post(reverse("dispute_term", args=[d.number]), {"order": "1", "state": "done"}).status_code == 302
    visit = {"visit-method": "phone", "visit-performed": "yes", "visit-satisfied": "yes", "visit-flare_up": "no"}
    assert client.post(reverse("dispute_follow_up", args=[d.number]), visit).status_code == 302
    assert act(client, d, "close").status_code == 302
    assert refreshed(d).state == State.CLOSED
    assert list(d.events.values_list("action", flat=True)) == TO_CLOSING
    timeline = element(client.get(page_of(d)), "ol", "timeline")
    assert str(State.AGREED.label) in timeline and "现场查看，确认漏水点。" in timeline
    # The station chief reviews the closed dossier against the checklist.
    chief = login(mediation["people"]["chief"])
    assert "review" in chief.get(page_of(d)).context["forms"]
    scores = {f"review-{code}": str(points) for code, _label, points in reviews.CHECKLIST}
    r = chief.post(reverse("dispute_review", args=[d.number]), {**scores, "review-intake": "8"})
    assert r.status_code == 302 and d.reviews.get().total == 98


def test_an_illegal_step_is_409_and_changes_nothing(take_in, mediation):
    d = take_in()
    client = login(mediation["people"]["room_mediator"])
    r = act(client, d, "investigate", note="x")
    assert r.status_code == 409
    refusal = gettext("“%(action)s” is not possible while the dispute is “%(state)s”.") % {
        "action": procedure.ACTION_LABELS["investigate"],
        "state": State.RECEIVED.label,
    }
    assert refusal in flashed(r)
    assert refreshed(d).state == State.RECEIVED and d.events.count() == 1
    # A step's missing reason is 422, next to its field.
    r = act(client, d, "decline", reason="已起诉")
    assert r.status_code == 422 and refreshed(d).state == State.RECEIVED


def test_parties_are_masked_for_a_grid_worker_and_full_for_the_mediator(take_in, mediation):
    d = take_in()
    worker = element(login(mediation["people"]["grid_worker"]).get(page_of(d)), "div", "parties")
    assert "138****0001" in worker and "13800000001" not in worker
    mediator = element(login(mediation["people"]["room_mediator"]).get(page_of(d)), "div", "parties")
    assert "13800000001" in mediator


def test_a_manager_assigns_a_lead(take_in, mediation):
    d = take_in()
    lawyer, labour = mediation["mediators"]["lawyer"], mediation["mediators"]["labour"]
    chief = login(mediation["people"]["chief"])
    assert "assign" in {f.step for f in chief.get(page_of(d)).context["step_forms"]}
    r = act(chief, d, "assign", lead=str(lawyer.pk), mediators=[str(labour.pk)])
    assert r.status_code == 302
    assert refreshed(d).lead == lawyer and set(d.mediators.all()) == {lawyer, labour}
    # The room's mediator may not assign.
    r = act(login(mediation["people"]["room_mediator"]), d, "assign", lead=str(labour.pk))
    assert r.status_code == 403 and refreshed(d).lead == lawyer


def test_a_grid_worker_sees_no_step_forms(take_in, mediation):
    d = take_in()
    r = login(mediation["people"]["grid_worker"]).get(page_of(d))
    assert r.status_code == 200 and r.context["step_forms"] == [] and r.context["forms"] == {}
    assert 'id="actions"' not in html(r) and 'id="dossier-pdf"' not in html(r)
    assert act(login(mediation["people"]["grid_worker"]), d, "accept").status_code == 403


def test_the_setup_page_adds_a_mediator(mediation):
    chief = login(mediation["people"]["chief"])
    assert chief.get("/disputes/setup/").status_code == 200
    assert chief.get(reverse("dispute_setup_room_edit", args=[mediation["rooms"]["street"].pk])).status_code == 200
    room = mediation["rooms"]["station"]
    r = chief.post(
        "/disputes/setup/mediators/new/",
        {
            "name": "周律师",
            "kind": "lawyer",
            "specialties": ["labour", "loan"],
            "division": room.division.code,
            "room": str(room.pk),
            "in_pool": "on",
            "capacity": "5",
            "active": "on",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/disputes/setup/"
    added = Mediator.objects.get(name="周律师")
    assert (added.specialties, added.room, added.in_pool, added.capacity) == (["labour", "loan"], room, True, 5)
    assert "周律师" in element(chief.get("/disputes/setup/"), "table", "mediators")
    # Without disputes.manage, 403.
    assert login(mediation["people"]["grid_worker"]).get("/disputes/setup/").status_code == 403


def test_the_papers_are_pdf_for_the_mediator_and_403_for_a_grid_worker(take_in, mediation):
    d = take_in()
    mediator = login(mediation["people"]["room_mediator"])
    r = mediator.get(reverse("dispute_dossier_pdf", args=[d.number]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="dispute.dossier_pdf", object_id=d.number).exists()
    # No agreement yet: nothing to print.
    assert mediator.get(reverse("dispute_agreement_pdf", args=[d.number])).status_code == 404
    worker = login(mediation["people"]["grid_worker"])
    for name in ("dispute_dossier_pdf", "dispute_agreement_pdf"):
        assert worker.get(reverse(name, args=[d.number])).status_code == 403
