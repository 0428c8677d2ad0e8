"""Registry quality figures and the quarterly report: exact counts per grid, community and street, scope,
the XLSX contents, the audit row, the API and the page."""

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.http import Http404
from django.utils import timezone

from anju.core.models import AuditEvent
from anju.core.validators import id_number_check_char
from anju.geo.models import Grid
from anju.registry import actions, reports
from anju.registry.models import Address, House, Person, Residence, Revision
from tests.conftest import OTHER_GRID, OWN_GRID, login, token_client

NEIGHBOUR_GRID = "370203005011002"
COMMUNITY = OWN_GRID[:12]
STREET = OWN_GRID[:9]
OTHER_STREET = OTHER_GRID[:9]
# A point inside each grid (0.01-degree squares, see conftest).
POINTS = {OWN_GRID: (120.305, 36.055), NEIGHBOUR_GRID: (120.315, 36.055), OTHER_GRID: (120.315, 36.085)}

_serial = iter(range(100, 999))


def id_number(birth: str = "19900101") -> str:
    first17 = f"370203{birth}{next(_serial):03d}"
    return first17 + id_number_check_char(first17)


def house(worker, grid_code: str | None, room: str, use: str, *, door: str = "123号") -> House:
    """A house at 延安三路 `door` `room`: in the grid's community at a point inside it, or in the community
    outside any grid (a door whose building no grid holds)."""
    data = {"community": COMMUNITY, "road": "延安三路", "door_number": door, "room": room, "use": use}
    if grid_code:
        data["community"] = grid_code[:12]
        data["lng"], data["lat"] = POINTS[grid_code]
    return actions.collect_house(worker, data)


def person(worker, grid_code: str, name: str, kind: str) -> Person:
    grid = Grid.objects.get(code=grid_code)
    data = {"name": name, "id_number": id_number(), "phone": "13812345678", "kind": kind}
    return actions.collect_person(worker, data, place=grid.path, grid=grid)


@pytest.fixture
def people(district, make_user):
    """Two grid workers of one community, one of the other street, their officers and two admins."""
    return {
        "w1": make_user("grid_worker", OWN_GRID, username="w1"),
        "w2": make_user("grid_worker", NEIGHBOUR_GRID, username="w2"),
        "w3": make_user("grid_worker", OTHER_GRID, username="w3"),
        "officer": make_user("officer", COMMUNITY, username="officer"),
        "street": make_user("street_admin", STREET),
        "district": make_user("district_admin", "370203"),
        "auditor": make_user("auditor", "370203"),
    }


@pytest.fixture
def registry(people):
    """Records collected now (see each figure's expectation in the tests)."""
    w1, w2, w3, officer = people["w1"], people["w2"], people["w3"], people["officer"]
    today = timezone.localdate()
    # Own grid: two houses (one of unknown use), a tenant overdue and an owner verified.
    h1 = house(w1, OWN_GRID, "101室", "rented")
    h2 = house(w1, OWN_GRID, "102室", "unknown")
    p1 = person(w1, OWN_GRID, "张三", "floating")
    actions.check_in(w1, h1, p1, start=today - timedelta(days=10), relation="tenant")
    p2 = person(w1, OWN_GRID, "李四", "registered")
    r2 = actions.check_in(w1, h2, p2, start=today - timedelta(days=30), relation="owner")
    actions.verify(officer, r2)
    # Neighbour grid: a verified house; its family member still pending.
    h3 = house(w2, NEIGHBOUR_GRID, "201室", "self")
    actions.verify(officer, h3)
    p3 = person(w2, NEIGHBOUR_GRID, "王五", "registered")
    actions.check_in(w2, h3, p3, start=today - timedelta(days=5), relation="family")
    # The community, outside any grid: a vacant house the officer collects (verified at once).
    house(officer, None, "301室", "vacant", door="9号")
    # The other street: a house of unknown use, rented out to a tenant who moved in today (not due yet).
    h4 = house(w3, OTHER_GRID, "401室", "unknown")
    p4 = person(w3, OTHER_GRID, "赵六", "floating")
    actions.check_in(w3, h4, p4, start=today, relation="tenant")


def figures(row: dict, *names) -> tuple:
    return tuple(row[n] for n in names)


MAIN = (
    "houses",
    "houses_known_use",
    "houses_known_use_percent",
    "people",
    "residents",
    "residents_verified_recently",
    "residents_verified_percent",
    "pending",
    "overdue_rentals",
)


