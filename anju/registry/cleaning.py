"""Checking and normalising registry input, shared by the API, the pages, imports and the QR form.

Each `clean_*` takes raw values (strings from a form, a CSV cell or JSON) and returns the values to
store, or raises `InvalidField` naming the field and saying, for the user, what is wrong.
"""

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from anju.core import validators
from anju.core.errors import InvalidField
from anju.registry.address_parser import chinese_number
from anju.registry.models import HouseUse, OrganizationKind, PersonKind, Relation, Sex, VehicleKind

NAME_RE = re.compile(r"^[\u3400-\u9fff\u00b7·•A-Za-z .'-]{1,64}$")


def _text(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def validated(field: str, check, value):
    try:
        return check(value)
    except ValidationError as exc:
        raise InvalidField(field, " ".join(exc.messages)) from exc


def clean_name(value, field: str = "name") -> str:
    """A person's name: Chinese characters, or Latin letters for foreign names; 1-64 characters."""
    text = re.sub(r"\s+", " ", _text(value))
    if not text:
        raise InvalidField(field, _("A name is required."))
    if not NAME_RE.match(text):
        raise InvalidField(field, _("A name may hold Chinese characters, Latin letters, spaces and the middle dot."))
    return text


def clean_date(value, field: str, *, required: bool = True, not_future: bool = False) -> date | None:
    """A calendar date written YYYY-MM-DD (a date object passes through)."""
    if value in (None, ""):
        if required:
            raise InvalidField(field, _("A date is required."))
        return None
    if isinstance(value, date):
        day = value
    else:
        text = _text(value).replace("/", "-").replace(".", "-")
        try:
            day = parse_date(text[:10])
        except ValueError:
            day = None
        if day is None:
            raise InvalidField(field, _("Write the date as YYYY-MM-DD, e.g. 2024-03-01."))
    if not_future and day > timezone.localdate():
        raise InvalidField(field, _("The date may not lie in the future."))
    return day


def clean_choice(value, field: str, choices) -> str:
    """One of a TextChoices' values (its label in the current language is accepted too)."""
    text = _text(value)
    for key, label in choices.choices:
        if text in (key, str(label)):
            return key
    allowed = ", ".join(choices.values)
    raise InvalidField(
        field, _("Unknown value “%(value)s”; allowed: %(allowed)s.") % {"value": text, "allowed": allowed}
    )


def clean_phone(value, field: str = "phone", *, required: bool = False) -> str:
    """A mainland mobile or landline number, normalised."""
    if value in (None, ""):
        if required:
            raise InvalidField(field, _("A phone number is required."))
        return ""
    return validated(field, validators.validate_phone, value)


def clean_person(data: dict, *, partial: bool = False) -> dict:
    """The stored fields of a person from raw input; `partial` checks only the fields given.

    The ID number decides sex and birth date; a foreign national is identified by passport and
    nationality instead, with sex and birth date given.
    """
    out: dict = {}
    if "name" in data or not partial:
        out["name"] = clean_name(data.get("name"))
    if "kind" in data or not partial:
        out["kind"] = clean_choice(data.get("kind") or PersonKind.REGISTERED, "kind", PersonKind)
    # The simple fields first: an importer leaves out a faulty cell and checks the row again, and
    # a missing identity must not hide a bad phone.
    if "phone" in data or not partial:
        out["phone"] = clean_phone(data.get("phone"))
    for field, limit in (("ethnicity", 20), ("hukou_place", 120), ("residence_permit", 30)):
        if field in data:
            value = _text(data.get(field))
            if len(value) > limit:
                raise InvalidField(field, _("At most %(n)d characters.") % {"n": limit})
            out[field] = value
    if "residence_permit_until" in data:
        out["residence_permit_until"] = clean_date(
            data.get("residence_permit_until"), "residence_permit_until", required=False
        )
    kind = out.get("kind")
    id_text = _text(data.get("id_number"))
    if id_text:
        parsed = validated("id_number", validators.parse_id_number, id_text)
        out.update(id_number=parsed.number, sex=parsed.sex, birth_date=parsed.birth_date)
        if not data.get("hukou_place") and kind == PersonKind.REGISTERED:
            out["hukou_place"] = parsed.region_name
    elif not partial and kind != PersonKind.FOREIGN:
        raise InvalidField("id_number", _("An ID number is required (a passport only for foreign nationals)."))
    if kind == PersonKind.FOREIGN or "passport_number" in data:
        passport = re.sub(r"\s+", "", _text(data.get("passport_number"))).upper()
        if kind == PersonKind.FOREIGN and not id_text and not passport:
            raise InvalidField("passport_number", _("A foreign national needs a passport number."))
        if passport and not re.fullmatch(r"[A-Z0-9]{5,20}", passport):
            raise InvalidField("passport_number", _("A passport number has 5-20 letters and digits."))
        out["passport_number"] = passport
    if "nationality" in data or (kind == PersonKind.FOREIGN and not partial):
        nationality = _text(data.get("nationality")).upper()
        if kind == PersonKind.FOREIGN and not re.fullmatch(r"[A-Z]{3}", nationality):
            raise InvalidField("nationality", _("Give the nationality as a three-letter ISO 3166 code, e.g. KOR."))
        out["nationality"] = nationality
    if "id_number" not in out and (not partial or "sex" in data or "birth_date" in data):
        if "sex" in data or not partial:
            out["sex"] = clean_choice(data.get("sex"), "sex", Sex)
        if "birth_date" in data or not partial:
            out["birth_date"] = clean_date(data.get("birth_date"), "birth_date", not_future=True)
    return out


def clean_relation(value) -> str:
    return clean_choice(value or Relation.OTHER, "relation", Relation)


def clean_house_use(value) -> str:
    return clean_choice(value or HouseUse.UNKNOWN, "use", HouseUse)


def clean_area(value, field: str = "area_m2") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        area = Decimal(_text(value))
    except InvalidOperation as exc:
        raise InvalidField(field, _("Give the area as a number of square metres.")) from exc
    if not Decimal("1") <= area <= Decimal("100000"):
        raise InvalidField(field, _("An area lies between 1 and 100,000 m²."))
    return area.quantize(Decimal("0.01"))


def clean_organization(data: dict, *, partial: bool = False) -> dict:
    """The stored fields of an organization from raw input."""
    out: dict = {}
    if "name" in data or not partial:
        name = _text(data.get("name"))
        if not name:
            raise InvalidField("name", _("A name is required."))
        if len(name) > 120:
            raise InvalidField("name", _("At most %(n)d characters.") % {"n": 120})
        out["name"] = name
    if "uscc" in data:
        out["uscc"] = validated("uscc", validators.validate_uscc, data["uscc"]) if data.get("uscc") else None
    if "kind" in data or not partial:
        out["kind"] = clean_choice(data.get("kind") or OrganizationKind.OTHER, "kind", OrganizationKind)
    if "legal_representative" in data:
        out["legal_representative"] = clean_name(data["legal_representative"], "legal_representative")
    if "phone" in data:
        out["phone"] = clean_phone(data.get("phone"))
    if "key_unit" in data:
        out["key_unit"] = _text(data.get("key_unit")).lower() in ("1", "true", "yes", "y", "是")
    if data.get("employees") not in (None, ""):
        try:
            out["employees"] = int(_text(data["employees"]))
        except ValueError as exc:
            raise InvalidField("employees", _("Give the number of employees as a whole number.")) from exc
    return out


def clean_plate(value, kind: str | None = None) -> tuple[str, str]:
    """(plate, kind): the normalised plate and its kind; `kind` "ebike" asks for an e-bike plate."""
    if kind:
        kind = clean_choice(kind, "kind", VehicleKind)
    plate = validated(
        "plate", lambda v: validators.validate_plate(v, ebike=(kind == VehicleKind.EBIKE) if kind else None), value
    )
    return plate.number, plate.kind


# --- Address parts ---------------------------------------------------------------------------------

_MARKERS = {
    "door_number": re.compile(r"(号院|号)$"),
    "building": re.compile(r"(号楼|栋|幢|座|号|楼|#)$"),
    "unit": re.compile(r"(单元|门)$"),
    "floor": re.compile(r"(层|楼|F)$"),
    "room": re.compile(r"(室|户|房|号)$"),
}
ADDRESS_LIMITS = {"road": 60, "door_number": 20, "estate": 60, "building": 20, "unit": 10, "floor": 10, "room": 20}


def clean_address_part(name: str, value) -> str:
    """One part of a standard address in canonical form: 三号楼 -> 3, ２单元 -> 2, 502室 -> 502."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or ""))).upper()
    marker = _MARKERS.get(name)
    if marker:
        text = marker.sub("", text)
    if name in ("building", "unit", "floor") and text and not text.isascii():
        number = chinese_number(text)
        text = str(number) if number is not None else text
    if name == "floor" and text.startswith("B") and text[1:].isdigit():
        text = "-" + text[1:]
    if len(text) > ADDRESS_LIMITS[name]:
        raise InvalidField(name, _("At most %(n)d characters.") % {"n": ADDRESS_LIMITS[name]})
    return text


def clean_address_parts(data: dict) -> dict:
    """All seven parts (missing ones empty); a room-level address needs a building or a door number."""
    parts = {name: clean_address_part(name, data.get(name)) for name in ADDRESS_LIMITS}
    if not (parts["road"] or parts["estate"]):
        raise InvalidField("road", _("An address needs a road or an estate."))
    if (parts["unit"] or parts["room"]) and not (parts["building"] or parts["door_number"]):
        raise InvalidField("building", _("A room needs its building or door number."))
    if parts["room"] and not parts["floor"]:
        digits = re.match(r"\d+", parts["room"])
        if digits and len(digits.group()) >= 3:
            parts["floor"] = str(int(digits.group()[:-2]))
    return parts
