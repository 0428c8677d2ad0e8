"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests, tokens, and request updates.

Reading needs no key; posting a request needs the api_key of an outside application (`Open311Client`).
Each resource answers in XML (the format the specification requires) or JSON (the same structure by the
Spark convention), chosen by its extension. Errors are a list of {code, description} with HTTP 400, 403
(api_key), 404 (unknown resource) or 405.

What is read here is public, so it carries no personal data: no reporter's name, phone or e-mail, no
notes written on the case (status notes and update descriptions are the neutral names of states and
steps), phone and ID numbers inside descriptions masked, addresses cut before the unit, floor or room,
and cases about people rather than places (public-security leads, disputes, social assistance) listed
without their description or place.
"""

import functools
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Max, OuterRef, Subquery
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from anju.cases import actions, queries
from anju.cases.models import FINAL_STATES, OPEN_STATES, Case, CaseEvent, Category, Channel, State
from anju.core import masking, workcalendar
from anju.core.errors import ActionError, InvalidField
from anju.core.models import AuditEvent
from anju.geo.models import Division
from anju.geo.models import Level as DivisionLevel
from anju.registry.models import Address

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# The XML element of each item of a list, by the list's element (the spec's examples).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# "Default query limit is a span of 90 days or first 1000 requests returned, whichever is smallest."
SPAN = timedelta(days=90)
MAX_RESULTS = 1000
# Category groups (or categories) whose cases concern people: public-security leads, disputes, social
# assistance. Their requests are listed without description, address or point.
PRIVATE_GROUPS = frozenset({"01", "02", "11"})
# Steps shown as updates: the report and the steps that move the case; asking for and granting more
# time stay inside.
UPDATE_ACTIONS = ("report", *(a for a in actions.ACTION_LABELS if a not in ("extend", "approve_extension")))
# Our field names (InvalidField.field) as the spec names the parameters.
PARAMETERS = {
    "category": "service_code",
    "lng": "long",
    "lat": "lat",
    "address": "address_string",
    "reporter_name": "first_name",
    "reporter_phone": "phone",
    "reporter_email": "email",
}
PHONE_OR_ID = re.compile(r"(?<![\dXx])(\d{17}[\dXx]|1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?![\dXx])")
# Where the household part of an address begins: "2单元", "502室", "5层", "3户".
HOUSEHOLD_PART = re.compile(r"[0-9A-Za-z一二三四五六七八九十\-]+\s*(单元|室|户|层)")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters XML 1.0 cannot carry.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Open311Error(Exception):
    """An answer in the spec's error format: HTTP `status` and one {code, description} per description."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions


# --- Rendering -------------------------------------------------------------------------------------


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEM_TAGS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))


