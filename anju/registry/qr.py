"""The QR codes on houses and buildings: the public self-declaration address they carry, drawn as SVG or PNG.

A code is printed once and stuck on a door or the police contact card for years, so it carries the
site's public address (ANJU_PUBLIC_URL) rather than whatever host a staff member happened to use.
"""

import io

import segno
from django.conf import settings
from django.urls import reverse

from anju.registry.models import Building, House

# Q (25% recovery) survives a scuffed or partly covered sticker; the URLs are short, so the code stays small.
ERROR_LEVEL = "q"
# ISO/IEC 18004 asks for a quiet zone of four modules around the code.
QUIET_ZONE = 4
# 10 px a module: a version-4 code is 410 px wide, sharp at 3.5 cm when printed at 300 dpi.
PNG_SCALE = 10
SVG_SCALE = 8


def declaration_url(record: House | Building, request=None) -> str:
    """The absolute address a tenant's phone opens when scanning the record's code.

    ANJU_PUBLIC_URL when the operator set it; otherwise built from `request` (the host the page was
    reached at), which must then be given.
    """
    path = reverse("declare", args=[record.qr_token])
    if settings.ANJU_PUBLIC_URL:
        return settings.ANJU_PUBLIC_URL + path
    if request is None:
        raise ValueError("ANJU_PUBLIC_URL is not set: pass the request to build the address from")
    return request.build_absolute_uri(path)


def make(url: str) -> segno.QRCode:
    """The QR code of `url` at the print error-correction level (never boosted, so it is predictable)."""
    return segno.make_qr(url, error=ERROR_LEVEL, boost_error=False)


def svg(url: str, title: str = "") -> bytes:
    """A standalone SVG document of the code, for download and print."""
    out = io.BytesIO()
    make(url).save(out, kind="svg", scale=SVG_SCALE, border=QUIET_ZONE, xmldecl=True, title=title or None)
    return out.getvalue()


def svg_inline(url: str) -> str:
    """The code as an <svg> element without a fixed size (CSS sizes it), to place inside a page."""
    return make(url).svg_inline(scale=SVG_SCALE, border=QUIET_ZONE, omitsize=True, svgclass="qr", lineclass=None)


def png(url: str) -> bytes:
    """A PNG image of the code at a resolution suitable for print."""
    out = io.BytesIO()
    make(url).save(out, kind="png", scale=PNG_SCALE, border=QUIET_ZONE)
    return out.getvalue()
