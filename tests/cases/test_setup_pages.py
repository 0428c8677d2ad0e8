"""The set-up pages through the HTTP stack: who may open them, and what each change does to new cases."""

from datetime import date

import pytest
from django.test import Client
from django.utils.html import escape

from anju.cases import actions, routing
from anju.cases.forms_setup import CategoryForm
from anju.cases.models import Category, Open311Client, RoutingRule, Unit, UnitMember
from anju.core import workcalendar
from anju.core.models import AuditEvent, CalendarDay
from anju.core.roles import Role
from anju.geo.models import Division
from tests.cases.conftest import DISTRICT, OWN_COMMUNITY, OWN_STREET, at, report
from tests.cases.test_public import zh
from tests.conftest import OWN_GRID, login

MONDAY = at(2026, 11, 23, 10)
OTHER_STREET_COMMUNITY = "370203006001"


def audited(action: str, user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, username=user.username))


def category_post(category: Category | None = None, **changes) -> dict:
    """The category form as the page sends it: the current values, with `changes`; unchecked boxes are left out."""
    values = {**CategoryForm.initial_for(category), **changes}
    data = {key: value for key, value in values.items() if not isinstance(value, bool)}
    data.update({key: "on" for key, value in values.items() if value is True})
    return data


@pytest.fixture
def admin(desks):
    """The district admin (also the lead of the district centre)."""
    return desks["district"]


@pytest.fixture
def street_admin(desks):
    return desks["street"]


# --- The index -------------------------------------------------------------------------------------