def test_quality_per_grid_community_street_and_district(people, registry):
    officer, admin = people["officer"], people["district"]

    community = reports.quality(officer, COMMUNITY)
    rows = {r["code"]: r for r in community["rows"]}
    assert [r["code"] for r in community["rows"]] == [OWN_GRID, NEIGHBOUR_GRID, ""]
    # h1 rented + h2 unknown; p1 (pending) and p2 (verified with the residence); pending: h1 h2 p1 r1.
    assert figures(rows[OWN_GRID], *MAIN) == (2, 1, 50.0, 2, 2, 1, 50.0, 4, 1)
    # h3 verified; p3 and its residence pending; nobody verified: 0 %, not "—".
    assert figures(rows[NEIGHBOUR_GRID], *MAIN) == (1, 1, 100.0, 1, 1, 0, 0.0, 2, 0)
    # The officer's vacant house, in no grid; no residents: the share is None ("—").
    assert figures(rows[""], *MAIN) == (1, 1, 100.0, 0, 0, 0, None, 0, 0)
    assert figures(community["totals"], *MAIN) == (4, 3, 75.0, 3, 3, 1, 33.3, 6, 1)

    street = reports.quality(admin, STREET)
    rows = {r["code"]: r for r in street["rows"]}
    assert list(rows) == ["370203005011", "370203005014"]
    assert figures(rows["370203005011"], *MAIN) == figures(community["totals"], *MAIN)
    assert figures(rows["370203005014"], *MAIN) == (0, 0, None, 0, 0, 0, None, 0, 0)

    district = reports.quality(admin, "370203")
    rows = {r["code"]: r for r in district["rows"]}
    assert list(rows) == [STREET, OTHER_STREET]
    # The tenant's check-in turned h4's unknown use into "rented".
    assert figures(rows[OTHER_STREET], *MAIN) == (1, 1, 100.0, 1, 1, 0, 0.0, 3, 0)
    assert figures(district["totals"], *MAIN) == (5, 4, 80.0, 4, 4, 1, 25.0, 9, 1)

    grid = reports.quality(admin, OWN_GRID)
    assert [r["code"] for r in grid["rows"]] == [OWN_GRID]
    assert figures(grid["totals"], *MAIN) == (2, 1, 50.0, 2, 2, 1, 50.0, 4, 1)

    workers = {w["username"]: w for w in district["workers"]}
    assert figures(workers["w1"], "collected", "collected_house", "collected_person", "check_ins", "verified") == (
        4,
        2,
        2,
        2,
        0,
    )
    assert figures(workers["w2"], "collected", "check_ins") == (2, 1)
    assert figures(workers["w3"], "collected", "check_ins") == (2, 1)
    # The officer collected the vacant house and verified r2, p2 (with it) and h3.
    assert figures(workers["officer"], "collected", "verified") == (1, 3)
    assert "w3" not in {w["username"] for w in community["workers"]}


def test_quality_keeps_to_the_readers_scope(people, registry):
    w1 = people["w1"]
    street = reports.quality(w1, STREET)
    # The worker's own grid only, though the street and the community hold more.
    assert [r["code"] for r in street["rows"]] == [COMMUNITY]
    assert figures(street["totals"], *MAIN) == (2, 1, 50.0, 2, 2, 1, 50.0, 4, 1)
    community = reports.quality(w1, COMMUNITY)
    assert [r["code"] for r in community["rows"]] == [OWN_GRID]
    # Counted on the grid's records only: the officer's verifications there, not h3 nor the vacant house.
    workers = {w["username"]: figures(w, "collected", "check_ins", "verified") for w in community["workers"]}
    assert workers == {"w1": (4, 2, 0), "officer": (0, 0, 2)}
    for code in (OTHER_STREET, OTHER_GRID, NEIGHBOUR_GRID, "999999"):
        with pytest.raises(Http404):
            reports.quality(w1, code)
    with pytest.raises(Http404):
        reports.quality(people["auditor"], "370203")


def test_quality_is_a_handful_of_queries(people, registry, django_assert_max_num_queries):
    admin = people["district"]
    reports.quality(admin, "370203")  # reads the roles once
    with django_assert_max_num_queries(12):
        reports.quality(admin, "370203")


# --- Quarterly report ------------------------------------------------------------------------------


