"""Case indicators: exact figures of a handful of cases with known outcomes (driven through the actions on a
moving clock), per grouping; None for empty denominators; no rating is never satisfied; a fixed number of
queries; the API (404 outside scope, 422 naming the field), the page with its charts, and the XLSX."""

import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.http import Http404
from django.utils import timezone

from anju.cases import actions, indicators
from anju.cases.models import Case, State
from anju.core.errors import InvalidField
from anju.core.models import AuditEvent, User
from anju.core.roles import Role
from tests.cases.conftest import DISTRICT, OWN_COMMUNITY, OWN_STREET, at, report
from tests.conftest import OTHER_GRID, OWN_GRID, login, token_client

NEIGHBOUR_GRID = "370203005011002"
# Inside the neighbouring grid, the other street's grid, and the district but in no grid.
NEIGHBOUR_POINT = {"lng": 120.315, "lat": 36.055}
OTHER_POINT = {"lng": 120.315, "lat": 36.085}
NO_GRID_POINT = {"lng": 120.295, "lat": 36.045}
# The period: Monday 17 to Sunday 23 November 2025 (no holidays); "to" is not included.
FROM, TO = date(2025, 11, 17), date(2025, 11, 24)
PERIOD = "from=2025-11-17&to=2025-11-24"
# Every event below is over by then; D, E and F are past their deadlines.
LATER = at(2025, 11, 24, 12)

# The community's figures (division = OWN_COMMUNITY); derivations in `loop`.
COMMUNITY_TOTAL = {
    "reported": 7,
    "registered": 5,
    "dispatched": 4,
    "dispatched_on_time": 3,
    "handled": 3,
    "handled_on_time": 2,
    "closed": 3,
    "closed_on_time": 2,
    "reworked": 1,
    "extended": 1,
    "overdue_unhandled": 3,
    "rated": 2,
    "satisfied": 1,
    "no_rating": 1,
    "awaiting_rating": 0,
    "dispatch_on_time_rate": 0.75,
    "handle_on_time_rate": 0.6667,
    "close_on_time_rate": 0.6667,
    "handling_rate": 0.75,
    "rework_rate": 0.3333,
    "overdue_rate": 0.75,
    "extension_rate": 0.25,
    "satisfaction_rate": 0.5,
    # (1 + 91.5 + 23.5) / 3 calendar hours.
    "avg_handling_hours": 38.67,
    # 30 x 3/4 + 20 x 2/3 + 20 x (1 - 1/3) + 20 x (1 - 3/4) + 10 x (1 - 1/4) = 61.67.
    "composite": 61.7,
}
EMPTY_RATES = {
    "dispatch_on_time_rate": None,
    "handle_on_time_rate": None,
    "close_on_time_rate": None,
    "handling_rate": None,
    "rework_rate": None,
    "overdue_rate": None,
    "extension_rate": None,
    "satisfaction_rate": None,
    "avg_handling_hours": None,
    "composite": None,
}


def steps(case, desk, worker, *moves):
    """Take the steps (action, moment, extra params) in turn; the checker and the unit's steps are the worker's."""
    for action, now, *params in moves:
        actor = worker if action in ("handle", "report_back", "extend", "check") else desk
        actions.transition(actor, case, action, now=now, **(params[0] if params else {}))
    case.refresh_from_db()
    return case


