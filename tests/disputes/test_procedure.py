"""The mediation procedure through its actions: routing by grade, each step, the records, closing."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from anju.core.errors import Conflict, InvalidField
from anju.core.models import Notification
from anju.disputes.actions import procedure, records
from anju.disputes.models import Level, State
from tests.disputes.conftest import TO_CLOSING, at

pytestmark = pytest.mark.django_db(transaction=True)

SESSION = {"attendees": "张三、李四", "minutes": "双方陈述，李四同意赔偿。", "outcome": "agreement"}
AGREEMENT = {
    "facts": "302室漏水致202室天花板受损。",
    "responsibilities": "李四负主要责任。",
    "method": "现金一次性支付",
    "deadline": "2026-12-10",
    "terms": [{"obligor": "李四", "text": "赔偿张三维修费2500元", "due_on": "2026-12-10"}],
}


def test_ordinary_dispute_goes_to_the_community_room_and_runs_to_closing(take_in, mediation):
    people, mediators = mediation["people"], mediation["mediators"]
    d = take_in(now=at(2026, 11, 2, 10))
    assert (d.state, d.grade, d.level, d.room, d.lead) == (
        State.RECEIVED,
        "ordinary",
        Level.ROOM,
        mediation["rooms"]["community"],
        mediators["room_mediator"],
    )
    assert d.number.startswith("JF20261102")
    mediator = people["room_mediator"]
    procedure.transition(mediator, d, "accept", now=at(2026, 11, 2, 11))
    assert d.due_at == at(2026, 12, 2, 11)
    procedure.transition(mediator, d, "inform", now=at(2026, 11, 2, 11))
    procedure.transition(mediator, d, "investigate", note="现场查看，确认漏水点。", now=at(2026, 11, 3, 9))
    records.record_session(mediator, d, {**SESSION, "at": at(2026, 11, 4, 9)}, now=at(2026, 11, 4, 12))
    assert d.state == State.MEDIATING
    agreement = records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12))
    assert (d.state, d.outcome, d.settled_level, d.concluded_late, agreement.version) == (
        State.AGREED,
        "agreement",
        Level.ROOM,
        False,
        1,
    )
    visit = d.follow_ups.get()
    assert visit.due_on.isoformat() == "2026-12-04"
    with pytest.raises(Conflict):
        procedure.transition(mediator, d, "close", now=at(2026, 12, 5, 9))
    records.settle_term(mediator, d, 1, "done", now=at(2026, 12, 1, 9))
    records.follow_up(mediator, d, {"performed": True, "satisfied": True, "flare_up": False}, now=at(2026, 12, 4, 9))
    procedure.transition(mediator, d, "close", now=at(2026, 12, 5, 9))
    assert d.state == State.CLOSED
    actions = list(d.events.values_list("action", flat=True))
    assert actions == TO_CLOSING


def test_grave_dispute_alerts_chief_and_street_and_goes_to_joint_mediation(take_in, mediation):
    people = mediation["people"]
    d = take_in(flags=["weapons"])
    assert (d.grade, d.level, d.lead) == ("major", Level.JOINT, mediation["mediators"]["joint"])
    for who in ("chief", "street"):
        assert Notification.objects.filter(user=people[who], subject__contains=d.number).exists(), who
    assert not Notification.objects.filter(user=people["officer"], subject__contains=d.number).exists()


def test_difficult_dispute_is_matched_to_the_pool_by_specialty(take_in, mediation):
    d = take_in(kind="labour", flags=["repeated_calls"])
    assert (d.grade, d.level, d.lead) == ("difficult", Level.EXPERT, mediation["mediators"]["labour"])
    d2 = take_in(kind="family", grade="difficult")
    assert d2.lead == mediation["mediators"]["lawyer"]


def test_illegal_steps_conflict_and_change_nothing(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in()
    with pytest.raises(Conflict):
        procedure.transition(mediator, d, "investigate", note="x")
    with pytest.raises(Conflict):
        records.record_session(mediator, d, SESSION)
    d.refresh_from_db()
    assert d.state == State.RECEIVED and d.events.count() == 1


def test_decline_needs_reason_and_routes(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in()
    with pytest.raises(InvalidField) as err:
        procedure.transition(mediator, d, "decline", reason="已起诉")
    assert err.value.field == "other_routes"
    procedure.transition(mediator, d, "decline", reason="已起诉", other_routes="人民法院诉讼")
    assert (d.state, d.outcome) == (State.DECLINED, "declined")


def test_escalation_moves_up_with_a_reason(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in()
    with pytest.raises(InvalidField):
        procedure.transition(mediator, d, "escalate")
    procedure.transition(mediator, d, "escalate", note="双方分歧大，需专家介入")
    assert (d.level, d.escalation_count, d.first_level) == (Level.EXPERT, 1, Level.ROOM)


def test_who_may_act(take_in, mediation, make_user):
    people = mediation["people"]
    d = take_in()
    with pytest.raises(PermissionDenied):
        procedure.transition(people["grid_worker"], d, "accept")
    outsider = make_user("mediator", "370203006")
    with pytest.raises(Http404):
        procedure.transition(outsider, d, "accept")
    with pytest.raises(PermissionDenied):
        procedure.transition(people["room_mediator"], d, "assign", lead=mediation["mediators"]["lawyer"].pk)
    procedure.transition(people["chief"], d, "assign", lead=mediation["mediators"]["lawyer"].pk)
    assert d.lead == mediation["mediators"]["lawyer"]


def test_court_confirmation_within_30_days(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    for step in ("accept", "inform"):
        procedure.transition(mediator, d, step, now=at(2026, 11, 2, 11))
    records.record_session(mediator, d, {**SESSION, "at": at(2026, 11, 3, 9)}, now=at(2026, 11, 3, 10))
    records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 3, 10))
    with pytest.raises(InvalidField) as err:
        records.apply_court(
            mediator, d, {"court": "市北区人民法院", "applied_on": "2026-12-05"}, now=at(2026, 12, 6, 9)
        )
    assert err.value.field == "applied_on"
    records.apply_court(mediator, d, {"court": "市北区人民法院", "applied_on": "2026-11-10"}, now=at(2026, 11, 10, 9))
    c = records.court_answer(mediator, d, {"answer": "confirmed", "answered_on": "2026-11-20"}, now=at(2026, 11, 20, 9))
    assert c.answer == "confirmed"


def test_on_the_spot_by_the_officer(take_in, mediation):
    officer = mediation["people"]["officer"]
    d = take_in(actor=officer, source="police", incident_number="110-20261102-0001", on_spot=True)
    assert d.level == Level.ON_SPOT and d.lead.user == officer and d.lead.kind == "police"


def test_repeat_dispute_between_the_same_parties_is_linked(take_in):
    first = take_in(now=at(2026, 10, 1, 9))
    second = take_in(now=at(2026, 11, 1, 9))
    assert second.repeat_of == first


def test_sweeper_cards_at_80_percent_and_30_days(take_in, mediation):
    from anju.disputes import sweeper

    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    procedure.transition(mediator, d, "accept", now=at(2026, 11, 2, 10))
    assert sweeper.sweep(at(2026, 11, 20, 10))["yellow"] == 0
    assert sweeper.sweep(at(2026, 11, 27, 10))["yellow"] == 1
    assert sweeper.sweep(at(2026, 11, 27, 11))["yellow"] == 0
    assert sweeper.sweep(at(2026, 12, 3, 10))["red"] == 1
    d.refresh_from_db()
    assert d.supervision == "red"
    # Red goes to the mediators and the managers over the place (the chief); yellow to the mediators only.
    chief_cards = Notification.objects.filter(user=mediation["people"]["chief"], key=f"dispute:{d.number}:card")
    red = gettext("Red card: dispute %(number)s is past its 30 days") % {"number": d.number}
    assert [n.subject for n in chief_cards] == [red]
    assert Notification.objects.filter(user=mediator, key=f"dispute:{d.number}:card").count() == 1
    assert d.due_at - d.accepted_at == timedelta(days=30)
