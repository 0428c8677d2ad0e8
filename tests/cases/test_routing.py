"""Who gets a new case: the centre of the category's starting level, its department, or a routing rule."""

import pytest

from anju.cases import actions, routing
from anju.cases.models import Category, Level, RoutingRule, Unit, UnitKind
from anju.core.errors import InvalidField
from anju.core.models import AuditEvent
from anju.geo.models import Division
from tests.cases.conftest import OWN_COMMUNITY, OWN_STREET, at, report
from tests.conftest import OTHER_GRID

MONDAY = at(2026, 11, 23, 10)
NO_GRID_POINT = {"lng": 120.295, "lat": 36.045}


@pytest.fixture
def places(district):
    return {
        "community": Division.objects.get(code=OWN_COMMUNITY),
        "street": Division.objects.get(code=OWN_STREET),
        "district": district,
    }


def _category(code: str, start_level: str, department: str = "", parent: str = "") -> Category:
    return actions.save_category(
        None,
        {"code": code, "name": f"类别{code}", "parent": parent, "start_level": start_level, "department": department},
    )


@pytest.mark.parametrize(
    "category, level, unit",
    [
        ("0601", "community", "community-370203005011"),  # community, urban management
        ("0701", "street", "street-370203005"),  # street lights: the street
        ("0103", "street", "street-370203005"),
    ],
)
def test_by_default_the_centre_of_the_starting_level_takes_the_case(places, worker, category, level, unit):
    case, _ = report(worker, category=category, now=MONDAY)
    assert (case.level, case.unit.code) == (level, unit)


def test_at_district_level_the_categorys_department_takes_the_case(places, worker):
    _category("99", "district", "market")
    case, _ = report(worker, category="99", now=MONDAY)
    assert case.level == "district"
    assert case.unit == routing.department(places["district"], "market")
    assert (case.unit.kind, case.unit.code, case.unit.name) == ("department", "market-370203", "市北区市场监督管理局")


def test_at_district_level_a_category_without_department_goes_to_the_district_centre(places, worker):
    _category("98", "district")
    case, _ = report(worker, category="98", now=MONDAY)
    assert case.level == "district"
    assert (case.unit.kind, case.unit.code, case.unit.name) == ("district", "district-370203", "市北区社会治理指挥中心")


@pytest.mark.parametrize(
    "category, unit",
    [("0601", "urban_management-370203"), ("0701", "urban_management-370203"), ("1402", "district-370203")],
)
def test_a_case_in_no_grid_starts_at_the_district_whatever_the_category(places, worker, category, unit):
    case, _ = report(worker, category=category, **NO_GRID_POINT, now=MONDAY)
    assert (case.level, case.unit.code) == ("district", unit)


def test_centres_are_made_once_and_named_after_their_division(places):
    community = routing.centre(places["community"])
    assert routing.centre(places["community"]) == community
    assert (community.kind, community.code, community.name) == (
        UnitKind.COMMUNITY,
        "community-370203005011",
        "贮水山社区网格服务站",
    )
    assert community.path == places["community"].path and community.level == Level.COMMUNITY
    street = routing.centre(places["street"])
    assert (street.name, street.level) == ("辽宁路街道社会治理中心", Level.STREET)
    assert routing.centre(places["district"]).level == Level.DISTRICT
    assert len(routing.ensure_departments(places["district"])) == 12
    assert len(routing.ensure_departments(places["district"])) == 12
    assert Unit.objects.filter(kind=UnitKind.DEPARTMENT).count() == 12


def test_level_above():
    assert routing.level_above("community") == "street"
    assert routing.level_above("street") == "district"
    assert routing.level_above("district") is None


# --- Routing rules ---------------------------------------------------------------------------------


@pytest.fixture
def departments(places):
    district = places["district"]
    return {code: routing.department(district, code) for code in ("market", "housing", "water", "health")}


