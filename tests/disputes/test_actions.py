"""The edges of the dispute actions: parties, risk grading, repeats, room and expert choice, who may
lead, agreement versions, closing, follow-ups, the court, dossier review, escalation and messages."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from anju.core.errors import Conflict, InvalidField
from anju.core.models import Notification
from anju.disputes import routing, sweeper
from anju.disputes.actions import intake, procedure, records, reviews, setup
from anju.disputes.models import Level, Mediator, State, TermState
from anju.geo.models import Grid
from anju.registry import actions as registry_actions
from tests.conftest import OTHER_GRID, OWN_GRID
from tests.disputes.conftest import OWN_COMMUNITY, at, dispute_data
from tests.disputes.test_procedure import AGREEMENT, SESSION
from tests.registry.conftest import house_data, id_number, uscc

pytestmark = pytest.mark.django_db(transaction=True)

FULL_MARKS = {code: points for code, _label, points in reviews.CHECKLIST}
FOLLOW_UP_OK = {"performed": True, "satisfied": True, "flare_up": False}


def person_in(grid_code: str, sequence: str, name: str = "张三"):
    """A registry person collected in the grid."""
    grid = Grid.objects.get(code=grid_code)
    return registry_actions.collect_person(
        None, {"name": name, "id_number": id_number(sequence=sequence), "phone": f"13700000{sequence}"}, place=grid.path
    )


def registry_parties(applicant, respondent) -> list[dict]:
    return [{"role": "applicant", "person": applicant.pk}, {"role": "respondent", "person": respondent.pk}]


def mediate_to_agreement(mediator, d, day: int = 4):
    """Accept, inform, one session and the agreement (v1) on 2026-11-`day`."""
    for step in ("accept", "inform"):
        procedure.transition(mediator, d, step, now=at(2026, 11, day, 9))
    records.record_session(mediator, d, {**SESSION, "at": at(2026, 11, day, 10)}, now=at(2026, 11, day, 11))
    return records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, day, 11))


def notes_of(user, number: str):
    return Notification.objects.filter(user=user, link__contains=number)


# --- Parties -----------------------------------------------------------------------------------------


def test_registry_people_in_reach_become_parties_with_their_details(take_in):
    a, b = person_in(OWN_GRID, "101"), person_in(OWN_GRID, "102", "李四")
    d = take_in(parties=registry_parties(a, b))
    applicant = d.parties.get(role="applicant")
    assert (applicant.person, applicant.name, applicant.id_number, applicant.phone) == (
        a,
        "张三",
        a.id_number,
        "13700000101",
    )


def test_a_registry_person_out_of_reach_is_refused(take_in):
    near, far = person_in(OWN_GRID, "101"), person_in(OTHER_GRID, "102", "李四")
    with pytest.raises(InvalidField) as err:
        take_in(parties=registry_parties(near, far))
    assert err.value.field == "parties[1].person"


def test_a_system_intake_may_name_registry_people(mediation):
    a, b = person_in(OWN_GRID, "101"), person_in(OWN_GRID, "102", "李四")
    d = intake.record_dispute(None, dispute_data(parties=registry_parties(a, b)))
    assert d.parties.get(role="applicant").person == a


def test_an_organization_party_brings_its_representative(take_in):
    house = registry_actions.collect_house(None, house_data())
    org = registry_actions.collect_organization(
        None, {"name": "某物业公司", "uscc": uscc(), "legal_representative": "王五"}, house.address
    )
    d = take_in(
        kind="property",
        parties=[{"role": "applicant", "name": "张三"}, {"role": "respondent", "organization": org.pk}],
    )
    respondent = d.parties.get(role="respondent")
    assert (respondent.organization, respondent.name, respondent.representative) == (org, "某物业公司", "王五")


@pytest.mark.parametrize(
    ("parties", "field"),
    [
        (
            [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四", "id_number": "370203"}],
            "parties[1].id_number",
        ),
        ([{"role": "applicant", "name": "张三"}, {"role": "third", "name": "李四"}], "parties"),
        ([{"role": "applicant", "name": "张三"}, {"role": "respondent"}], "parties[1].name"),
        ([{"role": "judge", "name": "张三"}, {"role": "respondent", "name": "李四"}], "parties[0].role"),
        ([{"role": "applicant", "name": "张三"}, {"role": "respondent", "person": "x"}], "parties[1].person"),
        ([], "parties"),
    ],
    ids=["bad-id-number", "no-respondent", "no-name", "bad-role", "person-not-a-number", "none"],
)
def test_bad_parties_name_the_field(take_in, parties, field):
    with pytest.raises(InvalidField) as err:
        take_in(parties=parties)
    assert err.value.field == field


# --- Risk -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "grade"),
    [
        ({"flags": ["weapons"]}, "major"),
        ({"flags": ["threats", "prior_violence"]}, "major"),
        ({"flags": "threats,prior_violence"}, "major"),
        ({"flags": ["threats"]}, "difficult"),
        ({"flags": ["mental_health"], "grade": "ordinary"}, "difficult"),
        ({"flags": ["repeated_calls"], "grade": "major"}, "major"),
        ({}, "ordinary"),
    ],
)
def test_flags_raise_the_grade_never_lower_it(data, grade):
    assert intake.clean_risk(data)["grade"] == grade


def test_flags_are_kept_once_in_their_order():
    assert intake.clean_risk({"flags": ["weapons", "threats", "weapons"]})["flags"] == ["threats", "weapons"]


@pytest.mark.parametrize(("data", "field"), [({"flags": ["knives"]}, "flags"), ({"grade": "extreme"}, "grade")])
def test_unknown_flag_or_grade_is_refused(take_in, data, field):
    with pytest.raises(InvalidField) as err:
        take_in(**data)
    assert err.value.field == field and err.value.status == 422


# --- Repeats -------------------------------------------------------------------------------------


def test_repeat_is_found_by_registry_person_not_by_one_shared_party(take_in):
    a, b, c = person_in(OWN_GRID, "101"), person_in(OWN_GRID, "102", "李四"), person_in(OWN_GRID, "103", "王五")
    first = take_in(parties=registry_parties(a, b), now=at(2026, 10, 1, 9))
    other = take_in(parties=registry_parties(a, c), now=at(2026, 10, 15, 9))
    again = take_in(parties=registry_parties(b, a), now=at(2026, 11, 1, 9))
    assert other.repeat_of is None
    assert again.repeat_of == first


def test_repeat_is_found_when_the_earlier_dispute_typed_the_id_numbers(take_in):
    a, b = person_in(OWN_GRID, "101"), person_in(OWN_GRID, "102", "李四")
    typed = [
        {"role": "applicant", "name": "张三", "id_number": a.id_number},
        {"role": "respondent", "name": "李四", "id_number": b.id_number},
    ]
    first = take_in(parties=typed, now=at(2026, 10, 1, 9))
    again = take_in(parties=registry_parties(a, b), now=at(2026, 11, 1, 9))
    assert again.repeat_of == first


# --- Rooms and experts ---------------------------------------------------------------------------------


def test_a_compound_room_is_preferred_to_the_community_room(take_in):
    compound = setup.save_room(None, {"name": "小区调解室", "kind": "compound", "division": OWN_COMMUNITY})
    assert take_in().room == compound


def test_without_a_community_room_an_ordinary_dispute_goes_to_the_station(take_in, mediation):
    community = mediation["rooms"]["community"]
    setup.save_room(
        None, {"name": community.name, "kind": "community", "division": OWN_COMMUNITY, "active": False}, community
    )
    d = take_in()
    assert (d.level, d.room, d.lead) == (Level.ROOM, mediation["rooms"]["station"], None)


def test_the_pool_skips_a_full_specialist_for_one_with_room(take_in, mediation, make_user):
    labour = mediation["mediators"]["labour"]
    Mediator.objects.filter(pk=labour.pk).update(capacity=1)
    second = setup.save_mediator(
        None,
        {
            "name": "钱专家",
            "kind": "peoples",
            "division": "370203",
            "in_pool": True,
            "specialties": ["labour"],
            "username": make_user("mediator", "370203").username,
        },
    )
    assert take_in(kind="labour", grade="difficult").lead == labour
    assert take_in(kind="labour", grade="difficult").lead == second


def test_a_full_specialist_is_passed_over_for_a_free_expert(take_in, mediation):
    labour = mediation["mediators"]["labour"]
    Mediator.objects.filter(pk=labour.pk).update(capacity=1)
    assert take_in(kind="labour", grade="difficult").lead == labour
    assert take_in(kind="labour", grade="difficult").lead == mediation["mediators"]["lawyer"]


def test_judicial_mediation_is_led_by_a_judge_only(take_in, mediation, make_user):
    chief, mediators = mediation["people"]["chief"], mediation["mediators"]
    d = take_in(mediation_type="judicial", grade="difficult")
    assert d.lead is None
    with pytest.raises(InvalidField) as err:
        procedure.transition(chief, d, "assign", lead=mediators["lawyer"].pk)
    assert err.value.field == "lead"
    judge = setup.save_mediator(
        None,
        {"name": "周法官", "kind": "judge", "division": "370203", "username": make_user("mediator", "370203").username},
    )
    procedure.transition(chief, d, "assign", lead=judge.pk, mediators=[mediators["lawyer"].pk])
    assert d.lead == judge and set(d.mediators.all()) == {judge, mediators["lawyer"]}


def test_a_lead_needs_an_account(take_in, mediation):
    outside = setup.save_mediator(None, {"name": "外聘律师", "kind": "lawyer", "division": "370203"})
    with pytest.raises(InvalidField) as err:
        procedure.transition(mediation["people"]["chief"], take_in(), "assign", lead=outside.pk)
    assert err.value.field == "lead"


# --- Agreement, terms, closing -----------------------------------------------------------------------


def test_a_new_agreement_version_keeps_the_old_and_terms_follow_the_current(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    first = mediate_to_agreement(mediator, d)
    second = records.save_agreement(
        mediator,
        d,
        {
            **AGREEMENT,
            "terms": [{"obligor": "李四", "text": "分两期赔偿2500元"}, {"obligor": "张三", "text": "撤回投诉"}],
        },
        now=at(2026, 11, 6, 9),
    )
    assert [a.version for a in d.agreements.all()] == [1, 2]
    assert records.current_agreement(d) == second and d.follow_ups.count() == 1
    assert second.terms.get(order=2).due_on.isoformat() == AGREEMENT["deadline"]
    records.settle_term(mediator, d, 2, TermState.DONE, now=at(2026, 11, 7, 9))
    assert second.terms.get(order=2).state == TermState.DONE
    assert first.terms.get().state == TermState.PENDING
    with pytest.raises(InvalidField) as err:
        records.settle_term(mediator, d, 3, TermState.DONE)
    assert err.value.field == "term"
    with pytest.raises(InvalidField):
        records.settle_term(mediator, d, 1, TermState.PENDING)


def test_close_needs_every_term_settled_and_a_follow_up(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    mediate_to_agreement(mediator, d)
    with pytest.raises(Conflict):
        procedure.transition(mediator, d, "close", now=at(2026, 11, 10, 9))
    records.settle_term(mediator, d, 1, TermState.BREACHED, note="未按期支付", now=at(2026, 11, 10, 9))
    with pytest.raises(Conflict):
        procedure.transition(mediator, d, "close", now=at(2026, 11, 10, 9))
    records.follow_up(mediator, d, FOLLOW_UP_OK, now=at(2026, 11, 11, 9))
    procedure.transition(mediator, d, "close", now=at(2026, 11, 11, 9))
    assert d.state == State.CLOSED


def test_a_terminated_mediation_closes_without_agreement_or_visit(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in()
    procedure.transition(mediator, d, "accept")
    procedure.transition(mediator, d, "terminate", reason="申请人撤回", other_routes="可向法院起诉")
    procedure.transition(mediator, d, "close")
    assert (d.state, d.outcome) == (State.CLOSED, "terminated")


def test_a_flare_up_at_the_follow_up_alerts_the_chief_and_the_street(take_in, mediation):
    people = mediation["people"]
    d = take_in(now=at(2026, 11, 2, 10))
    mediate_to_agreement(people["room_mediator"], d)
    assert not notes_of(people["chief"], d.number).exists()
    records.follow_up(
        people["room_mediator"],
        d,
        {"performed": False, "satisfied": False, "flare_up": True, "note": "双方再次争吵"},
        now=at(2026, 11, 20, 9),
    )
    for who in ("chief", "street", "room_mediator"):
        assert notes_of(people[who], d.number).filter(body="双方再次争吵").exists(), who


def test_a_follow_up_answer_must_be_yes_or_no(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    mediate_to_agreement(mediator, d)
    with pytest.raises(InvalidField) as err:
        records.follow_up(mediator, d, {"performed": True, "satisfied": "yes", "flare_up": False})
    assert err.value.field == "satisfied"


def test_the_sweep_reminds_of_a_due_follow_up_once(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    mediate_to_agreement(mediator, d)
    assert sweeper.sweep(at(2026, 12, 3, 9))["follow_ups_due"] == 0
    assert sweeper.sweep(at(2026, 12, 4, 9))["follow_ups_due"] == 1
    assert sweeper.sweep(at(2026, 12, 5, 9))["follow_ups_due"] == 0
    assert notes_of(mediator, d.number).filter(key=f"dispute:{d.number}:follow_up").count() == 1


# --- Court -------------------------------------------------------------------------------------------


def test_the_court_answer_comes_after_the_application(take_in, mediation):
    mediator = mediation["people"]["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    mediate_to_agreement(mediator, d)
    answer = {"answer": "confirmed", "answered_on": "2026-11-20"}
    with pytest.raises(Conflict):
        records.court_answer(mediator, d, answer, now=at(2026, 11, 20, 9))
    records.apply_court(mediator, d, {"court": "市北区人民法院", "applied_on": "2026-11-10"}, now=at(2026, 11, 10, 9))
    with pytest.raises(Conflict):
        records.apply_court(
            mediator, d, {"court": "市北区人民法院", "applied_on": "2026-11-11"}, now=at(2026, 11, 11, 9)
        )
    with pytest.raises(InvalidField) as err:
        records.court_answer(mediator, d, {**answer, "answered_on": "2026-11-09"}, now=at(2026, 11, 20, 9))
    assert err.value.field == "answered_on"
    records.court_answer(mediator, d, answer, now=at(2026, 11, 20, 9))
    with pytest.raises(Conflict):
        records.court_answer(mediator, d, {**answer, "answer": "rejected"}, now=at(2026, 11, 21, 9))


# --- Dossier review --------------------------------------------------------------------------------


def test_review_rules(take_in, mediation):
    people = mediation["people"]
    d = take_in()
    with pytest.raises(Conflict):
        reviews.review_dossier(people["street"], d, FULL_MARKS)
    chief_mediator = routing.mediator_for(people["chief"])
    procedure.transition(people["chief"], d, "assign", lead=chief_mediator.pk)
    procedure.transition(people["chief"], d, "accept")
    procedure.transition(people["chief"], d, "terminate", reason="申请人撤回", other_routes="可向法院起诉")
    with pytest.raises(PermissionDenied):
        reviews.review_dossier(people["room_mediator"], d, FULL_MARKS)
    with pytest.raises(PermissionDenied):
        reviews.review_dossier(people["chief"], d, FULL_MARKS)
    for scores, field in (
        ({**FULL_MARKS, "intake": 11}, "intake"),
        ({**FULL_MARKS, "minutes": -1}, "minutes"),
        ({**FULL_MARKS, "rights": True}, "rights"),
        ({k: v for k, v in FULL_MARKS.items() if k != "order"}, "order"),
        ({**FULL_MARKS, "style": 5}, "style"),
    ):
        with pytest.raises(InvalidField) as err:
            reviews.review_dossier(people["street"], d, scores)
        assert err.value.field == field
    review = reviews.review_dossier(people["street"], d, {**FULL_MARKS, "follow_up": 0}, comment="未回访")
    assert review.total == 90
    with pytest.raises(Conflict):
        reviews.review_dossier(people["street"], d, FULL_MARKS)


def test_reviewing_an_open_dossier_says_what_was_refused(take_in, mediation):
    with pytest.raises(Conflict) as err:
        reviews.review_dossier(mediation["people"]["street"], take_in(), FULL_MARKS)
    assert "“review”" not in str(err.value)


# --- Escalation, assessments, messages ---------------------------------------------------------------------


def test_joint_mediation_cannot_escalate(take_in, mediation):
    joint = mediation["people"]["joint"]
    d = take_in(flags=["weapons"])
    assert d.level == Level.JOINT and "escalate" not in procedure.allowed_actions(joint, d)
    with pytest.raises(Conflict) as err:
        procedure.transition(joint, d, "escalate", note="需更高层级")
    assert err.value.status == 409
    d.refresh_from_db()
    assert (d.level, d.escalation_count) == (Level.JOINT, 0)


def test_each_session_records_an_assessment_and_a_graver_one_alerts(take_in, mediation):
    people = mediation["people"]
    mediator = people["room_mediator"]
    d = take_in(now=at(2026, 11, 2, 10))
    for step in ("accept", "inform"):
        procedure.transition(mediator, d, step, now=at(2026, 11, 2, 11))
    records.record_session(mediator, d, {**SESSION, "outcome": "continue"}, now=at(2026, 11, 3, 9))
    assert not notes_of(people["chief"], d.number).exists()
    records.record_session(
        mediator,
        d,
        {**SESSION, "outcome": "continue", "risk": {"flags": ["threats", "prior_violence"], "note": "李四扬言报复"}},
        now=at(2026, 11, 4, 9),
    )
    assert list(d.assessments.values_list("context", "grade")) == [
        ("intake", "ordinary"),
        ("session", "ordinary"),
        ("session", "major"),
    ]
    assert [s.number for s in d.sessions.all()] == [1, 2]
    assert (d.grade, d.flags) == ("major", ["threats", "prior_violence"])
    assert notes_of(people["chief"], d.number).filter(key=f"dispute:{d.number}:alert").exists()


def test_a_message_is_refreshed_not_repeated_under_its_key(take_in, mediation):
    people = mediation["people"]
    d = take_in(flags=["threats"], kind="labour")
    alert = notes_of(people["chief"], d.number).get(key=f"dispute:{d.number}:alert")
    intake.assess(people["chief"], d, {"flags": ["threats", "prior_violence"]})
    refreshed = notes_of(people["chief"], d.number).get(key=f"dispute:{d.number}:alert")
    assert refreshed.pk == alert.pk and refreshed.subject != alert.subject
    assert d.grade == "major"
    lead = mediation["people"]["labour"]
    procedure.transition(lead, d, "accept", now=at(2026, 11, 2, 10))
    sweeper.sweep(at(2026, 11, 27, 10))
    sweeper.sweep(at(2026, 12, 3, 10))
    card = notes_of(lead, d.number).get(key=f"dispute:{d.number}:card")
    assert card.subject == gettext("Red card: dispute %(number)s is past its 30 days") % {"number": d.number}
