"""The station's rhythm: the weekly risk list's order, the monthly review's scores and averages, the
quarterly pack's sheets and numbers, the annual ranking's order; pages, workbooks and their audit rows."""

import io

import openpyxl
import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from anju.core.errors import InvalidField
from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.disputes import rhythm, sweeper
from anju.disputes.actions import procedure, records, reviews
from tests.conftest import OTHER_GRID, OWN_GRID, login
from tests.disputes.conftest import at
from tests.disputes.test_indicators import REVIEW, agree, parties

pytestmark = pytest.mark.django_db


def test_risk_list_puts_the_gravest_first(take_in, mediation, make_user):
    chief = mediation["people"]["chief"]
    d = {
        "red": take_in(now=at(2026, 10, 1, 9), parties=parties(1)),
        "plain": take_in(now=at(2026, 10, 10, 9), parties=parties(2)),
        "one_flag": take_in(now=at(2026, 10, 20, 9), flags=["mental_health"], parties=parties(3)),
        "difficult": take_in(now=at(2026, 10, 25, 9), grade="difficult", parties=parties(4)),
        "yellow": take_in(now=at(2026, 10, 20, 9), parties=parties(5)),
        "major": take_in(now=at(2026, 11, 1, 9), flags=["weapons"], parties=parties(6), petition_pending=True),
        "two_flags": take_in(now=at(2026, 11, 2, 9), flags=["threats", "repeated_calls"], parties=parties(7)),
        "declined": take_in(now=at(2026, 9, 1, 9), flags=["weapons"], parties=parties(8)),
    }
    procedure.transition(chief, d["red"], "accept", now=at(2026, 10, 2, 9))
    procedure.transition(chief, d["yellow"], "accept", now=at(2026, 10, 20, 10))
    procedure.transition(chief, d["declined"], "decline", reason="已起诉", other_routes="诉讼", now=at(2026, 9, 2, 9))
    sweeper.sweep(at(2026, 11, 15, 9))

    street = mediation["people"]["street"]
    rows = rhythm.risk_list(street, now=at(2026, 11, 16, 9))
    order = ["major", "two_flags", "one_flag", "difficult", "red", "yellow", "plain"]
    assert [r["dispute"].number for r in rows] == [d[k].number for k in order]
    major = rows[0]
    assert major["petition_pending"] and major["lead"] == mediation["mediators"]["joint"].name
    assert len(major["flags"]) == 1 and major["days_open"] == 15 and major["due_at"] is None
    assert (rows[4]["supervision"], rows[5]["supervision"]) == ("red", "yellow")

    client = login(street)
    page = client.get("/disputes/risk/").content.decode()
    assert page.index(d["major"].number) < page.index(d["red"].number) < page.index(d["plain"].number)
    answer = client.get("/disputes/risk.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert [sheet.cell(r, 1).value for r in range(2, 9)] == [d[k].number for k in order]
    assert AuditEvent.objects.filter(action="disputes.risk_export", username=street.username).count() == 1
    # Another street's admin sees none of them.
    assert rhythm.risk_list(make_user(Role.STREET_ADMIN, OTHER_GRID[:9])) == []


@pytest.fixture
def reviewed(take_in, mediation):
    """October 2026, OWN_STREET, everything driven by the chief:

    M1 room (王调解), agreed 5 Oct; reviewed 90 and 80.   M2 room (王调解), terminated 10 Oct; reviewed 70.
    M3 escalated to the pool, lead the lawyer, agreed 12 Oct; its term pending; not reviewed.
    M4 labour, red flag, pool (赵专家), agreed 15 Oct, its term performed; reviewed 60.
    M5 room (王调解), agreed 2 Nov.   M6 major, received 20 Oct, still open (joint, 孙主任).
    """
    people, mediators = mediation["people"], mediation["mediators"]
    chief, street = people["chief"], people["street"]
    m = {}
    m["M1"] = take_in(now=at(2026, 10, 5, 8), parties=parties(11))
    procedure.transition(chief, m["M1"], "accept", now=at(2026, 10, 5, 9))
    agree(chief, m["M1"], 5, terms=1)
    m["M2"] = take_in(now=at(2026, 10, 6, 8), parties=parties(12))
    procedure.transition(chief, m["M2"], "accept", now=at(2026, 10, 6, 9))
    procedure.transition(chief, m["M2"], "terminate", reason="拒绝", other_routes="诉讼", now=at(2026, 10, 10, 9))
    m["M3"] = take_in(now=at(2026, 10, 7, 8), parties=parties(13))
    procedure.transition(chief, m["M3"], "accept", now=at(2026, 10, 7, 9))
    procedure.transition(chief, m["M3"], "escalate", note="需专家", now=at(2026, 10, 8, 9))
    procedure.transition(chief, m["M3"], "assign", lead=mediators["lawyer"].pk, now=at(2026, 10, 8, 10))
    agree(chief, m["M3"], 12, terms=1)
    m["M4"] = take_in(now=at(2026, 10, 9, 8), kind="labour", flags=["repeated_calls"], parties=parties(14))
    procedure.transition(chief, m["M4"], "accept", now=at(2026, 10, 9, 9))
    agree(chief, m["M4"], 15, terms=1)
    records.settle_term(chief, m["M4"], 1, "done", now=at(2026, 10, 30, 9))
    m["M5"] = take_in(now=at(2026, 10, 30, 8), parties=parties(15))
    procedure.transition(chief, m["M5"], "accept", now=at(2026, 10, 30, 9))
    agree(chief, m["M5"], 2, terms=1, month=11)
    m["M6"] = take_in(now=at(2026, 10, 20, 8), flags=["weapons"], parties=parties(16))

    reviews.review_dossier(chief, m["M1"], REVIEW | {"order": 10}, now=at(2026, 11, 3, 9))
    reviews.review_dossier(street, m["M1"], REVIEW, now=at(2026, 11, 3, 9))
    reviews.review_dossier(chief, m["M2"], REVIEW | {"outcome": 10}, now=at(2026, 11, 3, 9))
    reviews.review_dossier(chief, m["M4"], REVIEW | {"outcome": 0}, now=at(2026, 11, 3, 9))
    return m


def test_monthly_review_scores_and_averages(reviewed, mediation):
    mediators, rooms = mediation["mediators"], mediation["rooms"]
    review = rhythm.monthly_review(mediation["people"]["street"], "2026-10")
    assert [(r["dispute"].number, r["score"], r["reviews"]) for r in review["rows"]] == [
        (reviewed["M1"].number, 85.0, 2),
        (reviewed["M2"].number, 70.0, 1),
        (reviewed["M3"].number, None, 0),
        (reviewed["M4"].number, 60.0, 1),
    ]
    assert [(g["name"], g["concluded"], g["reviewed"], g["average"]) for g in review["by_lead"]] == [
        (mediators["room_mediator"].name, 2, 2, 77.5),
        (mediators["labour"].name, 1, 1, 60.0),
        (mediators["lawyer"].name, 1, 0, None),
    ]
    by_room = {g["name"]: (g["concluded"], g["reviewed"], g["average"]) for g in review["by_room"]}
    assert by_room[rooms["community"].name] == (2, 2, 77.5)
    assert rhythm.monthly_review(mediation["people"]["street"], "2026-11")["rows"][0]["dispute"] == reviewed["M5"]
    with pytest.raises(InvalidField) as err:
        rhythm.monthly_review(mediation["people"]["street"], "2026-13")
    assert err.value.field == "month"

    client = login(mediation["people"]["street"])
    page = client.get("/disputes/reviews/?month=2026-10")
    assert page.status_code == 200 and reviewed["M3"].get_absolute_url() in page.content.decode()
    assert client.get("/disputes/reviews/?month=October").status_code == 400


def test_ranking_order(reviewed, mediation):
    mediators = mediation["mediators"]
    ranking = rhythm.ranking(mediation["people"]["street"], 2026)
    names = [r["name"] for r in ranking["rows"]]
    # 王调解 settled two (M1, M5); 赵专家 and the lawyer one each at 100 %, 赵专家's agreement performed.
    assert names == [mediators[k].name for k in ("room_mediator", "labour", "lawyer", "joint")]
    first = ranking["rows"][0]
    assert (first["rank"], first["settled"], first["success_rate"], first["review_score"]) == (1, 2, 0.6667, 77.5)
    assert ranking["rows"][2]["performance_rate"] is None and ranking["rows"][3]["success_rate"] is None
    page = login(mediation["people"]["street"]).get("/disputes/ranking/?year=2026").content.decode()
    assert page.index(mediators["labour"].name) < page.index(mediators["lawyer"].name)
    assert rhythm.ranking(mediation["people"]["street"], 2025)["rows"] == []


def test_quarterly_pack(reviewed, mediation, make_user):
    street = mediation["people"]["street"]
    client = login(street)
    answer = client.get("/disputes/quarter.xlsx?year=2026&quarter=4")
    assert answer.status_code == 200, answer.content[:500]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    with translation.override("zh-hans"):
        expected = [_("Summary"), _("Kind"), _("Level"), _("Outcome"), _("Street"), _("Open major disputes")]
        expected.append(_("Definitions"))
    assert book.sheetnames == [str(name)[:31] for name in expected]
    values = [row[1] for row in book.worksheets[0].iter_rows(min_row=3, values_only=True)]
    assert values[:6] == [6, 5, 5, 4, 1, 0.8]  # received, accepted, concluded, settled, terminated, success
    outcome = book.worksheets[3]
    assert [(r[0], r[2]) for r in outcome.iter_rows(min_row=2, values_only=True)] == [
        (None, 6),
        ("agreement", 4),
        ("terminated", 1),
        (None, 1),
    ]
    majors = book.worksheets[5]
    assert [r[0] for r in majors.iter_rows(min_row=2, values_only=True)] == [reviewed["M6"].number]
    assert AuditEvent.objects.filter(action="disputes.quarter_export", username=street.username).exists()

    assert client.get("/disputes/quarter.xlsx?year=2026&quarter=5").status_code == 400
    assert client.get("/disputes/quarter.xlsx?year=twenty&quarter=1").status_code == 400
    nobody = login(make_user(Role.DEPARTMENT_STAFF, OWN_GRID[:9]))
    for url in ("/disputes/risk/", "/disputes/quarter.xlsx", "/disputes/figures/", "/disputes/ranking/"):
        assert nobody.get(url).status_code == 403, url