@pytest.fixture
def loop(desks, worker):
    """Cases of category 0601 (limits: dispatch 2h, handle 1d, check 1d, close 1d; a working day is 7 hours,
    09:00-12:00 and 13:30-17:30), reported on Monday 17 November 2025 unless said otherwise.

    A: all on time, handled in 1 h, rated 5.
    B: dispatched late (14:30, due 12:00); reported back late (Wed 10:00, due Tue 14:30), sent back, reported
       back late again (Fri 10:00, due Thu 11:00); closed late (due Thu 12:00); handled in 91.5 h; rated 2.
    C: one extension granted; reported back Tue 09:30 (23.5 h), closed on time, never rated (no rating).
    D: dispatched, being handled, past its handling deadline (Tue 10:00).
    E: reported and registered on Wednesday, never dispatched: past its dispatch deadline (Wed 14:30).
    F: category 0602 in the neighbouring grid, never accepted: past its accepting deadline (Mon 12:00).
    G: rejected.
    Outside the community: H reported the Monday after the period; I in the other street; J in no grid.
    """
    desk = desks["community"]
    mon = lambda hour, minute=0: at(2025, 11, 17, hour, minute)  # noqa: E731
    cases = {}
    for name in "ABCDG":
        cases[name], _ = report(worker, now=mon(10))
    for name in "ABCD":
        steps(cases[name], desk, worker, ("accept", mon(10)), ("register", mon(10)))
    steps(cases["A"], desk, worker, ("dispatch", mon(10)), ("handle", mon(10)))
    steps(cases["A"], desk, worker, ("report_back", mon(11), {"note": "ok"}), ("check", mon(11)), ("close", mon(11)))
    actions.rate(cases["A"], 5, actor=worker, now=mon(11))

    steps(cases["B"], desk, worker, ("dispatch", mon(14, 30)), ("handle", mon(14, 30)))
    steps(cases["B"], desk, worker, ("report_back", at(2025, 11, 19, 10), {"note": "ok"}))
    steps(cases["B"], desk, worker, ("rework", at(2025, 11, 19, 11), {"note": "not clean"}))
    steps(cases["B"], desk, worker, ("report_back", at(2025, 11, 21, 10), {"note": "ok"}))
    steps(cases["B"], desk, worker, ("check", at(2025, 11, 21, 10)), ("close", at(2025, 11, 21, 10)))
    actions.rate(cases["B"], 2, actor=worker, now=at(2025, 11, 21, 10))

    steps(cases["C"], desk, worker, ("dispatch", mon(10)), ("handle", mon(10)))
    steps(cases["C"], desk, worker, ("extend", mon(11), {"limit": "1d", "note": "waiting for the truck"}))
    steps(cases["C"], desk, worker, ("approve_extension", mon(11)))
    steps(cases["C"], desk, worker, ("report_back", at(2025, 11, 18, 9, 30), {"note": "ok"}))
    steps(cases["C"], desk, worker, ("check", at(2025, 11, 18, 10)), ("close", at(2025, 11, 18, 10)))

    steps(cases["D"], desk, worker, ("dispatch", mon(10)), ("handle", mon(10)))

    cases["E"], _ = report(worker, now=at(2025, 11, 19, 11))
    steps(cases["E"], desk, worker, ("accept", at(2025, 11, 19, 11)), ("register", at(2025, 11, 19, 11)))
    cases["F"], _ = report(worker, category="0602", now=mon(10), **NEIGHBOUR_POINT)
    steps(cases["G"], desk, worker, ("reject", mon(10), {"note": "not a real problem"}))
    assert actions.expire_ratings(now=LATER) == 1

    cases["H"], _ = report(worker, now=at(2025, 11, 24, 10))
    cases["I"], _ = report(worker, now=mon(10), **OTHER_POINT)
    cases["J"], _ = report(worker, now=mon(10), **NO_GRID_POINT)
    return cases


def test_the_scenario_is_what_the_figures_assume(loop):
    c = {name: Case.objects.get(pk=case.pk) for name, case in loop.items()}
    assert (c["B"].dispatch_late, c["B"].handle_late, c["B"].close_late, c["B"].rework_count) == (True, True, True, 1)
    assert (c["A"].dispatch_late, c["A"].handle_late, c["A"].close_late) == (False, False, False)
    assert (c["C"].extension_count, c["C"].handle_late, c["C"].close_late, c["C"].rating) == (1, False, False, "none")
    assert [c[n].state for n in "DEFG"] == [State.HANDLING, State.REGISTERED, State.REPORTED, State.REJECTED]
    assert c["F"].grid.code == NEIGHBOUR_GRID and c["I"].street_id != OWN_STREET and c["J"].community_id is None


def test_every_indicator_of_the_community(loop, desks):
    answer = indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, "grid", now=LATER)
    assert answer["division"] == {"code": OWN_COMMUNITY, "name": "贮水山社区居委会", "level": "community"}
    assert (answer["from"], answer["to"], answer["by"]) == (FROM, TO, "grid")
    assert answer["total"] == COMMUNITY_TOTAL
    own, neighbour = answer["rows"]
    assert own["key"] == OWN_GRID and own["reported"] == 6 and own["overdue_unhandled"] == 2
    assert own["composite"] == round(22.5 + 40 / 3 + 40 / 3 + 20 * (1 - 2 / 4) + 7.5, 1)
    # Nothing dispatched in the neighbouring grid: every rate has nothing to divide by.
    assert neighbour["key"] == NEIGHBOUR_GRID and neighbour["reported"] == 1 and neighbour["overdue_unhandled"] == 1
    assert {k: neighbour[k] for k in EMPTY_RATES} == EMPTY_RATES


def test_no_rating_is_never_satisfied(loop, desks):
    total = indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, "grid", now=LATER)["total"]
    # Three closed: one rated 5, one rated 2, one left unrated. Satisfaction is 1 of the 2 rated, not 2 of 3.
    assert (total["closed"], total["rated"], total["satisfied"], total["no_rating"]) == (3, 2, 1, 1)
    assert total["satisfaction_rate"] == 0.5


