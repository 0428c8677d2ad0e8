"""Settled at the scene (出门一把抓): the officer who took a dispute on the spot records it settled there
in one go, through the action, the API and the dispute's page; a refusal anywhere takes back every step."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from anju.core.errors import Conflict, InvalidField
from anju.core.models import AuditEvent
from anju.disputes.actions import records
from anju.disputes.models import Level, Outcome, State
from tests.conftest import login, token_client
from tests.disputes.conftest import TO_AGREEMENT
from tests.disputes.test_api import SESSION, agreement_body, ok, post
from tests.registry.test_pages import element, flashed

# What one settlement at the scene leaves on the timeline, in the order of the ordinary steps.
STEPS = [s for s in TO_AGREEMENT if s != "investigate"]


@pytest.fixture
def officer(mediation):
    return mediation["people"]["officer"]


@pytest.fixture
def on_spot(take_in, officer):
    """A neighbours' dispute an officer answering a 110 call takes on the spot."""
    return take_in(actor=officer, source="police", incident_number="110-20261123-0042", on_spot=True)


def _nothing_written(d) -> None:
    d.refresh_from_db()
    assert d.state == State.RECEIVED and d.accepted_at is None and d.due_at is None
    assert list(d.events.values_list("action", flat=True)) == ["receive"]
    assert not d.sessions.exists() and not d.agreements.exists() and not d.follow_ups.exists()


def test_the_action_takes_every_step_and_concludes_with_the_agreement(on_spot, officer):
    data = {"session": {**SESSION, "outcome": "continue", "place": "事发楼道"}, "agreement": agreement_body()}
    agreement = records.settle_on_spot(officer, on_spot, data)
    on_spot.refresh_from_db()
    assert (on_spot.state, on_spot.outcome, on_spot.settled_level) == (State.AGREED, Outcome.AGREEMENT, Level.ON_SPOT)
    assert on_spot.accepted_at is not None and on_spot.due_at - on_spot.accepted_at == timedelta(days=30)
    assert list(on_spot.events.values_list("action", flat=True)) == STEPS
    [session] = on_spot.sessions.all()
    # The session's outcome is the agreement whatever was sent.
    assert (session.place, session.outcome, session.mediators) == ("事发楼道", "agreement", on_spot.lead.name)
    assert agreement.version == 1 and [t.text for t in agreement.terms.all()] == ["赔偿张三维修费2500元"]
    assert on_spot.follow_ups.filter(done_at=None).count() == 1
    assert AuditEvent.objects.filter(object_id=on_spot.number, action="dispute.agreement").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"session": {"attendees": "张三、李四"}, "agreement": agreement_body()}, "session.minutes"),
        ({"session": SESSION, "agreement": agreement_body(terms=[{"obligor": "李四"}])}, "agreement.terms[0].text"),
        ({"session": SESSION, "agreement": agreement_body(deadline="")}, "agreement.deadline"),
        ({"session": SESSION}, "agreement.deadline"),
    ],
)
def test_a_refused_part_names_its_field_and_takes_back_every_step(on_spot, officer, data, field):
    with pytest.raises(InvalidField) as err:
        records.settle_on_spot(officer, on_spot, data)
    assert err.value.field == field
    assert on_spot.state == State.RECEIVED  # the object in hand too, not only the database
    _nothing_written(on_spot)


def test_only_a_received_dispute_taken_on_the_spot(take_in, on_spot, officer, mediation):
    in_room = take_in()
    with pytest.raises(Conflict):
        records.settle_on_spot(mediation["people"]["room_mediator"], in_room, {"session": SESSION})
    records.settle_on_spot(officer, on_spot, {"session": SESSION, "agreement": agreement_body()})
    with pytest.raises(Conflict):
        records.settle_on_spot(officer, on_spot, {"session": SESSION, "agreement": agreement_body()})
    assert on_spot.agreements.count() == 1


def test_through_the_api(on_spot, officer, mediation):
    client, auth = token_client(officer)
    url = f"/api/v1/disputes/{on_spot.number}/settled-on-spot"
    refused = post(client, auth, url, {"session": SESSION, "agreement": agreement_body(method="")})
    assert refused.status_code == 422 and refused.json()["field"] == "agreement.method"
    _nothing_written(on_spot)

    # The grid worker who may read it does not mediate: they may not settle it.
    worker_client, worker_auth = token_client(mediation["people"]["grid_worker"])
    assert post(worker_client, worker_auth, url, {"session": SESSION, "agreement": agreement_body()}).status_code == 403
    _nothing_written(on_spot)

    made = ok(post(client, auth, url, {"session": SESSION, "agreement": agreement_body()}), 201)
    assert made["version"] == 1 and made["terms"][0]["obligor"] == "李四"
    seen = ok(client.get(f"/api/v1/disputes/{on_spot.number}", **auth))
    assert seen["state"] == "agreed" and [e["action"] for e in seen["events"]] == STEPS
    again = post(client, auth, url, {"session": SESSION, "agreement": agreement_body()})
    assert again.status_code == 409


def _form(**over) -> dict:
    held = timezone.localtime() - timedelta(minutes=20)
    data = {
        "session-at": held.strftime("%Y-%m-%dT%H:%M"),
        "session-place": "事发楼道",
        "session-attendees": "张三、李四",
        "session-minutes": "双方陈述，李四同意赔偿。",
        "session-grade": "ordinary",
        "agreement-facts": "302室漏水致202室天花板受损。",
        "agreement-responsibilities": "李四负主要责任。",
        "agreement-method": "现金一次性支付",
        "agreement-deadline": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "term0-obligor": "李四",
        "term0-text": "赔偿张三维修费2500元",
    }
    data.update(over)
    return data


def test_the_page_offers_it_to_the_officer_only_while_the_dispute_is_new(on_spot, officer, take_in, mediation):
    page = login(officer).get(reverse("dispute_detail", args=[on_spot.number]))
    form = element(page, "details", "rec-on_spot")
    assert 'name="session-minutes"' in form and 'name="agreement-facts"' in form and 'name="term0-text"' in form
    assert 'name="session-outcome"' not in form
    in_room = take_in()
    room_page = login(mediation["people"]["room_mediator"]).get(reverse("dispute_detail", args=[in_room.number]))
    assert 'id="rec-on_spot"' not in room_page.content.decode()


def test_the_page_records_it_or_puts_the_refusal_next_to_its_field(on_spot, officer):
    client = login(officer)
    url = reverse("dispute_on_spot", args=[on_spot.number])

    # A term without its text: the action refuses it, the form comes back with the error on the row.
    r = client.post(url, _form(**{"term0-text": "", "term0-obligor": "李四"}))
    assert r.status_code == 422
    row = r.context["term_rows"][0]
    assert row.errors["text"] == [gettext("Write the term.")]
    assert r.context["forms"]["on_spot"]["minutes"].value() == "双方陈述，李四同意赔偿。"
    _nothing_written(on_spot)

    # A form error (no minutes) never reaches the action.
    r = client.post(url, _form(**{"session-minutes": ""}))
    assert r.status_code == 422 and r.context["forms"]["on_spot"].errors["minutes"]
    _nothing_written(on_spot)

    r = client.post(url, _form())
    assert r.status_code == 302
    page = client.get(r["Location"])
    assert gettext("The dispute was recorded as settled at the scene.") in flashed(page)
    assert "赔偿张三维修费2500元" in element(page, "table", "terms")
    on_spot.refresh_from_db()
    assert on_spot.state == State.AGREED and list(on_spot.events.values_list("action", flat=True)) == STEPS
    assert 'id="rec-on_spot"' not in page.content.decode()