def test_the_index_links_to_the_pages_each_admin_may_open(admin, street_admin, make_user):
    body = login(admin).get("/cases/setup/").content.decode()
    for name in ("categories", "units", "rules", "calendar", "open311"):
        assert f'href="/cases/setup/{name}/"' in body
    response = login(street_admin).get("/cases/setup/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/cases/setup/units/"' in body and 'href="/cases/setup/rules/"' in body
    for name in ("categories", "calendar", "open311"):
        assert f'href="/cases/setup/{name}/"' not in body
    worker = login(make_user(Role.GRID_WORKER, OWN_GRID))
    for url in ("/cases/setup/", "/cases/setup/units/", "/cases/setup/rules/", "/cases/setup/categories/"):
        assert worker.get(url).status_code == 403
    assert Client().get("/cases/setup/").status_code == 302  # to the sign-in page


# --- Categories ------------------------------------------------------------------------------------


def test_a_district_admin_changes_a_limit_and_new_cases_get_the_new_deadline(admin, worker):
    before, _ = report(worker, now=MONDAY)
    assert before.due_at == at(2026, 11, 23, 12)  # accept: 2 working hours
    client = login(admin)
    category = Category.objects.get(code="0601")
    page = client.get("/cases/setup/categories/0601/")
    assert page.status_code == 200 and 'name="limits.accept"' in page.content.decode()

    response = client.post("/cases/setup/categories/0601/", category_post(category, **{"limits.accept": "4h"}))
    assert response.status_code == 302 and response["Location"] == "/cases/setup/categories/"
    category.refresh_from_db()
    assert category.limits["accept"] == "4h" and category.limits["handle"] == "1d" and category.active
    after, _ = report(worker, now=MONDAY)
    assert after.due_at == at(2026, 11, 23, 15, 30)  # 10:00-12:00, then 13:30-15:30
    before.refresh_from_db()
    assert before.due_at == at(2026, 11, 23, 12)  # a case under way keeps its deadline
    (event,) = audited("case_category.save", admin)
    assert event.object_id == "0601" and '"accept": "2h"' in event.detail


def test_category_errors_are_shown_by_their_field(admin):
    client = login(admin)
    category = Category.objects.get(code="0601")
    response = client.post("/cases/setup/categories/0601/", category_post(category, **{"limits.handle": "soon"}))
    assert response.status_code == 422
    body = response.content.decode()
    field = body.index('name="limits.handle"')
    message = body.index(escape(zh("Give the limit as working hours or days, e.g. 4h or 3d.")))
    assert field < message < body.index('name="limits.check"')  # next to the handling limit
    response = client.post("/cases/setup/categories/new/", category_post(None, code="0601", name="重复"))
    assert response.status_code == 422 and escape(zh("A category with this code exists.")) in response.content.decode()
    response = client.post("/cases/setup/categories/06/", category_post(Category.objects.get(code="06"), parent="0601"))
    assert response.status_code == 422
    message = zh("Select a valid choice. %(value)s is not one of the available choices.") % {"value": "0601"}
    assert escape(message) in response.content.decode()  # not under its own sub-category
    category.refresh_from_db()
    assert category.limits["handle"] == "1d" and Category.objects.get(code="06").parent is None
    assert not audited("case_category.save", admin)


def test_a_new_category_under_a_parent_is_offered_to_residents(admin):
    client = login(admin)
    form = client.get("/cases/setup/categories/new/?parent=06").content.decode()
    assert '<option value="06" selected>' in form
    data = category_post(None, code="0605", name="楼道堆物", parent="06", start_level="community")
    assert client.post("/cases/setup/categories/new/", data).status_code == 302
    made = Category.objects.get(code="0605")
    assert made.parent.code == "06" and made.limits["handle"] == "3d"
    assert '<option value="0605">楼道堆物</option>' in client.get("/report/").content.decode()
    assert "0605" in client.get("/cases/setup/categories/").content.decode()


def test_a_street_admin_cannot_touch_district_wide_settings(street_admin):
    client = login(street_admin)
    category = Category.objects.get(code="0601")
    for url in ("/cases/setup/categories/", "/cases/setup/categories/0601/", "/cases/setup/categories/new/"):
        assert client.get(url).status_code == 403
    response = client.post("/cases/setup/categories/0601/", category_post(category, **{"limits.accept": "9h"}))
    assert response.status_code == 403
    assert client.get("/cases/setup/calendar/").status_code == 403
    assert client.post("/cases/setup/calendar/", {"date": "2026-11-24", "working": "no"}).status_code == 403
    assert client.get("/cases/setup/open311/").status_code == 403
    assert client.post("/cases/setup/open311/", {"name": "12345"}).status_code == 403
    category.refresh_from_db()
    assert category.limits["accept"] == "2h"
    assert not CalendarDay.objects.filter(date="2026-11-24").exists() and not Open311Client.objects.exists()


# --- Routing rules ---------------------------------------------------------------------------------


def test_a_street_admin_adds_a_rule_in_their_street_and_new_cases_follow_it(street_admin, worker):
    client = login(street_admin)
    street_centre = routing.centre(Division.objects.get(code=OWN_STREET))
    page = client.get("/cases/setup/rules/").content.decode()
    assert f'<option value="{street_centre.code}">' in page and f'<option value="{OWN_COMMUNITY}">' in page

    data = {"category": "0601", "division": OWN_COMMUNITY, "unit": street_centre.code, "note": "街道统一清运"}
    response = client.post("/cases/setup/rules/", data)
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert (rule.category.code, rule.division_id, rule.unit) == ("0601", OWN_COMMUNITY, street_centre)
    (event,) = audited("routing_rule.save", street_admin)
    assert OWN_COMMUNITY in event.detail
    case, _ = report(worker, now=MONDAY)
    assert case.unit == street_centre and case.level == "community"
    assert "街道统一清运" in client.get("/cases/setup/rules/").content.decode()

    for place in (OTHER_STREET_COMMUNITY, DISTRICT, "999999999999"):
        response = client.post("/cases/setup/rules/", {**data, "division": place})
        assert response.status_code == 422
        assert escape(zh("No community, street or district with this code in your area.")) in response.content.decode()
    assert RoutingRule.objects.count() == 1

    assert client.post(f"/cases/setup/rules/{rule.pk}/delete/").status_code == 302
    assert not RoutingRule.objects.exists() and len(audited("routing_rule.delete", street_admin)) == 1


def test_a_rule_outside_ones_scope_cannot_be_seen_or_deleted(admin, street_admin):
    district_unit = routing.department(Division.objects.get(code=DISTRICT), "urban_management")
    rule = actions.save_rule(
        admin, Category.objects.get(code="0601"), Division.objects.get(code=DISTRICT), district_unit
    )
    client = login(street_admin)
    assert f"/cases/setup/rules/{rule.pk}/delete/" not in client.get("/cases/setup/rules/").content.decode()
    assert client.post(f"/cases/setup/rules/{rule.pk}/delete/").status_code == 404
    assert RoutingRule.objects.filter(pk=rule.pk).exists()
    body = login(admin).get("/cases/setup/rules/").content.decode()
    assert f"/cases/setup/rules/{rule.pk}/delete/" in body


def test_a_unit_the_rule_cannot_use_is_refused_by_field(street_admin):
    other_centre = routing.centre(Division.objects.get(code=OTHER_STREET_COMMUNITY))
    client = login(street_admin)
    data = {"category": "0601", "division": OWN_COMMUNITY, "unit": other_centre.code}
    response = client.post("/cases/setup/rules/", data)
    assert response.status_code == 422  # not among the units in the street admin's scope
    assert not RoutingRule.objects.exists()


# --- Units and staff -------------------------------------------------------------------------------


def test_a_district_admin_opens_a_department_and_staffs_it(admin, make_user):
    client = login(admin)
    response = client.post("/cases/setup/units/", {"district": DISTRICT, "department": "market"})
    unit = Unit.objects.get(kind="department", department="market")
    assert response.status_code == 302 and response["Location"] == f"/cases/setup/units/{unit.code}/"
    assert len(audited("unit.save", admin)) == 1
    assert unit.name in client.get("/cases/setup/units/").content.decode()

    staff = make_user(Role.DEPARTMENT_STAFF, DISTRICT, username="market_li")
    other = make_user(Role.DEPARTMENT_STAFF, DISTRICT, username="market_wang")
    page = client.get(f"/cases/setup/units/{unit.code}/").content.decode()
    assert '<option value="market_li">' in page  # people of the place are suggested
    rows = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-0-username": "market_li",
        "form-0-lead": "on",
        "form-1-username": "market_wang",
        "form-2-username": "",
    }
    assert client.post(f"/cases/setup/units/{unit.code}/", rows).status_code == 302
    assert {(m.user, m.lead) for m in UnitMember.objects.filter(unit=unit)} == {(staff, True), (other, False)}
    (event,) = audited("unit.members", admin)
    assert "market_li" in event.detail

    response = client.post(f"/cases/setup/units/{unit.code}/", {**rows, "form-1-username": "nobody_here"})
    assert response.status_code == 422
    assert escape(zh("No active account has this username.")) in response.content.decode()
    response = client.post(f"/cases/setup/units/{unit.code}/", {**rows, "form-1-username": "market_li"})
    assert response.status_code == 422 and escape(zh("This person is listed twice.")) in response.content.decode()
    assert UnitMember.objects.filter(unit=unit).count() == 2 and len(audited("unit.members", admin)) == 1


