"""Reporting a case: validation, placing it, its number, and the open cases it may repeat."""

import math
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from anju.cases import actions, routing
from anju.cases.models import Case, CaseEvent, CasePhoto, Category, State
from anju.core.errors import InvalidField
from anju.core.models import AuditEvent
from anju.core.roles import Role
from anju.geo import actions as geo_actions
from anju.geo.imports import division_path
from anju.geo.models import Division, Grid
from anju.geo.models import Level as DivisionLevel
from anju.registry import actions as registry_actions
from tests.cases.conftest import DISTRICT, JPEG, OWN_COMMUNITY, OWN_POINT, OWN_STREET, advance, at, report
from tests.conftest import OTHER_GRID, OWN_GRID, square

MONDAY = at(2026, 11, 23, 10)
# Inside the district's outline (120.29-120.35, 36.04-36.10) but south-west of every grid.
NO_GRID_POINT = {"lng": 120.295, "lat": 36.045}
EARTH_RADIUS = 6_371_000


def north_of(point: dict, metres: float) -> dict:
    """The point `metres` due north of `point`."""
    return {"lng": point["lng"], "lat": point["lat"] + math.degrees(metres / EARTH_RADIUS)}


def east_of(point: dict, metres: float) -> dict:
    """The point `metres` due east of `point` (on its parallel, close enough for short distances)."""
    radius = EARTH_RADIUS * math.cos(math.radians(point["lat"]))
    return {"lng": point["lng"] + math.degrees(metres / radius), "lat": point["lat"]}


def written() -> tuple[int, int, int, int]:
    """What a report writes: cases, events, photos and audit rows of cases."""
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        CasePhoto.objects.count(),
        AuditEvent.objects.filter(action__startswith="case.").count(),
    )


# --- Placing ---------------------------------------------------------------------------------------


def test_a_point_in_a_grid_places_the_case_in_its_grid_community_street_and_district(desks, worker):
    case, _ = report(worker, now=MONDAY)
    grid = Grid.objects.get(code=OWN_GRID)
    assert (case.grid, case.community_id, case.street_id, case.district_id) == (
        grid,
        OWN_COMMUNITY,
        OWN_STREET,
        DISTRICT,
    )
    assert case.path == grid.path == "37/3702/370203/370203005/370203005011/370203005011001/"
    assert case.level == "community"
    assert case.unit == routing.centre(Division.objects.get(code=OWN_COMMUNITY))


def test_a_point_in_another_grid_goes_there(district, worker):
    case, _ = report(worker, lng=120.315, lat=36.085, now=MONDAY)
    assert case.grid.code == OTHER_GRID
    assert case.community_id == OTHER_GRID[:12] and case.street_id == OTHER_GRID[:9]
    assert case.unit == routing.centre(Division.objects.get(code=OTHER_GRID[:12]))


def test_a_point_in_no_grid_but_inside_the_district_goes_to_the_district(district, worker):
    case, _ = report(worker, **NO_GRID_POINT, now=MONDAY)
    assert case.grid is None and case.community is None and case.street is None
    assert case.district_id == DISTRICT
    assert case.path == district.path == "37/3702/370203/"
    assert case.level == "district"
    # 0601 (rubbish) is handled at district level by urban management.
    assert case.unit == routing.department(district, "urban_management")
    assert (case.lng, case.lat) == (120.295, 36.045)


def _another_district(code: str, outline: dict | None) -> Division:
    Division.objects.create(
        code=code, name="另一区", parent_id="3702", level=DivisionLevel.COUNTY, path=division_path(code)
    )
    if outline:
        geo_actions.set_division_geometry(code, outline)
    return Division.objects.get(code=code)


def test_a_point_inside_another_districts_outline_goes_to_that_district(district, worker):
    other = _another_district("370212", square(120.40, 36.04, 0.06))
    case, _ = report(worker, lng=120.45, lat=36.06, now=MONDAY)
    assert case.district == other and case.path == other.path and case.level == "district"
    assert case.unit == routing.department(other, "urban_management")


def test_a_point_outside_every_district_goes_to_the_home_district(district, worker):
    # A district without grids or outline, with a lower code: the home district is the one with grids.
    _another_district("370202", None)
    case, _ = report(worker, lng=121.5, lat=37.5, now=MONDAY)
    assert case.district == district and case.path == district.path and case.level == "district"
    assert Case.objects.filter(pk=case.pk).exists()


def test_an_address_the_registry_knows_places_the_case(district, worker):
    registry_actions.collect_house(
        None,
        {
            "community": OWN_COMMUNITY,
            "road": "延安三路",
            "door_number": "123",
            "estate": "鲁邦国际",
            "building": "3",
            "unit": "2",
            "room": "502",
            "lng": 120.305,
            "lat": 36.055,
        },
    )
    data = {"category": "0601", "description": "楼下垃圾堆放", "address": "市北区延安三路123号鲁邦国际3号楼"}
    case, _ = actions.report_case(worker, data, "field", now=MONDAY)
    assert case.grid.code == OWN_GRID and case.level == "community"
    assert (case.lng, case.lat) == (120.305, 36.055)
    # The best match is the building's standard address.
    assert case.address == "贮水山社区 延安三路123号 鲁邦国际 3号楼"