def render(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    """`data` (a list of items or one object) as XML under `root`, or as JSON."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
    else:
        element = ET.Element(root)
        _fill(element, data)
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")
    return HttpResponse(body.encode(), status=status, content_type=CONTENT_TYPES[fmt])


def endpoint(*methods: str):
    """An Open311 resource: allowed methods, the jurisdiction_id check, errors in the spec's format.

    The view is called as view(request, fmt, district, **url_kwargs); `district` is the jurisdiction
    asked for, or None. Outside applications post without a CSRF token, so the check is off here.
    """

    def wrap(view):
        @functools.wraps(view)
        def run(request, fmt, **kwargs):
            try:
                if request.method not in methods:
                    raise Open311Error(405, _("Use %(methods)s.") % {"methods": " or ".join(methods)})
                return view(request, fmt, jurisdiction(request), **kwargs)
            except Open311Error as exc:
                errors = [{"code": exc.status, "description": d} for d in exc.descriptions]
                response = render(fmt, "errors", errors, status=exc.status)
                if exc.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response

        return csrf_exempt(run)

    return wrap


# --- Reading parameters ----------------------------------------------------------------------------


def _params(request):
    return request.POST if request.method == "POST" else request.GET


def jurisdiction(request) -> Division | None:
    """The district named by jurisdiction_id (its 6-digit code), None when none is named; 404 if unknown."""
    code = (_params(request).get("jurisdiction_id") or "").strip()
    if not code:
        return None
    district = Division.objects.filter(code=code, level=DivisionLevel.COUNTY).first()
    if district is None:
        raise Open311Error(404, _("jurisdiction_id %(code)s was not found.") % {"code": code})
    return district


def _list(params, name: str) -> list[str]:
    """A comma-delimited parameter, also accepted when declared several times."""
    return [v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip()]


def _moment(params, name: str) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    # An offset sent unencoded ("+08:00") arrives with its plus turned into a space.
    raw = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(
            400, _("%(name)s: use the W3C date-time format, e.g. 2010-01-01T00:00:00Z.") % {"name": name}
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def period(params) -> tuple[datetime, datetime]:
    """start_date and end_date, defaulting to the 90 days up to now; a longer span is refused."""
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - SPAN
    if end is None:
        end = start + SPAN
    if end < start:
        raise Open311Error(400, _("end_date: it lies before start_date."))
    if end - start > SPAN:
        raise Open311Error(400, _("start_date, end_date: the range may not span more than 90 days."))
    return start, end


def _in_district(qs, district: Division | None, prefix: str = ""):
    return qs.filter(**{f"{prefix}path__startswith": district.path}) if district is not None else qs


# --- What is shown ---------------------------------------------------------------------------------


def w3c(moment: datetime | None) -> str | None:
    """A moment in the W3C profile of ISO 8601, local time with its offset."""
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _duration(limit: str) -> str:
    match = workcalendar.LIMIT.match(limit or "")
    if not match:
        return limit
    amount, unit = float(match.group(1)), match.group(2)
    n = f"{amount:g}"
    if unit == "h":
        return ngettext("%(n)s working hour", "%(n)s working hours", int(amount)) % {"n": n}
    return ngettext("%(n)s working day", "%(n)s working days", int(amount)) % {"n": n}


def service_notice(category: Category) -> str:
    """What to expect, from the category's time limits."""
    limits = category.limits or {}
    return _("Taken up within %(accept)s and handled within %(handle)s.") % {
        "accept": _duration(limits.get("accept", "")),
        "handle": _duration(limits.get("handle", "")),
    }


def service(category: Category) -> dict:
    """One category as a GeoReport service."""
    group = category.parent.name if category.parent_id else None
    # "垃圾堆放或清运不及时" names two kinds of problem: each is a keyword, and so is the group.
    keywords = [k for k in (*category.name.split("或"), group) if k]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or None,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(keywords)),
        "group": group,
    }


def is_private(category: Category) -> bool:
    """Does the category concern people (its cases are listed without description or place)?"""
    return category.code in PRIVATE_GROUPS or (
        category.parent_id is not None and category.parent.code in PRIVATE_GROUPS
    )


def public_description(text: str) -> str:
    """The description with phone and ID numbers masked."""

    def mask(match):
        value = match.group()
        return masking.mask_id_number(value) if len(value) == 18 else masking.mask_phone(value)

    return PHONE_OR_ID.sub(mask, text)


def public_address(text: str) -> str | None:
    """The address down to the building: the unit, floor and room would name a household."""
    match = HOUSEHOLD_PART.search(text or "")
    text = (text[: match.start()] if match else text or "").strip(" ,，")
    return text or None


def public_cases():
    """Every case, with the time of its latest step."""
    last = CaseEvent.objects.filter(case=OuterRef("pk")).order_by("-at", "-id").values("at")[:1]
    return Case.objects.select_related("category__parent", "unit").annotate(last_step_at=Subquery(last))


def open_or_closed(state: str) -> str:
    """The spec's two statuses: closed and rejected cases are closed, every other state is open."""
    return "closed" if state in FINAL_STATES else "open"