def test_a_street_admin_staffs_the_street_but_not_the_district(street_admin, worker):
    client = login(street_admin)
    street_centre = routing.centre(Division.objects.get(code=OWN_STREET))
    department = routing.department(Division.objects.get(code=DISTRICT), "urban_management")
    listing = client.get("/cases/setup/units/").content.decode()
    assert street_centre.name in listing and department.name in listing
    assert 'id="department-form"' not in listing  # departments are the district's
    assert client.post("/cases/setup/units/", {"district": DISTRICT, "department": "market"}).status_code == 403

    rows = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-0-username": worker.username}
    assert client.post(f"/cases/setup/units/{street_centre.code}/", rows).status_code == 302
    assert UnitMember.objects.filter(unit=street_centre, user=worker).exists()

    page = client.get(f"/cases/setup/units/{department.code}/")
    assert page.status_code == 200 and 'id="members-form"' not in page.content.decode()
    assert client.post(f"/cases/setup/units/{department.code}/", rows).status_code == 404
    assert not UnitMember.objects.filter(unit=department).exists()
    other = routing.centre(Division.objects.get(code=OTHER_STREET_COMMUNITY))
    assert client.get(f"/cases/setup/units/{other.code}/").status_code == 404


# --- The calendar ----------------------------------------------------------------------------------