def test_an_address_the_registry_does_not_know_is_kept_at_district_level(district, worker):
    data = {"category": "0601", "description": "楼下垃圾堆放", "address": "无名路999号"}
    case, _ = actions.report_case(worker, data, "field", now=MONDAY)
    assert case.lng is None and case.lat is None and case.grid is None
    assert case.address == "无名路999号"
    assert case.district == district and case.path == district.path and case.level == "district"


# --- Checking the report ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"category": "9999"}, "category"),
        ({"category": ""}, "category"),
        ({"category": "06"}, "category"),  # has sub-categories: file under one of them
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "长" * 2001}, "description"),
        ({"reporter_phone": "12345"}, "reporter_phone"),
        ({"lng": None, "lat": None}, "lng"),
        ({"lng": None}, "lng"),
        ({"lat": None}, "lat"),
        ({"lng": "东经"}, "lat"),
        ({"lng": 181}, "lng"),
        ({"lat": -91}, "lat"),
        ({"lng": float("nan")}, "lng"),
    ],
)
def test_a_faulty_report_is_refused_whole(desks, worker, change, field):
    before = written()
    with pytest.raises(InvalidField) as refused:
        report(worker, now=MONDAY, **change)
    assert refused.value.field == field
    assert written() == before


def test_the_longest_description_is_taken(desks, worker):
    case, _ = report(worker, description="长" * 2000, now=MONDAY)
    assert len(case.description) == 2000


def test_an_inactive_category_is_refused(desks, worker):
    category = Category.objects.get(code="0601")
    actions.save_category(None, {"name": category.name, "parent": "06", "active": False}, category)
    with pytest.raises(InvalidField) as refused:
        report(worker, now=MONDAY)
    assert refused.value.field == "category"


def test_a_category_whose_sub_categories_are_all_inactive_takes_cases(desks, worker):
    for category in Category.objects.filter(parent__code="14"):
        actions.save_category(None, {"name": category.name, "parent": "14", "active": False}, category)
    case, _ = report(worker, category="14", now=MONDAY)
    assert case.category.code == "14"


def test_an_unknown_channel_is_refused(desks, worker):
    with pytest.raises(InvalidField) as refused:
        actions.report_case(worker, {"category": "0601", "description": "x", **OWN_POINT}, "pigeon")
    assert refused.value.field == "channel"


def test_a_role_that_may_not_report_is_refused(desks, make_user):
    auditor = make_user(Role.AUDITOR, DISTRICT)
    before = written()
    with pytest.raises(PermissionDenied):
        report(auditor, now=MONDAY)
    assert written() == before


def test_photos_are_kept_with_the_report(desks, worker, media):
    photos = [SimpleUploadedFile("scene.jpg", JPEG, content_type="image/jpeg") for _ in range(6)]
    case, _ = actions.report_case(
        worker, {"category": "0601", "description": "垃圾", **OWN_POINT}, "field", photos=photos, now=MONDAY
    )
    event = case.events.get()
    assert event.action == "report" and event.photos.count() == 6
    assert all(p.file.name.startswith("cases/2026/11/") and p.file.name.endswith(".jpg") for p in event.photos.all())


@pytest.mark.parametrize("photos", [["jpeg"] * 7, ["jpeg", "text"]])
def test_faulty_photos_refuse_the_report(desks, worker, media, photos):
    files = [
        SimpleUploadedFile("p.jpg", JPEG if kind == "jpeg" else b"not a photo at all", content_type="image/jpeg")
        for kind in photos
    ]
    before = written()
    with pytest.raises(InvalidField) as refused:
        actions.report_case(worker, {"category": "0601", "description": "垃圾", **OWN_POINT}, "field", photos=files)
    assert refused.value.field == "photos"
    assert written() == before


# --- What a report writes --------------------------------------------------------------------------


def test_the_number_is_the_local_date_and_the_row_id(desks, worker):
    case, _ = report(worker, now=MONDAY)
    assert case.number == f"20261123{case.pk:06d}"
    # 23:30 in Shanghai is still the 23rd, though it is 15:30 UTC; 00:30 on the 24th is the 23rd in UTC.
    late, _ = report(worker, now=at(2026, 11, 23, 23, 30))
    early, _ = report(worker, now=at(2026, 11, 24, 0, 30))
    assert late.number == f"20261123{late.pk:06d}"
    assert early.number == f"20261124{early.pk:06d}"
    assert Case.objects.get(pk=case.pk).number == case.number


