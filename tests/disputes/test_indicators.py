"""Dispute figures: exact counts and rates of a handful of disputes driven through the actions, per grouping;
None for empty denominators; scope; the API (422 naming the field, 404 outside scope) and the XLSX."""

import io
from datetime import date

import openpyxl
import pytest
from django.http import Http404

from anju.core.errors import InvalidField
from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.disputes import indicators
from anju.disputes.actions import procedure, records, reviews
from tests.conftest import OTHER_GRID, login, token_client
from tests.disputes.conftest import DISTRICT, OWN_STREET, at

pytestmark = pytest.mark.django_db

FROM, TO = date(2026, 10, 1), date(2026, 11, 15)
PERIOD = "from=2026-10-01&to=2026-11-15"
OTHER_POINT = {"lng": 120.315, "lat": 36.085}
SESSION = {"attendees": "双方", "minutes": "双方陈述，达成一致。", "outcome": "agreement"}
# A review of 80 points: everything but the follow-up and the filing.
REVIEW = {
    "intake": 10,
    "rights": 10,
    "investigation": 15,
    "minutes": 15,
    "outcome": 20,
    "performance": 10,
    "follow_up": 0,
    "order": 0,
}


def parties(n: int) -> list[dict]:
    """Two parties no other dispute shares (so that only the intended repeat is linked)."""
    return [
        {"role": "applicant", "name": f"甲{n}", "phone": f"1380000{n:04d}"},
        {"role": "respondent", "name": f"乙{n}", "phone": f"1390000{n:04d}"},
    ]


def agree(chief, d, day: int, terms: int, month: int = 10):
    """Inform, investigate, one session and an agreement of `terms` terms, all on `day`."""
    now = at(2026, month, day, 12)
    procedure.transition(chief, d, "inform", now=now)
    procedure.transition(chief, d, "investigate", note="已查明事实。", now=now)
    records.record_session(chief, d, {**SESSION, "at": at(2026, month, day, 10)}, now=now)
    rows = [{"obligor": "乙", "text": f"第{i + 1}项", "due_on": "2026-10-30"} for i in range(terms)]
    data = {"facts": "事实", "responsibilities": "责任", "method": "现金", "deadline": "2026-10-30", "terms": rows}
    records.save_agreement(chief, d, data, now=now)


@pytest.fixture
def scenario(take_in, mediation, make_user):
    """Disputes A-F in OWN_STREET received in the period, G before it, H in the other street.

    A room, agreed 2 Oct, both terms performed, followed up, court-confirmed; reviewed 90 and 80.
    B room, agreed 3 Oct, its term not performed, follow-up due 2 Nov not done; reviewed 70.
    C room, escalated to the pool (lead: the lawyer), terminated 10 Nov: late.
    D labour with a red flag (difficult, expert pool), agreed 8 Oct, its term pending, follow-up due 7 Nov.
    E the same parties as A (a repeat), escalated twice while received: at joint mediation.
    F declined.
    """
    people, mediators = mediation["people"], mediation["mediators"]
    chief = people["chief"]
    d = {}
    d["A"] = take_in(now=at(2026, 10, 1, 9), parties=parties(1))
    procedure.transition(chief, d["A"], "accept", now=at(2026, 10, 1, 10))
    agree(chief, d["A"], 2, terms=2)
    for order in (1, 2):
        records.settle_term(chief, d["A"], order, "done", now=at(2026, 10, 20, 9))
    records.follow_up(chief, d["A"], {"performed": True, "satisfied": True, "flare_up": False}, now=at(2026, 11, 1, 9))
    records.apply_court(chief, d["A"], {"court": "市北区人民法院", "applied_on": "2026-10-10"}, now=at(2026, 10, 10, 9))
    records.court_answer(chief, d["A"], {"answer": "confirmed", "answered_on": "2026-10-20"}, now=at(2026, 10, 20, 9))

    d["B"] = take_in(now=at(2026, 10, 3, 9), kind="family", parties=parties(2))
    procedure.transition(chief, d["B"], "accept", now=at(2026, 10, 3, 10))
    agree(chief, d["B"], 3, terms=1)
    records.settle_term(chief, d["B"], 1, "breached", now=at(2026, 10, 31, 9))

    d["C"] = take_in(now=at(2026, 10, 5, 9), parties=parties(3))
    procedure.transition(chief, d["C"], "accept", now=at(2026, 10, 5, 10))
    procedure.transition(chief, d["C"], "escalate", note="分歧大", now=at(2026, 10, 6, 9))
    procedure.transition(chief, d["C"], "assign", lead=mediators["lawyer"].pk, now=at(2026, 10, 6, 10))
    procedure.transition(
        chief, d["C"], "terminate", reason="双方拒绝调解", other_routes="诉讼", now=at(2026, 11, 10, 9)
    )

    d["D"] = take_in(now=at(2026, 10, 7, 9), kind="labour", flags=["repeated_calls"], parties=parties(4))
    procedure.transition(chief, d["D"], "accept", now=at(2026, 10, 7, 10))
    agree(chief, d["D"], 8, terms=1)

    d["E"] = take_in(now=at(2026, 10, 10, 9), parties=parties(1))
    procedure.transition(chief, d["E"], "escalate", note="需专家", now=at(2026, 10, 11, 9))
    procedure.transition(chief, d["E"], "escalate", note="需联调", now=at(2026, 10, 12, 9))

    d["F"] = take_in(now=at(2026, 10, 12, 9), parties=parties(6))
    procedure.transition(chief, d["F"], "decline", reason="已起诉", other_routes="诉讼", now=at(2026, 10, 12, 10))

    d["G"] = take_in(now=at(2026, 9, 20, 9), parties=parties(7))
    d["H"] = take_in(
        actor=make_user(Role.GRID_WORKER, OTHER_GRID), now=at(2026, 10, 2, 9), parties=parties(8), **OTHER_POINT
    )

    reviews.review_dossier(chief, d["A"], REVIEW | {"order": 10}, now=at(2026, 11, 2, 9))
    reviews.review_dossier(people["street"], d["A"], REVIEW, now=at(2026, 11, 2, 9))
    reviews.review_dossier(chief, d["B"], REVIEW | {"outcome": 10}, now=at(2026, 11, 2, 9))
    return d


