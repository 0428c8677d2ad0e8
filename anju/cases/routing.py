"""Who gets a case: the centre of each level, the district's departments, and the routing rules.

Units are made when first needed: each community, street and district has one centre; a district
has one unit per department. A routing rule (category x division -> unit) overrides the default,
which is the centre of the category's starting level (or, at district level, its department).
"""

from django.db import IntegrityError, transaction

from anju.cases.models import Case, Category, Department, Level, RoutingRule, Unit, UnitKind
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel

CENTRE_KIND = {
    DivisionLevel.COMMUNITY: UnitKind.COMMUNITY,
    DivisionLevel.STREET: UnitKind.STREET,
    DivisionLevel.COUNTY: UnitKind.DISTRICT,
}
# The name a district's department goes by, after the district's own name (data, shown as it is).
DEPARTMENT_NAMES = {
    Department.URBAN_MANAGEMENT: "综合行政执法局",
    Department.HOUSING: "住房和城乡建设局",
    Department.MARKET: "市场监督管理局",
    Department.FIRE: "消防救援大队",
    Department.ENVIRONMENT: "生态环境分局",
    Department.POLICE: "公安分局",
    Department.CIVIL_AFFAIRS: "民政局",
    Department.HEALTH: "卫生健康局",
    Department.TRANSPORT: "交通运输局",
    Department.HUMAN_RESOURCES: "人力资源和社会保障局",
    Department.EMERGENCY: "应急管理局",
    Department.WATER: "水务局",
}
CENTRE_SUFFIX = {
    UnitKind.COMMUNITY: "网格服务站",
    UnitKind.STREET: "社会治理中心",
    UnitKind.DISTRICT: "社会治理指挥中心",
}


def _get_or_make(lookup: dict, defaults: dict) -> Unit:
    unit = Unit.objects.filter(**lookup).first()
    if unit is not None:
        return unit
    try:
        with transaction.atomic():
            return Unit.objects.create(**lookup, **defaults)
    except IntegrityError:  # made by a concurrent request
        return Unit.objects.get(**lookup)


def centre(division: Division) -> Unit:
    """The case centre of a community, street or district."""
    kind = CENTRE_KIND[division.level]
    name = division.name.removesuffix("居委会").removesuffix("村委会")
    return _get_or_make(
        {"division": division, "kind": kind},
        {"code": f"{kind}-{division.code}", "name": name + CENTRE_SUFFIX[kind], "path": division.path},
    )


def department(district: Division, code: str) -> Unit:
    """One of a district's departments."""
    return _get_or_make(
        {"division": district, "kind": UnitKind.DEPARTMENT, "department": code},
        {"code": f"{code}-{district.code}", "name": district.name + DEPARTMENT_NAMES[code], "path": district.path},
    )


def ensure_departments(district: Division) -> list[Unit]:
    """Every department of a district (made once)."""
    return [department(district, code) for code in Department.values]


def division_at(case: Case, level: str) -> Division:
    """The case's community, street or district (a case in no community goes to its district)."""
    if level == Level.COMMUNITY and case.community_id:
        return case.community
    if level in (Level.COMMUNITY, Level.STREET) and case.street_id:
        return case.street
    return case.district


def level_of(division: Division) -> str:
    return {DivisionLevel.COMMUNITY: Level.COMMUNITY, DivisionLevel.STREET: Level.STREET}.get(
        division.level, Level.DISTRICT
    )


def default_unit(case: Case, level: str) -> Unit:
    """The unit a case goes to at `level` when no rule says otherwise."""
    place = division_at(case, level)
    if level_of(place) == Level.DISTRICT and case.category.department:
        return department(place, case.category.department)
    return centre(place)


def route(case: Case) -> tuple[Unit, str]:
    """(unit, level) for a new case: a routing rule for the place and category, else the default."""
    paths = [d.path for d in (case.community, case.street, case.district) if d is not None]
    chain = [c.pk for c in categories_chain(case.category)]
    rules = list(RoutingRule.objects.filter(path__in=paths, category_id__in=chain).select_related("unit", "division"))
    if rules:
        # A rule's case sits on the desk of the rule's level, whichever unit handles it.
        best = max(rules, key=lambda r: (len(r.path), -chain.index(r.category_id)))
        return best.unit, level_of(best.division)
    place = division_at(case, case.category.start_level)
    level = level_of(place)
    return default_unit(case, level), level


def level_above(level: str) -> str | None:
    """community -> street -> district -> None."""
    order = [Level.COMMUNITY, Level.STREET, Level.DISTRICT]
    i = order.index(level)
    return order[i + 1] if i + 1 < len(order) else None


def categories_chain(category: Category) -> list[Category]:
    """The category and its ancestors, nearest first."""
    chain = []
    while category is not None:
        chain.append(category)
        category = category.parent
    return chain