def local(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour), timezone.get_default_timezone())


def move_into(records, day: str) -> None:
    """Put records, their addresses and their revisions at `day` (the actions stamp them now)."""
    for record in records:
        type(record).objects.filter(pk=record.pk).update(created_at=local(day))
        Revision.objects.filter(record_type=type(record)._meta.model_name, record_id=record.pk).update(at=local(day))
        if isinstance(record, House):
            Address.objects.filter(pk=record.address_id).update(created_at=local(day))
            Address.objects.filter(pk=record.building.address_id).update(created_at=local(day))


@pytest.fixture
def quarter(people):
    """2025 Q3 (1 July - 30 September), made after the fact with the dates moved back."""
    w1, w3, officer = people["w1"], people["w3"], people["officer"]
    h1 = house(w1, OWN_GRID, "101室", "rented")
    p = {n: person(w1, OWN_GRID, f"租客{name}", "floating") for n, name in zip((1, 2, 3, 5), "甲乙丙戊", strict=True)}
    p[4] = person(w1, OWN_GRID, "户主", "registered")
    r = {
        1: actions.check_in(w1, h1, p[1], start="2025-08-01", relation="tenant"),  # verified on time
        2: actions.check_in(w1, h1, p[2], start="2025-09-01", relation="tenant"),  # verified late
        3: actions.check_in(w1, h1, p[3], start="2025-09-20", relation="tenant"),  # overdue at the end
        4: actions.check_in(w1, h1, p[4], start="2025-06-01", relation="family"),  # moved out in August
        5: actions.check_in(w1, h1, p[5], start="2025-09-29", relation="tenant"),  # due on 2 October
    }
    actions.check_out(w1, r[4], end="2025-08-15")
    actions.verify(officer, r[1])
    actions.verify(officer, r[2])
    h4 = house(w3, OTHER_GRID, "401室", "rented")
    p6 = person(w3, OTHER_GRID, "租客己", "floating")
    r6 = actions.check_in(w3, h4, p6, start="2025-07-05", relation="tenant")  # overdue at the end
    h7 = house(w3, OTHER_GRID, "402室", "self")  # collected after the quarter
    # h7 first: its building's address, shared with h4, was made with h4 in July.
    move_into([h7], "2025-10-05")
    move_into([h1, *p.values(), *r.values(), h4, p6, r6], "2025-07-15")
    Residence.objects.filter(pk=r[1].pk).update(verified_at=local("2025-08-03", 20))
    Residence.objects.filter(pk=r[2].pk).update(verified_at=local("2025-09-10"))
    verifications = Revision.objects.filter(action="verify")
    verifications.filter(record_type="residence", record_id=r[2].pk).update(at=local("2025-09-10"))
    verifications.filter(record_type="person").update(at=local("2025-08-03"))


FIGURES = reports.QUARTER_FIGURES
# addresses, houses, people, organizations, vehicles, verified, check-ins (floating), check-outs (floating),
# tenants on time, late, overdue at the end
OWN = (2, 1, 5, 0, 0, 4, 4, 4, 1, 0, 1, 1, 1)
OTHER = (2, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1)
ZERO = (0,) * len(FIGURES)


def test_quarterly_figures(people, quarter):
    report = reports.quarterly(people["district"], "370203", 2025, 3)
    assert tuple(report["totals"].values()) == tuple(a + b for a, b in zip(OWN, OTHER, strict=True))
    tables = dict(report["tables"])
    assert list(tables) == ["street", "community", "grid"]
    streets = {code: tuple(f.values()) for code, _name, f in tables["street"]}
    assert streets == {STREET: OWN, OTHER_STREET: OTHER}
    grids = {code: tuple(f.values()) for code, _name, f in tables["grid"]}
    assert len(grids) == 8 and grids[OWN_GRID] == OWN and grids[OTHER_GRID] == OTHER and grids[NEIGHBOUR_GRID] == ZERO
    workers = {w["username"]: w for w in report["workers"]}
    assert figures(workers["w1"], "collected", "collected_house", "collected_person", "check_ins") == (6, 1, 5, 5)
    assert figures(workers["w3"], "collected", "check_ins") == (2, 1)  # h7 came in October
    assert figures(workers["officer"], "collected", "verified") == (0, 4)


