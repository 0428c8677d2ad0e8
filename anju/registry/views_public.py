"""The tenant's public self-declaration pages (no sign-in) and the staff's QR codes and printable sheet."""

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from anju.core import audit, masking, ratelimit
from anju.core.errors import ActionError, InvalidField
from anju.registry import qr, queries
from anju.registry.actions import declarations
from anju.registry.forms_public import DeclarationForm
from anju.registry.models import RENTAL_REGISTRATION_DAYS, Building, Residence, room_order

# Every submission counts, valid or not, so the form cannot be used to try out ID numbers in bulk.
# One phone on a shared Wi-Fi may declare a family; a whole building's tenants may use one code.
IP_LIMIT, IP_WINDOW = 10, 60 * 60
TOKEN_LIMIT, TOKEN_WINDOW = 30, 24 * 60 * 60
# The confirmation page's link is signed and short-lived: reference numbers cannot be walked through.
DONE_SALT = "anju.registry.declare_done"
DONE_MAX_AGE = 24 * 60 * 60
# What the cleaning functions call a field, when the form calls it otherwise.
FORM_FIELDS = {"from": "start"}


def _message(request, status: int, heading: str, message: str) -> HttpResponse:
    """A plain public page saying what happened (unknown code, too many attempts)."""
    return render(request, "registry/public_base.html", {"heading": heading, "message": message}, status=status)


def _not_found(request) -> HttpResponse:
    return _message(
        request,
        404,
        _("Unknown QR code"),
        _(
            "This QR code is not known. Scan the code on the door or the police contact card again, "
            "or ask your grid worker."
        ),
    )


def _within_limits(token: str) -> bool:
    # The token's budget is only spent by senders within their own, so one sender cannot use it up alone.
    return ratelimit.allow(f"declare:ip:{audit.current_ip.get()}", IP_LIMIT, IP_WINDOW) and ratelimit.allow(
        f"declare:token:{token}", TOKEN_LIMIT, TOKEN_WINDOW
    )


def _done_url(token: str, residence: Residence, again: bool = False) -> str:
    ref = signing.dumps({"r": residence.pk, "a": again}, salt=DONE_SALT)
    return reverse("declare_done", args=[token, ref])


@never_cache
@require_http_methods(["GET", "POST"])
def declare(request, token: str):
    """The form a tenant reaches by scanning a house's or building's code; a building's asks for the room."""
    try:
        place = declarations.target(token)
    except Http404:
        return _not_found(request)
    building = place if isinstance(place, Building) else None
    if request.method == "POST":
        if not _within_limits(token):
            response = _message(
                request,
                429,
                _("Too many attempts"),
                _("Too many declarations were sent from here. Please try again in an hour, or ask your grid worker."),
            )
            response["Retry-After"] = str(IP_WINDOW)
            return response
        form = DeclarationForm(request.POST, request.FILES, building=building)
        if form.is_valid():
            try:
                residence = declarations.declare(token, form.declaration(), form.cleaned_data["contract_photo"])
            except declarations.AlreadyDeclared as exc:
                return redirect(_done_url(token, exc.residence, again=True))
            except InvalidField as exc:
                field = FORM_FIELDS.get(exc.field, exc.field)
                form.add_error(field if field in form.fields else None, str(exc))
            except ActionError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect(_done_url(token, residence))
    else:
        form = DeclarationForm(building=building)
    return render(
        request,
        "registry/declare.html",
        {
            "form": form,
            "address": place.address.label,
            "rooms": [declarations.room_label(h) for h in declarations.rooms(building)] if building else [],
            "days": RENTAL_REGISTRATION_DAYS,
        },
    )


@never_cache
@require_GET
def declare_done(request, token: str, ref: str):
    """The confirmation: reference number, masked name, address and deadline; never the ID number."""
    try:
        payload = signing.loads(ref, salt=DONE_SALT, max_age=DONE_MAX_AGE)
        residence = Residence.objects.select_related("person", "house__address", "house__building").get(pk=payload["r"])
    except (signing.BadSignature, Residence.DoesNotExist, KeyError, TypeError):
        return _not_found(request)
    house = residence.house
    if token not in (house.qr_token, getattr(house.building, "qr_token", None)):
        return _not_found(request)
    return render(
        request,
        "registry/declare_done.html",
        {
            "again": bool(payload.get("a")),
            "reference": declarations.reference(residence),
            "name": masking.mask_name(residence.person.name),
            "address": house.address.label,
            "due": residence.registration_due,
            "declare_url": reverse("declare", args=[token]),
        },
    )


# --- Staff: the codes and the printable sheet ------------------------------------------------------

QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _qr_response(request, record, fmt: str, name: str) -> HttpResponse:
    url = qr.declaration_url(record, request)
    body = qr.svg(url, title=str(record)) if fmt == "svg" else qr.png(url)
    response = HttpResponse(body, content_type=QR_TYPES[fmt])
    response["Content-Disposition"] = f'inline; filename="{name}-qr.{fmt}"'
    return response


@login_required
@require_GET
def house_qr(request, pk: str, fmt: str):
    """A house's QR code as SVG or PNG (registry.view, house in scope)."""
    return _qr_response(request, queries.get_house(request.user, pk), fmt, f"house-{pk}")


@login_required
@require_GET
def building_qr(request, pk: str, fmt: str):
    """A building's QR code as SVG or PNG (registry.view, building in scope)."""
    return _qr_response(request, queries.get_building(request.user, pk), fmt, f"building-{pk}")


@login_required
@require_GET
def building_qr_sheet(request, pk: int):
    """An A4 sheet to print: one card per house of the building and one for the building itself."""
    building = queries.get_building(request.user, pk)
    houses = sorted(queries.houses(request.user).filter(building=building), key=lambda h: room_order(h.address))
    cards = [
        {
            "room": declarations.room_label(house),
            "address": house.address.label,
            "url": qr.declaration_url(house, request),
            "svg": mark_safe(qr.svg_inline(qr.declaration_url(house, request))),  # segno's own markup
        }
        for house in houses
    ]
    return render(
        request,
        "registry/qr_sheet.html",
        {
            "building": building,
            "building_svg": mark_safe(qr.svg_inline(qr.declaration_url(building, request))),
            "building_url": qr.declaration_url(building, request),
            "cards": cards,
            "days": RENTAL_REGISTRATION_DAYS,
        },
    )
