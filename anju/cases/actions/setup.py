"""Setting up the loop: categories, units and their staff, routing rules, the calendar, Open311 clients.

Categories, the calendar and Open311 clients serve the whole district: they need cases.manage held at
district level or above. Units and routing rules need it on their own division.
"""

import secrets
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases.models import Category, Department, Level, Open311Client, RoutingRule, Stage, Unit, UnitKind, UnitMember
from anju.cases.routing import department
from anju.core import audit, scope, workcalendar
from anju.core.auth import hash_token
from anju.core.errors import Conflict, InvalidField
from anju.core.models import CalendarDay, User
from anju.core.roles import PERMISSIONS, Perm
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel

# A district's path has three codes ("37/3702/370203/"); shorter paths are above it.
DISTRICT_DEPTH = 3


def manages_district(user) -> bool:
    """Holds cases.manage on a district or above (None, the command line, does)."""
    if user is None:
        return True
    return any(
        Perm.CASES_MANAGE in PERMISSIONS.get(a.role, ()) and a.path.count("/") <= DISTRICT_DEPTH
        for a in scope.assignments(user)
    )


def _require_district(user) -> None:
    if not manages_district(user):
        raise PermissionDenied


def _require_on(user, path: str) -> None:
    if user is None:
        return
    if not scope.in_scope(user, path):
        raise Http404
    if not scope.has_perm(user, Perm.CASES_MANAGE, path):
        raise PermissionDenied


# --- Categories ------------------------------------------------------------------------------------


def clean_limits(limits) -> dict:
    """Every stage's limit, as "Nh" or "Nd"."""
    if not isinstance(limits, dict):
        raise InvalidField("limits", _("Give a limit for each stage."))
    clean = {}
    for stage in Stage.values:
        value = str(limits.get(stage) or "").strip()
        try:
            if workcalendar.parse_limit(value) <= 0:
                raise ValueError(value)
        except ValueError:
            raise InvalidField(
                f"limits.{stage}", _("Give the limit as working hours or days, e.g. 4h or 3d.")
            ) from None
        clean[stage] = value
    return clean


@transaction.atomic
def save_category(actor, data: dict, category: Category | None = None) -> Category:
    """Create or change a category; returns it."""
    _require_district(actor)
    code = str(data.get("code") or (category.code if category else "")).strip()
    name = str(data.get("name") or "").strip()
    if not code or len(code) > 16 or not code.replace("-", "").replace("_", "").isalnum():
        raise InvalidField("code", _("Give a short code of letters and digits."))
    if not name:
        raise InvalidField("name", _("Give the category a name."))
    parent = None
    if data.get("parent"):
        parent = Category.objects.filter(code=data["parent"]).first()
        if parent is None:
            raise InvalidField("parent", _("No such category."))
        ancestor = parent
        while ancestor is not None:
            if category is not None and ancestor.pk == category.pk:
                raise InvalidField("parent", _("A category cannot sit under itself."))
            ancestor = ancestor.parent
    level = data.get("start_level") or Level.COMMUNITY
    if level not in Level.values:
        raise InvalidField("start_level", _("Choose community, street or district."))
    dept = data.get("department") or ""
    if dept and dept not in Department.values:
        raise InvalidField("department", _("No such department."))
    before = None if category is None else {"name": category.name, "limits": category.limits}
    category = category or Category()
    category.code, category.name, category.parent = code, name[:64], parent
    category.description = str(data.get("description") or "")[:300]
    category.start_level, category.department = level, dept
    category.limits = clean_limits(data.get("limits") or category.limits)
    category.reporter_confirms = bool(data.get("reporter_confirms", category.reporter_confirms))
    category.active = bool(data.get("active", True))
    order = data.get("order")
    try:
        category.order = int(order) if order not in (None, "") else category.order
    except (TypeError, ValueError):
        raise InvalidField("order", _("Give the order as a whole number.")) from None
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise Conflict(_("A category with this code exists.")) from exc
    audit.record(
        "case_category.save", user=actor, username="cli", obj=category, detail={"before": before} if before else None
    )
    return category


# --- Units and routing -----------------------------------------------------------------------------