def test_a_case_back_in_rework_or_reopened_still_counts_as_handled(desks, worker):
    desk, mon = desks["community"], at(2025, 11, 17, 10)
    reworked, _ = report(worker, now=mon)
    reopened, _ = report(worker, now=mon)
    for case in (reworked, reopened):
        steps(case, desk, worker, ("accept", mon), ("register", mon), ("dispatch", mon), ("handle", mon))
        steps(case, desk, worker, ("report_back", mon, {"note": "ok"}))
    steps(reworked, desk, worker, ("rework", mon, {"note": "not clean"}))
    steps(reopened, desk, worker, ("check", mon), ("close", mon), ("reopen", mon, {"note": "back again"}))
    assert reworked.handled_at is None and reopened.handled_at is None and reopened.state == State.DISPATCHED
    total = indicators.indicators(desk, OWN_COMMUNITY, FROM, TO, now=mon)["total"]
    assert (total["dispatched"], total["handled"], total["reworked"], total["closed"]) == (2, 2, 1, 0)
    assert (total["rework_rate"], total["close_on_time_rate"], total["avg_handling_hours"]) == (0.5, None, None)


def test_overdue_is_measured_at_the_moment_asked(loop, desks):
    # On Monday at 11:00 nothing has passed a deadline yet; at 12:30 F (accept by 12:00) has.
    early = indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, now=at(2025, 11, 17, 11))
    assert early["total"]["overdue_unhandled"] == 0
    noon = indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, now=at(2025, 11, 17, 12, 30))
    assert noon["total"]["overdue_unhandled"] == 1


@pytest.mark.parametrize(
    "by,expected",
    [
        ("category", {"0601": 6, "0602": 1}),
        ("top_category", {"06": 7}),
        ("unit", {"community-370203005011": 7}),
        ("community", {OWN_COMMUNITY: 7}),
        ("street", {OWN_STREET: 7}),
    ],
)
def test_groupings(loop, desks, by, expected):
    answer = indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, by, now=LATER)
    assert {r["key"]: r["reported"] for r in answer["rows"]} == expected
    if len(expected) == 1:
        (row,) = answer["rows"]
        assert {k: row[k] for k in COMMUNITY_TOTAL} == COMMUNITY_TOTAL


def test_the_district_counts_every_street_and_the_cases_in_no_community(loop, desks):
    answer = indicators.indicators(desks["district"], DISTRICT, FROM, TO, "community", now=LATER)
    assert answer["total"]["reported"] == 9
    rows = {r["key"]: r for r in answer["rows"]}
    assert {k: r["reported"] for k, r in rows.items()} == {OWN_COMMUNITY: 7, OTHER_GRID[:12]: 1, None: 1}
    assert rows[None]["name"] == str(indicators.NO_KEY["community"])
    assert answer["rows"][-1]["key"] is None
    by_street = indicators.indicators(desks["district"], DISTRICT, FROM, TO, now=LATER)
    assert by_street["by"] == "street"
    assert {r["key"]: r["reported"] for r in by_street["rows"]} == {OWN_STREET: 7, OTHER_GRID[:9]: 1, None: 1}


def test_nothing_reported_gives_none_not_zero(loop, desks):
    answer = indicators.indicators(desks["community"], OWN_COMMUNITY, date(2024, 1, 1), date(2024, 2, 1))
    assert answer["rows"] == [] and answer["total"]["reported"] == 0
    assert {k: answer["total"][k] for k in EMPTY_RATES} == EMPTY_RATES


def test_composite_weights_and_the_overdue_cap():
    counts = dict.fromkeys(indicators.COUNTS + indicators.NUMERATORS, 0)
    counts |= {"dispatched": 2, "handled": 2, "handled_on_time": 2}
    assert indicators.composite(counts) == 100.0
    # More overdue than dispatched (cases overdue before dispatch count too): the term bottoms out at 0.
    counts |= {"overdue_unhandled": 5}
    assert indicators.composite(counts) == 80.0
    # Nothing handled: the handling, on-time and rework terms earn nothing.
    counts |= {"handled": 0, "handled_on_time": 0, "overdue_unhandled": 0}
    assert indicators.composite(counts) == 30.0