def service_request(case: Case) -> dict:
    """One case as a GeoReport service request, without personal data."""
    private = is_private(case.category)
    closed = case.state in FINAL_STATES
    updated = case.closed_at if case.state == State.CLOSED else (case.last_step_at or case.reported_at)
    return {
        "service_request_id": case.number,
        "status": open_or_closed(case.state),
        "status_notes": case.get_state_display(),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": None if private else public_description(case.description),
        "agency_responsible": case.unit.name,
        "service_notice": service_notice(case.category),
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": None if closed else w3c(case.close_due_at or case.due_at),
        "address": None if private else public_address(case.address),
        "address_id": None,
        "zipcode": None,
        "lat": None if private else case.lat,
        "long": None if private else case.lng,
        "media_url": None,
    }


def update(event: CaseEvent) -> dict:
    """One step as a request update: its neutral name, never the note written with it."""
    label = State.REPORTED.label if event.action == "report" else actions.ACTION_LABELS[event.action]
    return {
        "update_id": event.pk,
        "service_request_id": event.case.number,
        "status": open_or_closed(event.to_state),
        "updated_datetime": w3c(event.at),
        "description": str(label),
        "media_url": None,
    }


# --- Resources -------------------------------------------------------------------------------------


def _changeset() -> str:
    """When the services last changed: the newest change to a category, or the seeding of the taxonomy."""
    times = [
        AuditEvent.objects.filter(action="case_category.save").aggregate(at=Max("at"))["at"],
        MigrationRecorder.Migration.objects.filter(app="cases", name="0002_seed").aggregate(at=Max("applied"))["at"],
    ]
    latest = max((t for t in times if t is not None), default=timezone.now())
    return timezone.localtime(latest).strftime("%Y-%m-%d %H:%M")