def test_a_report_starts_the_accept_clock_and_leaves_one_event_and_one_audit_row(
    desks, worker, django_capture_on_commit_callbacks
):
    audit_rows = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = report(worker, now=MONDAY)
    assert case.state == State.REPORTED and case.reported_at == MONDAY
    assert case.stage_started_at == MONDAY
    assert case.warn_at == at(2026, 11, 23, 11, 36) and case.due_at == at(2026, 11, 23, 12)  # 2h, yellow at 80%
    event = case.events.get()
    assert (event.action, event.from_state, event.to_state, event.actor) == ("report", "", "reported", worker)
    assert event.data == {"channel": "field"}
    assert AuditEvent.objects.count() == audit_rows + 1
    row = AuditEvent.objects.order_by("-id").first()
    assert (row.action, row.object_id, row.username) == ("case.report", case.number, worker.username)
    # The desk hears of it.
    assert desks["community"].notifications.filter(subject__contains=case.number).count() == 1


def test_the_reporters_contact_comes_from_the_account_unless_given(desks, worker):
    worker.phone = "13812345678"
    worker.save()
    case, _ = report(worker, now=MONDAY)
    assert (case.reporter, case.reporter_name, case.reporter_phone) == (worker, "测试用户", "13812345678")
    given, _ = report(worker, reporter_name="王芳", reporter_phone="13912345678", now=MONDAY)
    assert (given.reporter_name, given.reporter_phone) == ("王芳", "13912345678")
    # A phone given without a name is kept; the name comes from the account.
    phone_only, _ = report(worker, reporter_phone="13912345678", now=MONDAY)
    assert (phone_only.reporter_name, phone_only.reporter_phone) == ("测试用户", "13912345678")


def test_a_public_report_has_no_reporter_account(desks):
    case, _ = report(None, reporter_name="王芳", reporter_phone="13912345678", now=MONDAY)
    assert case.reporter is None and case.channel == "resident"
    assert case.events.get().username == "public"


# --- Possible duplicates ---------------------------------------------------------------------------


def test_possible_duplicates_are_open_cases_of_the_same_kind_nearby_this_week(desks, worker):
    first, dups = report(worker, now=MONDAY)
    assert dups == []
    second, dups = report(worker, **north_of(OWN_POINT, 60), now=MONDAY + timedelta(hours=1))
    assert dups == [first]
    third, dups = report(worker, **east_of(OWN_POINT, 50), now=MONDAY + timedelta(days=6, hours=23))
    assert dups == [first, second]
    assert actions.possible_duplicates(first) == [second, third]


@pytest.mark.parametrize("metres", [99.9, 60])
def test_a_case_just_inside_100_metres_is_a_possible_duplicate(desks, worker, metres):
    first, _ = report(worker, now=MONDAY)
    _, north = report(worker, **north_of(OWN_POINT, metres), now=MONDAY)
    _, east = report(worker, **east_of(OWN_POINT, metres), now=MONDAY)
    assert first in north and first in east


def test_a_case_exactly_seven_days_older_is_a_possible_duplicate(desks, worker):
    first, _ = report(worker, now=MONDAY)
    _, dups = report(worker, now=MONDAY + timedelta(days=7))
    assert dups == [first]


@pytest.mark.parametrize(
    "later",
    [
        {"place": north_of(OWN_POINT, 150)},
        {"place": east_of(OWN_POINT, 150)},
        {"place": OWN_POINT, "after": timedelta(days=8)},
        {"place": OWN_POINT, "after": timedelta(days=7, minutes=1)},
        {"place": OWN_POINT, "category": "0602"},
    ],
)
def test_far_old_or_other_kinds_of_cases_are_not_duplicates(desks, worker, later):
    report(worker, now=MONDAY)
    _, dups = report(
        worker,
        category=later.get("category", "0601"),
        now=MONDAY + later.get("after", timedelta(hours=1)),
        **later["place"],
    )
    assert dups == []


@pytest.mark.parametrize("state", [State.CLOSED, State.REJECTED])
def test_finished_cases_are_not_duplicates(desks, worker, state):
    first, _ = report(worker, now=MONDAY)
    advance(first, state, MONDAY)
    _, dups = report(worker, now=MONDAY + timedelta(hours=1))
    assert dups == []


def test_a_suspended_case_is_still_a_possible_duplicate(desks, worker):
    first, _ = report(worker, now=MONDAY)
    advance(first, State.SUSPENDED, MONDAY)
    _, dups = report(worker, now=MONDAY + timedelta(hours=1))
    assert dups == [first]


def test_a_case_without_a_point_has_no_possible_duplicates(desks, worker):
    report(worker, now=MONDAY)
    data = {"category": "0601", "description": "垃圾", "address": "无名路999号"}
    _, dups = actions.report_case(worker, data, "field", now=MONDAY)
    assert dups == []