def test_a_fixed_number_of_queries(loop, desks, django_assert_max_num_queries):
    for by in indicators.GROUPINGS:
        # A fresh user object: its roles are read once (1), the place (1), the total (1), the groups (1),
        # their names (1).
        user = User.objects.get(pk=desks["district"].pk)
        with django_assert_max_num_queries(5):
            answer = indicators.indicators(user, DISTRICT, FROM, TO, by, now=LATER)
        assert answer["total"]["reported"] == 9
    selection = indicators.select(desks["district"], DISTRICT, FROM, TO, now=LATER)
    with django_assert_max_num_queries(1):
        indicators.series(selection)


def test_series_per_day(loop, desks):
    selection = indicators.select(desks["community"], OWN_COMMUNITY, FROM, TO, now=LATER)
    chart = indicators.series(selection)
    assert chart["step"] == "day" and chart["labels"][0] == "2025-11-17" and len(chart["labels"]) == 7
    # Reported: A B C D F G on Monday, E on Wednesday. Closed: A Monday, C Tuesday, B Friday.
    assert chart["reported"] == [6, 0, 1, 0, 0, 0, 0]
    assert chart["closed"] == [1, 1, 0, 0, 1, 0, 0]
    weekly = indicators.series(indicators.select(desks["community"], OWN_COMMUNITY, date(2025, 9, 1), TO))
    assert weekly["step"] == "week" and weekly["labels"][-1] == "2025-11-17"
    assert weekly["reported"][-1] == 7 and weekly["closed"][-1] == 3 and sum(weekly["reported"]) == 7


def test_presets():
    p = indicators.presets(date(2026, 2, 10))
    assert p["this_month"] == (date(2026, 2, 1), date(2026, 3, 1))
    assert p["last_month"] == (date(2026, 1, 1), date(2026, 2, 1))
    assert p["this_quarter"] == (date(2026, 1, 1), date(2026, 4, 1))
    assert p["this_year"] == (date(2026, 1, 1), date(2027, 1, 1))
    assert indicators.presets(date(2026, 11, 23))["this_quarter"] == (date(2026, 10, 1), date(2027, 1, 1))


def test_scope_and_bad_input(loop, desks, make_user):
    stranger = make_user(Role.GRID_WORKER, OTHER_GRID)
    with pytest.raises(Http404):
        indicators.indicators(stranger, OWN_COMMUNITY, FROM, TO)
    # The district is above the community desk's scope: visible for navigation, but not counted from.
    with pytest.raises(Http404):
        indicators.indicators(desks["community"], DISTRICT, FROM, TO)
    with pytest.raises(Http404):
        indicators.indicators(make_user(Role.AUDITOR, DISTRICT), DISTRICT, FROM, TO)
    with pytest.raises(InvalidField) as fault:
        indicators.indicators(desks["community"], OWN_COMMUNITY, TO, FROM)
    assert fault.value.field == "from"
    with pytest.raises(InvalidField) as fault:
        indicators.indicators(desks["community"], OWN_COMMUNITY, FROM, TO, "house")
    assert fault.value.field == "by"


# --- API, page, XLSX -------------------------------------------------------------------------------


def test_api(loop, desks, make_user):
    client, headers = token_client(desks["community"])
    answer = client.get(f"/api/v1/indicators/cases?division={OWN_COMMUNITY}&{PERIOD}&by=grid", **headers)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["from"], body["to"], body["by"]) == ("2025-11-17", "2025-11-24", "grid")
    # Every deadline of the scenario is long past: overdue now is overdue on 24 November 2025.
    assert body["total"] == COMMUNITY_TOTAL
    assert [r["key"] for r in body["rows"]] == [OWN_GRID, NEIGHBOUR_GRID]
    assert body["rows"][1]["composite"] is None and body["rows"][1]["handling_rate"] is None

    # Defaults: the top of the scope, the level below it, the last 30 days with today.
    body = client.get("/api/v1/indicators/cases", **headers).json()
    today = timezone.localdate()
    assert body["division"]["code"] == OWN_COMMUNITY and body["by"] == "grid"
    assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), (today + timedelta(1)).isoformat())

    for query, field in (
        (f"division={OWN_COMMUNITY}&from=2025-13-01", "from"),
        (f"division={OWN_COMMUNITY}&from=2025-11-24&to=2025-11-17", "from"),
        (f"division={OWN_COMMUNITY}&to=yesterday", "to"),
        (f"division={OWN_COMMUNITY}&by=house", "by"),
    ):
        answer = client.get(f"/api/v1/indicators/cases?{query}", **headers)
        assert answer.status_code == 422 and answer.json()["field"] == field, query

    assert client.get(f"/api/v1/indicators/cases?division={DISTRICT}", **headers).status_code == 404
    assert client.get(f"/api/v1/indicators/cases?division={OTHER_GRID}", **headers).status_code == 404
    client, headers = token_client(make_user(Role.GRID_WORKER, OTHER_GRID))
    assert client.get(f"/api/v1/indicators/cases?division={OWN_COMMUNITY}", **headers).status_code == 404
    # A grid worker opens at their grid, grouped by category.
    body = client.get("/api/v1/indicators/cases", **headers).json()
    assert body["division"]["code"] == OTHER_GRID and body["by"] == "category"