@endpoint("GET")
def discovery(request, fmt, district):
    """The service discovery document: where the GeoReport v2 endpoint is and what it speaks."""
    base = reverse("open311_services", kwargs={"fmt": "xml"}).removesuffix("/services.xml")
    url = settings.ANJU_PUBLIC_URL + base if settings.ANJU_PUBLIC_URL else request.build_absolute_uri(base)
    changeset = _changeset()
    data = {
        "changeset": changeset,
        "contact": _("Contact the district's social governance centre."),
        "key_service": _("Keys are issued to applications by a district administrator of the case system."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", data)


@endpoint("GET")
def services(request, fmt, district):
    """The service list: the categories a case can be filed under."""
    return render(fmt, "services", [service(c) for c in queries.leaf_categories()])


def _leaf(code: str) -> Category:
    category = queries.leaf_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": code})
    return category


@endpoint("GET")
def service_definition(request, fmt, district, code):
    """A service's definition: our categories ask for no attributes."""
    return render(fmt, "service_definition", {"service_code": _leaf(code).code, "attributes": []})


@endpoint("GET", "POST")
def service_requests(request, fmt, district):
    """GET: requests by id, or by service, status and date; POST: report a new one (api_key needed)."""
    if request.method == "POST":
        return create_request(request, fmt)
    params = request.GET
    qs = _in_district(public_cases(), district)
    numbers = _list(params, "service_request_id")
    if numbers:
        qs = qs.filter(number__in=numbers[:MAX_RESULTS])
    else:
        start, end = period(params)
        qs = qs.filter(reported_at__range=(start, end))
        codes = _list(params, "service_code")
        if codes:
            qs = qs.filter(category__code__in=codes)
        statuses = {s.lower() for s in _list(params, "status")}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, _("status: use open or closed."))
        if statuses == {"open"}:
            qs = qs.filter(state__in=OPEN_STATES)
        elif statuses == {"closed"}:
            qs = qs.filter(state__in=FINAL_STATES)
    cases = qs.order_by("-reported_at", "-id")[:MAX_RESULTS]
    return render(fmt, "service_requests", [service_request(c) for c in cases])


def _reporter_name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if CJK.search(first + last):
        return last + first  # a Chinese name is written family name first, without a space
    return f"{first} {last}".strip()


def _location(params) -> dict:
    """lat & long, address_string, or the point and label of a registry address (address_id)."""
    data = {"lat": params.get("lat"), "lng": params.get("long"), "address": params.get("address_string", "")}
    address_id = (params.get("address_id") or "").strip()
    if address_id:
        address = Address.objects.exclude(lng=None).filter(pk=int(address_id) if address_id.isdigit() else 0).first()
        if address is None:
            raise Open311Error(400, _("address_id: no such address."))
        if data["lat"] in (None, "") and data["lng"] in (None, ""):
            data["lat"], data["lng"] = address.lat, address.lng
        data["address"] = data["address"] or address.label
    return data


def _check(validator, value: str, parameter: str) -> str:
    value = value.strip()
    if value:
        try:
            validator(value)
        except ValidationError:
            raise Open311Error(400, _("%(parameter)s: not valid.") % {"parameter": parameter}) from None
    return value


def create_request(request, fmt):
    """POST Service Request: the case is made at once, so its id (the case number) comes back, not a token."""
    params = request.POST
    client = actions.open311_client_for((params.get("api_key") or "").strip())
    if client is None:
        raise Open311Error(403, _("api_key is missing, invalid or revoked."))
    code = (params.get("service_code") or "").strip()
    missing = []
    if not code:
        missing.append(_("service_code was not provided."))
    if not any((params.get(name) or "").strip() for name in ("lat", "long", "address_string", "address_id")):
        missing.append(_("A location was not provided: give lat & long, address_string or address_id."))
    if missing:
        raise Open311Error(400, *missing)
    category = _leaf(code)
    description = (params.get("description") or "").strip() or category.name
    media_url = _check(URLValidator(schemes=["http", "https"]), params.get("media_url") or "", "media_url")
    if media_url:
        # Staff see the picture's address with the description; it is not shown publicly as media.
        description = f"{description}\n{media_url}"
    data = {
        "category": category.code,
        "description": description,
        **_location(params),
        "reporter_name": _reporter_name(params.get("first_name") or "", params.get("last_name") or ""),
        "reporter_phone": params.get("phone") or "",
        "reporter_email": _check(validate_email, params.get("email") or "", "email"),
    }
    try:
        case, _duplicates = actions.report_case(None, data, Channel.OPEN311, client=client)
    except InvalidField as exc:
        raise Open311Error(400, f"{PARAMETERS.get(exc.field, exc.field)}: {exc}") from exc
    except ActionError as exc:
        raise Open311Error(400, str(exc)) from exc
    answer = {"service_request_id": case.number, "service_notice": service_notice(category), "account_id": None}
    return render(fmt, "service_requests", [answer])


@endpoint("GET")
def service_request_detail(request, fmt, district, number):
    """GET Service Request: one case by its number."""
    case = _in_district(public_cases(), district).filter(number=number).first()
    if case is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found.") % {"id": number})
    return render(fmt, "service_requests", [service_request(case)])


@endpoint("GET")
def request_id_from_token(request, fmt, district, token):
    """GET service_request_id from a token: requests are made at once, and a case's token is its number."""
    case = _in_district(Case.objects.all(), district).filter(number=token).first()
    if case is None:
        raise Open311Error(404, _("token %(token)s was not found.") % {"token": token})
    return render(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])


@endpoint("GET")
def request_updates(request, fmt, district):
    """GET Service Request Updates (the servicerequestupdates extension): the steps taken, oldest first."""
    params = request.GET
    qs = _in_district(CaseEvent.objects.filter(action__in=UPDATE_ACTIONS), district, "case__")
    numbers = _list(params, "service_request_id")
    if numbers:
        qs = qs.filter(case__number__in=numbers[:MAX_RESULTS])
    if not numbers or params.get("start_date") or params.get("end_date"):
        start, end = period(params)
        qs = qs.filter(at__range=(start, end))
    events = qs.select_related("case").order_by("at", "id")[:MAX_RESULTS]
    return render(fmt, "service_request_updates", [update(e) for e in events])