@transaction.atomic
def add_department(actor, district: Division, code: str) -> Unit:
    """Make one of a district's departments (a no-op when it exists)."""
    _require_on(actor, district.path)
    if district.level != DivisionLevel.COUNTY:
        raise InvalidField("division", _("Departments belong to a district."))
    if code not in Department.values:
        raise InvalidField("department", _("No such department."))
    unit = department(district, code)
    audit.record("unit.save", user=actor, username="cli", obj=unit, object_id=unit.code)
    return unit


@transaction.atomic
def set_members(actor, unit: Unit, members: list[tuple[User, bool]]) -> None:
    """Replace a unit's staff: (user, lead) pairs."""
    _require_on(actor, unit.path)
    UnitMember.objects.filter(unit=unit).delete()
    UnitMember.objects.bulk_create(UnitMember(unit=unit, user=u, lead=bool(lead)) for u, lead in members)
    audit.record(
        "unit.members",
        user=actor,
        username="cli",
        obj=unit,
        object_id=unit.code,
        detail={"members": [u.username for u, _lead in members], "leads": [u.username for u, lead in members if lead]},
    )


@transaction.atomic
def save_rule(actor, category: Category, division: Division, unit: Unit, note: str = "") -> RoutingRule:
    """Cases of `category` in `division` go to `unit` (replaces the rule for that pair)."""
    _require_on(actor, division.path)
    if division.level not in (DivisionLevel.COMMUNITY, DivisionLevel.STREET, DivisionLevel.COUNTY):
        raise InvalidField("division", _("Rules apply to a community, street or district."))
    if not unit.active:
        raise InvalidField("unit", _("The unit is not active."))
    if (
        unit.kind != UnitKind.DEPARTMENT
        and not division.path.startswith(unit.path)
        and not unit.path.startswith(division.path)
    ):
        raise InvalidField("unit", _("The unit works elsewhere."))
    rule, _created = RoutingRule.objects.update_or_create(
        category=category, division=division, defaults={"unit": unit, "path": division.path, "note": note[:200]}
    )
    audit.record(
        "routing_rule.save",
        user=actor,
        username="cli",
        obj=rule,
        detail={"category": category.code, "division": division.code, "unit": unit.code},
    )
    return rule


@transaction.atomic
def delete_rule(actor, rule: RoutingRule) -> None:
    _require_on(actor, rule.path)
    detail = {"category": rule.category.code, "division": rule.division_id, "unit": rule.unit.code}
    audit.record("routing_rule.delete", user=actor, username="cli", obj=rule, detail=detail)
    rule.delete()


# --- The working-time calendar ---------------------------------------------------------------------


@transaction.atomic
def set_calendar_day(actor, day: date, working: bool | None, name: str = "") -> CalendarDay | None:
    """Mark a day a holiday (working=False) or a worked weekend day (True); None returns it to normal."""
    _require_district(actor)
    CalendarDay.objects.filter(date=day).delete()
    made = None
    if working is not None:
        made = CalendarDay.objects.create(date=day, working=working, name=name[:64])
    audit.record(
        "calendar.set",
        user=actor,
        username="cli",
        object_type="core.calendarday",
        object_id=day.isoformat(),
        detail={"working": working, "name": name[:64]},
    )
    transaction.on_commit(workcalendar.forget)
    return made


# --- Open311 clients -------------------------------------------------------------------------------


@transaction.atomic
def issue_open311_key(actor, name: str, contact: str = "") -> tuple[Open311Client, str]:
    """A key for an outside Open311 application; the key is returned once and only its hash kept."""
    _require_district(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidField("name", _("Name the application."))
    key = "o311_" + secrets.token_urlsafe(24)
    client = Open311Client.objects.create(
        name=name[:100], contact=contact[:200], prefix=key[5:13], key_hash=hash_token(key), created_by=actor
    )
    audit.record(
        "open311.issue", user=actor, username="cli", obj=client, detail={"name": client.name, "prefix": client.prefix}
    )
    return client, key


@transaction.atomic
def revoke_open311_key(actor, client: Open311Client) -> None:
    _require_district(actor)
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit.record("open311.revoke", user=actor, username="cli", obj=client, detail={"prefix": client.prefix})


def open311_client_for(key: str) -> Open311Client | None:
    """The active client holding this key."""
    if not key:
        return None
    client = Open311Client.objects.filter(key_hash=hash_token(key), revoked_at=None).first()
    if client is not None:
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client
