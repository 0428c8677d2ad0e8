"""Reporting a case, from any channel: validate, place, route, number, and offer possible duplicates.

A point is placed in its grid (and so its community, street and district). A point in no grid, or an
address the registry does not know, is still accepted: at district level, so nothing reported is lost.
"""

import math
import secrets
from datetime import timedelta

import shapely
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases import routing
from anju.cases.actions.lifecycle import record_event, start_stage, tell_desk
from anju.cases.models import OPEN_STATES, Case, Category, Channel
from anju.core import scope
from anju.core.errors import InvalidField
from anju.core.roles import Perm
from anju.core.uploads import clean_photo
from anju.geo.geometry import parse_polygon
from anju.geo.locate import grid_index
from anju.geo.models import Division, Grid
from anju.geo.models import Level as DivisionLevel
from anju.registry import cleaning
from anju.registry.models import Address
from anju.registry.queries import match_addresses

DUPLICATE_METRES = 100
DUPLICATE_DAYS = 7
EARTH_RADIUS = 6_371_000
MAX_DESCRIPTION = 2000
MAX_PHOTOS = 6
# An address match below this score is not trusted to place a case.
ADDRESS_MIN_SCORE = 0.6


def clean_category(code) -> Category:
    """An active category without active sub-categories (cases are filed under the finest kind)."""
    category = Category.objects.filter(code=str(code or "").strip(), active=True).first()
    if category is None:
        raise InvalidField("category", _("No such category."))
    if category.children.filter(active=True).exists():
        raise InvalidField("category", _("Choose one of the category's sub-categories."))
    return category


def clean_point(lng, lat) -> tuple[float, float] | None:
    if lng in (None, "") and lat in (None, ""):
        return None
    try:
        lng, lat = float(lng), float(lat)
    except (TypeError, ValueError):
        raise InvalidField("lat" if lng not in (None, "") else "lng", _("Give both longitude and latitude.")) from None
    if not (-180 <= lng <= 180) or math.isnan(lng):
        raise InvalidField("lng", _("Longitude must lie between -180 and 180."))
    if not (-90 <= lat <= 90) or math.isnan(lat):
        raise InvalidField("lat", _("Latitude must lie between -90 and 90."))
    return lng, lat


def home_district() -> Division:
    """The district cases go to when nothing places them: the first district that has grids."""
    grid = Grid.objects.select_related("community__parent__parent").order_by("code").first()
    if grid is not None:
        return grid.community.parent.parent
    district = Division.objects.filter(level=DivisionLevel.COUNTY).order_by("code").first()
    if district is None:
        raise InvalidField("lng", _("No district is set up to receive cases yet."))
    return district


def district_at(lng: float, lat: float) -> Division | None:
    """The district whose outline holds the point, if any."""
    point = shapely.Point(lng, lat)
    for district in Division.objects.filter(level=DivisionLevel.COUNTY).exclude(geometry=""):
        if parse_polygon(district.geojson).intersects(point):
            return district
    return None


def place(case: Case) -> None:
    """Set the case's grid, community, street, district and path from its point."""
    grid = None
    if case.lng is not None:
        code = grid_index().locate(case.lng, case.lat)
        grid = Grid.objects.select_related("community__parent__parent").filter(code=code).first() if code else None
    if grid is not None:
        case.grid, case.community = grid, grid.community
        case.street, case.district = grid.community.parent, grid.community.parent.parent
        case.path = grid.path
        return
    case.grid = case.community = case.street = None
    case.district = (district_at(case.lng, case.lat) if case.lng is not None else None) or home_district()
    case.path = case.district.path


def locate_address(text: str) -> tuple[float, float, str] | None:
    """(lng, lat, standard address) of the registry's best match for the text, if it is good enough."""
    matches = match_addresses(None, text, limit=1, base=Address.objects.exclude(lng=None))
    if not matches or matches[0][1] < ADDRESS_MIN_SCORE:
        return None
    address = matches[0][0]
    return address.lng, address.lat, address.label