def test_the_most_specific_place_wins(places, departments, worker):
    rubbish = Category.objects.get(code="0601")
    rules = {
        level: actions.save_rule(None, rubbish, places[level], departments[code])
        for level, code in (("community", "market"), ("street", "housing"), ("district", "water"))
    }
    case, _ = report(worker, now=MONDAY)
    assert (case.unit, case.level) == (departments["market"], "community")

    actions.delete_rule(None, rules["community"])
    case, _ = report(worker, now=MONDAY)
    assert (case.unit, case.level) == (departments["housing"], "street")

    actions.delete_rule(None, rules["street"])
    case, _ = report(worker, now=MONDAY)
    assert (case.unit, case.level) == (departments["water"], "district")

    actions.delete_rule(None, rules["district"])
    case, _ = report(worker, now=MONDAY)
    assert (case.unit.code, case.level) == ("community-370203005011", "community")


def test_a_rule_applies_only_in_its_place(places, departments, worker):
    rubbish = Category.objects.get(code="0601")
    actions.save_rule(None, rubbish, places["community"], departments["market"])
    actions.save_rule(None, rubbish, places["street"], departments["housing"])
    elsewhere, _ = report(worker, lng=120.315, lat=36.085, now=MONDAY)  # the other street
    assert elsewhere.community_id == OTHER_GRID[:12]
    assert (elsewhere.unit.code, elsewhere.level) == ("community-370203006002", "community")
    # A case in no grid has only its district's rules.
    no_grid, _ = report(worker, **NO_GRID_POINT, now=MONDAY)
    assert no_grid.unit.code == "urban_management-370203"


def test_a_rule_on_a_parent_category_applies_to_its_children(places, departments, worker):
    actions.save_rule(None, Category.objects.get(code="06"), places["street"], departments["health"])
    for code in ("0601", "0602", "0604"):
        case, _ = report(worker, category=code, now=MONDAY)
        assert (case.unit, case.level) == (departments["health"], "street")
    other_kind, _ = report(worker, category="0701", now=MONDAY)
    assert other_kind.unit.code == "street-370203005"


def test_at_the_same_place_the_more_specific_category_wins(places, departments, worker):
    actions.save_rule(None, Category.objects.get(code="06"), places["street"], departments["health"])
    actions.save_rule(None, Category.objects.get(code="0601"), places["street"], departments["market"])
    rubbish, _ = report(worker, category="0601", now=MONDAY)
    roads, _ = report(worker, category="0602", now=MONDAY)
    assert rubbish.unit == departments["market"]
    assert roads.unit == departments["health"]


def test_the_place_counts_before_the_category(places, departments, worker):
    # A community rule on the parent beats a street rule on the category itself.
    actions.save_rule(None, Category.objects.get(code="06"), places["community"], departments["health"])
    actions.save_rule(None, Category.objects.get(code="0601"), places["street"], departments["market"])
    case, _ = report(worker, category="0601", now=MONDAY)
    assert (case.unit, case.level) == (departments["health"], "community")


def test_a_rule_to_a_centre_puts_the_case_on_the_desk_of_the_rules_level(places, worker):
    street_centre = routing.centre(places["street"])
    actions.save_rule(None, Category.objects.get(code="0601"), places["street"], street_centre)
    case, _ = report(worker, now=MONDAY)
    assert (case.unit, case.level) == (street_centre, "street")


def test_saving_a_rule_again_replaces_it_and_is_audited(places, departments):
    rubbish = Category.objects.get(code="0601")
    actions.save_rule(None, rubbish, places["street"], departments["market"])
    actions.save_rule(None, rubbish, places["street"], departments["housing"])
    rule = RoutingRule.objects.get()
    assert rule.unit == departments["housing"] and rule.path == places["street"].path
    assert AuditEvent.objects.filter(action="routing_rule.save").count() == 2


def test_a_rule_to_a_centre_elsewhere_is_refused(places):
    other_community = routing.centre(Division.objects.get(code=OTHER_GRID[:12]))
    with pytest.raises(InvalidField) as refused:
        actions.save_rule(None, Category.objects.get(code="0601"), places["community"], other_community)
    assert refused.value.field == "unit"
    assert not RoutingRule.objects.exists()


def test_route_reads_the_case_it_is_given(places, departments, worker):
    case, _ = report(worker, now=MONDAY)
    actions.save_rule(None, case.category, places["district"], departments["water"])
    assert routing.route(case) == (departments["water"], "district")