def test_page(loop, desks, make_user):
    client = login(desks["community"])
    page = client.get(f"/cases/indicators/?division={OWN_COMMUNITY}&period=custom&{PERIOD}&by=grid")
    assert page.status_code == 200
    text = page.content.decode()
    for part in ('id="chart-composite"', 'id="chart-trend"', "vendor/echarts/echarts.min.js", "indicators-data"):
        assert part in text
    assert "/cases/indicators.xlsx?" in text and "61.7" in text and "66.7%" in text and "—" in text
    chart = page.context["chart"]
    assert chart["series"]["reported"] == [6, 0, 1, 0, 0, 0, 0]
    # Best composite first; the grid with nothing dispatched (no score) last.
    assert [r["key"] for r in page.context["table"]] == [OWN_GRID, NEIGHBOUR_GRID]
    assert f"?division={NEIGHBOUR_GRID}&amp;period=custom" in text
    # Headings read as counts in Chinese, not as the case states of the same English words.
    assert text.count('id="definitions"') == 1
    for heading in ("上报数", "立案数", "派遣数", "处置数", "结案数", "已评价数", "待评价数"):
        assert f"<tr><th>{heading}</th><td>" in text, heading
    assert "<tr><th>已结案</th>" not in text

    assert client.get("/cases/indicators/").status_code == 200
    # Dates without a named period count as a custom period.
    undeclared = client.get(f"/cases/indicators/?division={OWN_COMMUNITY}&{PERIOD}")
    assert undeclared.context["report"]["total"] == COMMUNITY_TOTAL
    assert client.get("/cases/indicators/?period=last_month").status_code == 200
    bad = client.get(f"/cases/indicators/?division={OWN_COMMUNITY}&period=custom&from=2025-11-24&to=2025-11-17")
    assert bad.status_code == 400 and "chart-composite" not in bad.content.decode()
    assert client.get(f"/cases/indicators/?division={OTHER_GRID}").status_code == 404
    assert login(make_user(Role.AUDITOR, DISTRICT)).get("/cases/indicators/").status_code == 404


def test_xlsx_holds_the_api_figures_and_is_audited(loop, desks):
    client = login(desks["community"])
    answer = client.get(f"/cases/indicators.xlsx?division={OWN_COMMUNITY}&period=custom&{PERIOD}&by=grid&by=category")
    assert answer.status_code == 200 and answer["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert len(book.worksheets) == 3
    cover = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    text = "\n".join(" ".join(str(v) for v in row if v is not None) for row in cover)
    assert "GB/T 30428" in text and "贮水山社区居委会 (370203005011)" in text and "2025-11-17 – 2025-11-23" in text
    for figure in indicators.definitions():
        assert figure.definition in text

    api, headers = token_client(desks["community"])
    fields = [f.field for f in indicators.definitions()]
    for sheet, by in zip(book.worksheets[1:], ("grid", "category"), strict=True):
        body = api.get(f"/api/v1/indicators/cases?division={OWN_COMMUNITY}&{PERIOD}&by={by}", **headers).json()
        values = list(sheet.iter_rows(min_row=2, values_only=True))
        expected = [(OWN_COMMUNITY, body["total"])] + [(r["key"], r) for r in body["rows"]]
        assert len(values) == len(expected)
        for row, (key, figures) in zip(values, expected, strict=True):
            assert row[0] == key
            assert list(row[2:]) == ["—" if figures[f] is None else figures[f] for f in fields]
        rate_column = 3 + fields.index("handle_on_time_rate")
        assert sheet.cell(2, rate_column).number_format == "0.0%" and sheet.cell(2, rate_column).value == 0.6667
    event = AuditEvent.objects.get(action="cases.indicators_export")
    assert event.object_id == OWN_COMMUNITY and '"by": ["grid", "category"]' in event.detail

    bad = client.get(f"/cases/indicators.xlsx?division={OWN_COMMUNITY}&period=custom&{PERIOD}&by=house")
    assert bad.status_code == 400
    assert client.get(f"/cases/indicators.xlsx?division={OTHER_GRID}").status_code == 404
    assert AuditEvent.objects.filter(action="cases.indicators_export").count() == 1