def test_quarterly_xlsx_holds_the_figures_and_is_audited(people, quarter):
    w1 = people["w1"]
    content = reports.quarterly_xlsx(w1, STREET, 2025, 3)
    book = openpyxl.load_workbook(io.BytesIO(content))
    cover, communities, grids, workers = book.worksheets
    assert any(STREET in str(c.value) for row in cover.iter_rows() for c in row)
    assert any("2025-07-01" in str(c.value) for row in cover.iter_rows() for c in row)
    rows = {row[0]: row[2:] for row in communities.iter_rows(min_row=2, values_only=True)}
    # The worker's scope: only their grid, so only their community, whose figures are the total.
    assert rows == {STREET: OWN, COMMUNITY: OWN}
    rows = {row[0]: row[2:] for row in grids.iter_rows(min_row=2, values_only=True)}
    assert rows == {STREET: OWN, OWN_GRID: OWN}
    rows = {row[0]: row[2:] for row in workers.iter_rows(min_row=2, values_only=True)}
    assert rows["w1"] == (6, 5, 1, 0, 0, 0, 5, 0)
    assert rows["officer"] == (0, 0, 0, 0, 0, 0, 0, 4)
    event = AuditEvent.objects.get(action="registry.quarterly_export")
    assert (event.username, event.object_id) == ("w1", STREET)
    with pytest.raises(Http404):
        reports.quarterly_xlsx(w1, OTHER_STREET, 2025, 3)
    assert AuditEvent.objects.filter(action="registry.quarterly_export").count() == 1


def test_quarterly_lists_community_records_outside_grids(people):
    officer = people["officer"]
    house(officer, None, "301室", "vacant", door="9号")
    today = timezone.localdate()
    report = reports.quarterly(officer, COMMUNITY, today.year, (today.month - 1) // 3 + 1)
    (level, rows), *_ = report["tables"]
    assert level == "grid"
    assert [(code, f["houses"]) for code, _name, f in rows] == [(OWN_GRID, 0), (NEIGHBOUR_GRID, 0), (COMMUNITY, 1)]
    assert report["totals"]["houses"] == 1


# --- API and page ----------------------------------------------------------------------------------


def test_api_quality_and_quarterly(people, registry):
    client, headers = token_client(people["district"])
    answer = client.get("/api/v1/registry/quality?division=370203005", **headers)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["division"] == {"code": STREET, "name": "辽宁路街道", "level": "street"}
    assert body["totals"]["houses"] == 4 and body["totals"]["residents_verified_percent"] == 33.3
    assert body["rows"][1]["houses_known_use_percent"] is None
    assert {w["username"] for w in body["workers"]} == {"w1", "w2", "officer"}

    answer = client.get("/api/v1/registry/quarterly.xlsx?division=370203&year=2026&quarter=5", **headers)
    assert answer.status_code == 422 and answer.json()["field"] == "quarter"
    today = timezone.localdate()
    answer = client.get(
        f"/api/v1/registry/quarterly.xlsx?division=370203&year={today.year}&quarter={(today.month - 1) // 3 + 1}",
        **headers,
    )
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert openpyxl.load_workbook(io.BytesIO(answer.content)).worksheets[1].cell(2, 1).value == "370203"
    assert AuditEvent.objects.filter(action="registry.quarterly_export", object_id="370203").exists()

    client, headers = token_client(people["w1"])
    assert client.get("/api/v1/registry/quality?division=370203006", **headers).status_code == 404
    client, headers = token_client(people["auditor"])
    assert client.get("/api/v1/registry/quality?division=370203", **headers).status_code == 404


def test_quality_page(people, registry):
    client = login(people["street"])
    page = client.get("/registry/quality/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "辽宁路街道" in text and "?division=370203005011" in text and "—" in text and "75.0%" in text
    assert text.count('id="definitions"') == 1 and "<tr><th>90 天内核实</th><td>" in text
    answer = client.get("/registry/quality/quarterly.xlsx?division=370203005&year=2026&quarter=5")
    assert answer.status_code == 400
    today = timezone.localdate()
    answer = client.get(
        f"/registry/quality/quarterly.xlsx?division=370203005&year={today.year}&quarter={(today.month - 1) // 3 + 1}"
    )
    assert answer.status_code == 200 and answer["Content-Disposition"].startswith("attachment")
    assert client.get("/registry/quality/?division=370203006").status_code == 404
    assert login(people["auditor"]).get("/registry/quality/").status_code == 404