# The street's figures over the period; derivations in `scenario`.
STREET_TOTAL = {
    "received": 6,
    "accepted": 4,
    "concluded": 4,  # A, B, D agreed; C terminated (F declined is not concluded)
    "settled": 3,
    "terminated": 1,
    "success_rate": 0.75,
    "within_period": 3,  # C was late
    "within_period_rate": 0.75,
    "terms_settled": 2,  # A (performed), B (not performed); D's term pending
    "performed": 1,
    "performance_rate": 0.5,
    "follow_up_due": 3,  # A 1 Nov, B 2 Nov, D 7 Nov: all before 15 Nov
    "followed_up": 1,
    "follow_up_rate": 0.3333,
    "court_confirmed": 1,
    "escalated": 2,  # C once, E twice
    "escalations": 3,
    "escalated_to_room": 0,
    "escalated_to_expert": 2,
    "escalated_to_joint": 1,
    "settled_first_level": 2,  # A and B in the room; D in the pool
    "first_level_share": 0.6667,
    "repeats": 1,
    "reviewed": 2,
    "review_score": 77.5,  # A (90 + 80) / 2, B 70
}


def test_total_and_every_rate_against_a_hand_count(scenario, mediation, django_assert_max_num_queries):
    street = mediation["people"]["street"]
    street.refresh_from_db()
    # A fixed handful: assignments, the reader's mediator record, the rows, their names, the total.
    with django_assert_max_num_queries(5):
        report = indicators.figures(street, start=FROM, end=TO)
    assert report["total"] == STREET_TOTAL
    assert report["period"] == {"from": FROM, "to": TO} and report["division"] is None
    assert [f["field"] for f in report["definitions"]] == list(STREET_TOTAL)
    assert [r["key"] for r in report["rows"]] == [OWN_STREET]
    assert {k: v for k, v in report["rows"][0].items() if k not in ("key", "name")} == STREET_TOTAL


def test_rows_by_mediator_kind_and_level(scenario, mediation):
    street, mediators = mediation["people"]["street"], mediation["mediators"]
    by_mediator = {r["name"]: r for r in indicators.figures(street, OWN_STREET, FROM, TO, by="mediator")["rows"]}
    room = by_mediator[mediators["room_mediator"].name]  # A, B, F
    assert (room["received"], room["settled"], room["success_rate"], room["performance_rate"]) == (3, 2, 1.0, 0.5)
    assert room["review_score"] == 77.5 and room["first_level_share"] == 1.0
    lawyer = by_mediator[mediators["lawyer"].name]  # C
    assert (lawyer["concluded"], lawyer["success_rate"], lawyer["within_period_rate"]) == (1, 0.0, 0.0)
    joint = by_mediator[mediators["joint"].name]  # E: nothing concluded, every rate None
    assert joint["received"] == 1 and joint["escalated_to_joint"] == 1
    assert all(joint[name] is None for name in indicators.RATES) and joint["review_score"] is None
    assert by_mediator[mediators["labour"].name]["follow_up_rate"] == 0.0

    kinds = indicators.figures(street, None, FROM, TO, by="kind")["rows"]
    assert [(r["key"], r["received"]) for r in kinds] == [("family", 1), ("neighbour", 4), ("labour", 1)]
    levels = indicators.figures(street, None, FROM, TO, by="level")["rows"]
    assert [(r["key"], r["received"], r["settled"]) for r in levels] == [
        ("room", 3, 2),
        ("expert", 2, 1),
        ("joint", 1, 0),
    ]
    months = indicators.figures(street, None, date(2026, 9, 1), TO, by="month")["rows"]
    assert [(r["key"], r["received"]) for r in months] == [("2026-09", 1), ("2026-10", 6)]