def possible_duplicates(case: Case) -> list[Case]:
    """Open cases of the same category within 100 m reported in the 7 days before this one."""
    if case.lng is None:
        return []
    # The box is drawn on the same sphere metres() measures on, so it holds every case within range.
    dlat = math.degrees(DUPLICATE_METRES / EARTH_RADIUS)
    dlng = dlat / max(math.cos(math.radians(case.lat)), 0.01)
    near = Case.objects.filter(
        category=case.category,
        state__in=OPEN_STATES,
        reported_at__gte=case.reported_at - timedelta(days=DUPLICATE_DAYS),
        lat__range=(case.lat - dlat, case.lat + dlat),
        lng__range=(case.lng - dlng, case.lng + dlng),
    ).exclude(pk=case.pk)
    return [c for c in near.order_by("reported_at") if metres(case, c) <= DUPLICATE_METRES]


def metres(a: Case, b: Case) -> float:
    """Great-circle distance between two cases' points."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(h))


def clean_place(data: dict) -> dict:
    """lng, lat and address from a point or an address (at least one); without a point, the registry's
    standard address that matches the text places it (`standard`, else "")."""
    point = clean_point(data.get("lng"), data.get("lat"))
    address = str(data.get("address") or "").strip()[:200]
    if point is None and not address:
        raise InvalidField("lng", _("Give the place: a point on the map or an address."))
    standard = ""
    if point is None:
        found = locate_address(address)
        if found:
            point, standard = found[:2], found[2][:200]
    return {
        "lng": point[0] if point else None,
        "lat": point[1] if point else None,
        "address": address,
        "standard": standard,
    }


def clean_report(data: dict) -> dict:
    """Category, description, place and the reporter's contact of a new case, validated."""
    category = clean_category(data.get("category"))
    description = str(data.get("description") or "").strip()
    if not description:
        raise InvalidField("description", _("Say what the problem is."))
    if len(description) > MAX_DESCRIPTION:
        raise InvalidField("description", _("At most 2,000 characters."))
    place = clean_place(data)
    name = str(data.get("reporter_name") or "").strip()[:64]
    phone = cleaning.clean_phone(data.get("reporter_phone"), "reporter_phone")
    email = str(data.get("reporter_email") or "").strip()[:120]
    return {
        "category": category,
        "description": description,
        "lng": place["lng"],
        "lat": place["lat"],
        "address": place["standard"] or place["address"],
        "reporter_name": name,
        "reporter_phone": phone,
        "reporter_email": email,
    }


def report_case(actor, data: dict, channel: str, photos=(), client=None, now=None) -> tuple[Case, list[Case]]:
    """File a new case; returns it and the open cases it may repeat.

    `actor` is the signed-in reporter (grid worker, hotline clerk, API user) or None for the public
    form and Open311 (`client`). The case goes to the unit the routing rules name, in state "reported".
    """
    if channel not in Channel.values:
        raise InvalidField("channel", _("Unknown channel."))
    if actor is not None and not scope.has_perm(actor, Perm.CASES_REPORT):
        raise PermissionDenied
    photos = [clean_photo(p, "photos") for p in photos][: MAX_PHOTOS + 1]
    if len(photos) > MAX_PHOTOS:
        raise InvalidField("photos", _("At most 6 photos."))
    clean = clean_report(data)
    now = now or timezone.now()
    case = Case(channel=channel, reported_at=now, reporter=actor, open311_client=client, **clean)
    if actor is not None:
        # A signed-in reporter is reachable through their account, for whatever they left out.
        case.reporter_name = case.reporter_name or actor.full_name or actor.username
        case.reporter_phone = case.reporter_phone or actor.phone
    place(case)
    case.unit, case.level = routing.route(case)
    start_stage(case, now)
    with transaction.atomic():
        case.number = "T" + secrets.token_hex(8)  # replaced below once the row has its id
        case.save(force_insert=True)
        case.number = f"{timezone.localtime(now):%Y%m%d}{case.pk:06d}"
        Case.objects.filter(pk=case.pk).update(number=case.number)
        by = client.name if client is not None else "public"
        record_event(case, actor, "report", "", data={"channel": channel}, photos=photos, by=by, now=now)
        tell_desk(case, _("New case %(number)s: %(category)s") % {"number": case.number, "category": case.category})
    return case, possible_duplicates(case)