def test_a_holiday_added_on_the_calendar_moves_deadlines_set_after_it(
    admin, worker, django_capture_on_commit_callbacks
):
    late_monday = at(2026, 11, 23, 16, 30)
    assert workcalendar.add_working(late_monday, 120) == at(2026, 11, 24, 10)
    client = login(admin)
    year = client.get("/cases/setup/calendar/?year=2026").content.decode()
    assert 'id="day-2026-10-01"' in year and "国庆节" in year and 'id="day-2025-10-01"' not in year

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cases/setup/calendar/", {"date": "2026-11-24", "working": "no", "name": "临时休假"})
    assert response.status_code == 302 and response["Location"] == "/cases/setup/calendar/?year=2026"
    assert CalendarDay.objects.get(date=date(2026, 11, 24)).working is False
    assert workcalendar.add_working(late_monday, 120) == at(2026, 11, 25, 10)
    case, _ = report(worker, now=late_monday)
    assert case.due_at == at(2026, 11, 25, 10)
    (event,) = audited("calendar.set", admin)
    assert event.object_id == "2026-11-24"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/cases/setup/calendar/2026-11-24/remove/").status_code == 302
    assert not CalendarDay.objects.filter(date=date(2026, 11, 24)).exists()
    assert workcalendar.add_working(late_monday, 120) == at(2026, 11, 24, 10)
    assert len(audited("calendar.set", admin)) == 2
    assert client.post("/cases/setup/calendar/2026-11-24/remove/").status_code == 404
    assert client.post("/cases/setup/calendar/", {"date": "24/11/2026", "working": "no"}).status_code == 422


def test_a_weekend_working_day_counts(admin, django_capture_on_commit_callbacks):
    friday = at(2026, 11, 27, 16, 30)
    assert workcalendar.add_working(friday, 120) == at(2026, 11, 30, 10)
    with django_capture_on_commit_callbacks(execute=True):
        login(admin).post("/cases/setup/calendar/", {"date": "2026-11-28", "working": "yes", "name": "调休上班"})
    assert workcalendar.add_working(friday, 120) == at(2026, 11, 28, 10)


# --- Open311 clients -------------------------------------------------------------------------------


def test_an_open311_key_is_shown_once_and_can_be_revoked(admin):
    client = login(admin)
    response = client.post("/cases/setup/open311/", {"name": "市民热线App", "contact": "信息中心 0532-12345"})
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    start = body.index('id="new-key">') + len('id="new-key">')
    key = body[start : body.index("</code>", start)]
    assert key.startswith("o311_")
    made = Open311Client.objects.get()
    assert actions.open311_client_for(key) == made and made.created_by == admin
    listing = client.get("/cases/setup/open311/").content.decode()
    assert "市民热线App" in listing and key not in listing and made.prefix in listing
    (event,) = audited("open311.issue", admin)
    assert key not in event.detail

    assert client.post(f"/cases/setup/open311/{made.pk}/revoke/").status_code == 302
    made.refresh_from_db()
    assert made.revoked_at is not None and actions.open311_client_for(key) is None
    assert len(audited("open311.revoke", admin)) == 1
    assert f"/cases/setup/open311/{made.pk}/revoke/" not in client.get("/cases/setup/open311/").content.decode()

    response = client.post("/cases/setup/open311/", {"name": " "})
    assert response.status_code == 422 and Open311Client.objects.count() == 1