def test_scope_and_input(scenario, mediation, make_user):
    other = make_user(Role.STREET_ADMIN, OTHER_GRID[:9])
    report = indicators.figures(other, start=FROM, end=TO)
    assert report["total"]["received"] == 1 and report["total"]["success_rate"] is None
    with pytest.raises(Http404):
        indicators.figures(other, OWN_STREET, FROM, TO)
    district = make_user(Role.DISTRICT_ADMIN, DISTRICT)
    assert indicators.figures(district, DISTRICT, FROM, TO)["total"]["received"] == 7
    for args, field in ((("999999999", FROM, TO), "division"), ((None, TO, FROM), "from")):
        with pytest.raises(InvalidField) as err:
            indicators.figures(other, *args)
        assert err.value.field == field
    with pytest.raises(InvalidField) as err:
        indicators.figures(other, by="house")
    assert err.value.field == "by"


def test_api(scenario, mediation):
    client, headers = token_client(mediation["people"]["street"])
    answer = client.get(f"/api/v1/indicators/disputes?division={OWN_STREET}&{PERIOD}&by=kind", **headers)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["period"] == {"from": "2026-10-01", "to": "2026-11-15"}
    assert body["division"]["code"] == OWN_STREET and body["by"] == "kind"
    assert body["total"] == STREET_TOTAL and len(body["definitions"]) == len(STREET_TOTAL)
    assert [r["key"] for r in body["rows"]] == ["family", "neighbour", "labour"]
    for query, field in (
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-15&to=2026-10-01", "from"),
        ("by=house", "by"),
        ("division=12", "division"),
    ):
        answer = client.get(f"/api/v1/indicators/disputes?{query}", **headers)
        assert answer.status_code == 422 and answer.json()["field"] == field, query
    assert client.get(f"/api/v1/indicators/disputes?division={DISTRICT}", **headers).status_code == 404


def test_page_and_xlsx(scenario, mediation):
    client = login(mediation["people"]["street"])
    page = client.get(f"/disputes/figures/?period=custom&{PERIOD}&by=level")
    assert page.status_code == 200
    text = page.content.decode()
    assert "75.0%" in text and text.count('id="definitions"') == 1
    assert "<tr><th>受理数</th><td>" in text and "<tr><th>终止调解数</th><td>" in text
    assert client.get("/disputes/figures/?by=house").status_code == 400
    answer = client.get(f"/disputes/figures.xlsx?{PERIOD}&by=level")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert len(book.sheetnames) == 2
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    total = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert total[header[2]] == 6 and [sheet.cell(r, 1).value for r in (3, 4, 5)] == ["room", "expert", "joint"]
    event = AuditEvent.objects.filter(action="disputes.figures_export").get()
    assert event.username == mediation["people"]["street"].username


def test_total_added_up_from_rows_matches_one_aggregate_and_terms_follow_the_agreement_in_force(scenario, mediation):
    street, chief = mediation["people"]["street"], mediation["people"]["chief"]
    street.refresh_from_db()
    # D's second version replaces the pending term by one performed: D now counts as settled and performed.
    data = {"facts": "事实", "responsibilities": "责任", "method": "现金", "deadline": "2026-10-30"}
    terms = [{"obligor": "乙", "text": "新的一项", "due_on": "2026-10-30"}]
    records.save_agreement(chief, scenario["D"], {**data, "terms": terms}, now=at(2026, 10, 9, 12))
    records.settle_term(chief, scenario["D"], 1, "done", now=at(2026, 10, 20, 9))
    selection = indicators.select(street, None, FROM, TO)
    expected = STREET_TOTAL | {"terms_settled": 3, "performed": 2, "performance_rate": 0.6667}
    assert indicators.total(selection) == expected
    for by in indicators.GROUPING_LABELS:
        assert indicators.figures(street, None, FROM, TO, by=by)["total"] == expected, by
