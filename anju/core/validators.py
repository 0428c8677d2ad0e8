"""Validators for the numbers clerks type in: citizen ID numbers, phones, vehicle plates, credit codes.

Pure functions, no database. Each either returns the normalised value (full-width characters, spaces and
separators folded) or raises ``django.core.exceptions.ValidationError`` with a message a clerk can act on
and a ``code`` a program can test. Messages are English msgids; the Chinese catalogue translates them.

Region codes are checked against ``data/gbt2260/timeline.csv`` (every GB/T 2260 code since about 1980 with
the years it was in force; see the README next to it).
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- Region codes (GB/T 2260) -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionPeriod:
    """One name a region code carried, in force from ``start_year`` to ``end_year`` (None = open)."""

    name: str
    start_year: int | None
    end_year: int | None

    def covers(self, year: int) -> bool:
        """True if the code was in force under this name during ``year``."""
        return (self.start_year is None or self.start_year <= year) and (self.end_year is None or year <= self.end_year)


@functools.cache
def region_timeline() -> Mapping[str, tuple[RegionPeriod, ...]]:
    """Every 6-digit region code ever valid -> its name periods, read once from the packaged CSV."""
    source = resources.files("anju.core").joinpath("data/gbt2260/timeline.csv")
    timeline: dict[str, list[RegionPeriod]] = {}
    with source.open("r", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            period = RegionPeriod(
                row["name"],
                int(row["start_year"]) if row["start_year"] else None,
                int(row["end_year"]) if row["end_year"] else None,
            )
            timeline.setdefault(row["code"], []).append(period)
    # Read-only: the cached object is shared by every caller.
    return MappingProxyType({code: tuple(periods) for code, periods in timeline.items()})


def region_name(code: str, year: int | None = None) -> str | None:
    """The name of region ``code`` in ``year`` (or its latest name); None if the code never existed.

    When the code did not exist in ``year`` (created later) the latest name is returned. In a year of
    change, the name that started last wins.
    """
    periods = region_timeline().get(code)
    if not periods:
        return None
    if year is not None:
        current = [p for p in periods if p.covers(year)]
        if current:
            return max(current, key=lambda p: p.start_year or 0).name
    return max(periods, key=lambda p: (p.end_year is None, p.end_year or 0, p.start_year or 0)).name


def _fold(value: object) -> str:
    """Fold full-width digits, letters and punctuation (as typed with a Chinese IME) to ASCII."""
    return unicodedata.normalize("NFKC", "" if value is None else str(value))


def _squeeze(text: str) -> str:
    """Remove every kind of whitespace, including the ideographic space."""
    return "".join(text.split())


# --- Citizen ID numbers (GB 11643-1999) ---------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# GB 11643 itself sets no lower bound; an earlier date is a typing error in practice.
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class IdNumber:
    """A parsed citizen ID number; ``number`` is always the 18-character form with upper-case X."""

    number: str
    region_code: str
    region_name: str
    birth_date: date
    sex: str
    legacy: bool


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits of an ID number.

    Raises ``ValueError`` unless ``first17`` is exactly 17 ASCII digits: callers pass checked input.
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_id_number(value: object, today: date | None = None) -> IdNumber:
    """Validate a citizen ID number (GB 11643) and return what it says.

    Accepts 18-character numbers and 15-digit legacy ones (6 region + yyMMdd of a 19yy birth + 3 sequence
    digits; converted to 18 characters). Spaces, full-width characters and a lower-case x are accepted.
    The region code must exist and must have been in force in the birth year or later (numbers are issued
    after birth, so a code created later is fine; one abolished before the birth year is not); the birth
    date must be real, not before 1900 and not after ``today`` (default: today in the site's time zone);
    the check character must match. Sex: odd sequence = male.
    """
    text = _squeeze(_fold(value)).upper()
    if len(text) not in (15, 18):
        raise ValidationError(
            _("An ID number has 18 characters (old numbers 15); this one has %(length)d."),
            code="id_length",
            params={"length": len(text)},
        )
    legacy = len(text) == 15
    for position, char in enumerate(text, start=1):
        allowed = "0123456789X" if position == 18 else "0123456789"
        if char not in allowed:
            raise ValidationError(
                _(
                    "Character %(position)d, “%(char)s”, is not allowed: an ID number is digits only, "
                    "except that the 18th character may be X."
                ),
                code="id_characters",
                params={"position": position, "char": char},
            )

    region = text[:6]
    periods = region_timeline().get(region)
    if not periods:
        raise ValidationError(
            _("The region code %(code)s (the first 6 digits) is not a known administrative division code."),
            code="id_region_unknown",
            params={"code": region},
        )

    birth_text = "19" + text[6:12] if legacy else text[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        raise ValidationError(
            _("The date of birth in the number, %(date)s, does not exist."),
            code="id_birth_date",
            params={"date": f"{birth_text[:4]}-{birth_text[4:6]}-{birth_text[6:8]}"},
        ) from None
    if birth < EARLIEST_BIRTH:
        raise ValidationError(
            _("The date of birth in the number, %(date)s, is before 1900."),
            code="id_birth_too_early",
            params={"date": birth.isoformat()},
        )
    if birth > (today or timezone.localdate()):
        raise ValidationError(
            _("The date of birth in the number, %(date)s, is in the future."),
            code="id_birth_future",
            params={"date": birth.isoformat()},
        )

    if not any(p.end_year is None or p.end_year >= birth.year for p in periods):
        last = max(periods, key=lambda p: p.end_year or 0)
        raise ValidationError(
            _(
                "The region code %(code)s (%(name)s) was abolished in %(end_year)d, before the birth year "
                "%(birth_year)d, so no number can have been issued with it."
            ),
            code="id_region_abolished",
            params={"code": region, "name": last.name, "end_year": last.end_year, "birth_year": birth.year},
        )

    sequence = text[12:15] if legacy else text[14:17]
    first17 = region + birth_text + sequence
    check = id_number_check_char(first17)
    if not legacy and text[17] != check:
        raise ValidationError(
            # The expected character is not told: changing the last character to fit would hide the
            # real typo and let a wrong number pass.
            _("The check character (the last one) does not match: one of the characters was probably mistyped."),
            code="id_check",
            params={"expected": check, "given": text[17]},
        )
    return IdNumber(
        number=first17 + check,
        region_code=region,
        region_name=region_name(region, birth.year) or "",
        birth_date=birth,
        sex="male" if int(sequence[-1]) % 2 else "female",
        legacy=legacy,
    )


# --- Phone numbers ------------------------------------------------------------------------------------

# NFKC already turns the full-width hyphen into "-"; these are the dashes it leaves alone.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−﹣", "-"))
_MOBILE = re.compile(r"1[3-9]\d{9}")


def _landline_area_length(number: str) -> int:
    """010 and 02x are the 3-digit area codes; every other one has 4 digits (0xxx)."""
    return 3 if number[1] in "12" else 4


def validate_phone(value: object) -> str:
    """Validate a mainland phone number and return it normalised.

    Mobile: 11 digits starting 13-19, optionally after +86 or 0086 (dropped): returns ``13812345678``.
    Landline: area code (010 or 02x, else 0xxx) and a local number of 8 digits (7 or 8 after a 4-digit area
    code) not starting with 0 or 1, optionally ``-extension`` (1-6 digits): returns ``0532-88886666`` or
    ``0532-88886666-123``. Spaces, full-width digits, any dash, brackets around the area code and 转 for
    the extension are accepted.
    """
    text = _squeeze(_fold(value).translate(_DASHES)).replace("(", "").replace(")", "-").replace("转", "-")
    if not text or not re.fullmatch(r"\+?[\d-]+", text):
        raise ValidationError(
            _("A phone number may only contain digits, spaces, dashes and a leading +86."),
            code="phone_characters",
        )
    compact = text.replace("-", "")
    international = re.match(r"\+86|0086", compact)
    if international:
        compact = compact[international.end() :]
    if compact.startswith("1") or international:
        if _MOBILE.fullmatch(compact):
            return compact
        if not compact.startswith("1"):
            raise ValidationError(
                _("Only mobile numbers are written with +86; write a landline with its area code, e.g. 0532-88886666."),
                code="phone_international",
            )
        raise ValidationError(
            _("A mobile number has 11 digits and starts with 13 to 19, e.g. 13812345678; %(number)s does not."),
            code="phone_mobile",
            params={"number": compact},
        )
    if not compact.startswith("0") or text.startswith("+"):
        raise ValidationError(
            _(
                "Enter a mobile number (11 digits, e.g. 13812345678) or a landline with its area code "
                "(e.g. 0532-88886666)."
            ),
            code="phone_invalid",
        )

    landline_error = ValidationError(
        _(
            "A landline number is an area code (e.g. 010 or 0532) and a local number of 7 or 8 digits that does "
            "not start with 0 or 1, optionally followed by -extension, e.g. 0532-88886666-123."
        ),
        code="phone_landline",
    )
    parts = [part for part in text.split("-") if part]
    if len(parts) > 3 or len(parts[0]) < 3:
        raise landline_error
    area_length = _landline_area_length(parts[0])
    if len(parts[0]) in (3, 4):
        # The area code is written apart: "0532-88886666[-123]".
        area, rest = parts[0], parts[1:]
        if not rest:
            raise landline_error
        local, extension = rest[0], (rest[1] if len(rest) > 1 else "")
    elif len(parts) <= 2:
        # Area code and local number run together: "053288886666[-123]".
        area, local = parts[0][:area_length], parts[0][area_length:]
        extension = parts[1] if len(parts) > 1 else ""
    else:
        raise landline_error
    if len(area) != area_length or area[1] == "0" or (area[1] == "1" and area != "010"):
        raise ValidationError(
            _("%(area)s is not an area code: area codes are 010, 02x or four digits 03xx to 09xx."),
            code="phone_area_code",
            params={"area": area},
        )
    local_lengths = (8,) if area_length == 3 else (7, 8)
    if len(local) not in local_lengths or local[0] in "01" or len(extension) > 6:
        raise landline_error
    return f"{area}-{local}" + (f"-{extension}" if extension else "")


# --- Vehicle plates (GA 36-2018) ----------------------------------------------------------------------

PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# GA 36: serials never use I or O (they read as 1 and 0).
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# The issuing-authority letter: O has been issued to public-security and provincial organs (the "O plates"
# most provinces are withdrawing), so it is accepted there; I never is.
ISSUER_LETTERS = PLATE_LETTERS + "O"
# Special-use suffixes on a 4-character serial: trailer, driving school, police, Hong Kong, Macao, consulate.
PLATE_SUFFIXES = "挂学警港澳领"
_PLATE_SEPARATORS = str.maketrans(dict.fromkeys("·•・‧∙.-", ""))
_HAN = r"\u4e00-\u9fff"
# E-bike plates are issued by cities under local rules; this is the common shape, not a standard.
_EBIKE = re.compile(rf"(?:[{PROVINCE_ABBREVIATIONS}]|[{_HAN}]{{2,4}})[A-Z0-9]{{3,8}}")


@dataclass(frozen=True)
class Plate:
    """A normalised plate number (no spaces or dots) and its kind: "car", "new_energy" or "ebike"."""

    number: str
    kind: str


def _plate_text(value: object) -> str:
    """Upper-case, ASCII letters and digits, no spaces and no middle dot."""
    return _squeeze(_fold(value)).translate(_PLATE_SEPARATORS).upper()


def _check_serial(serial: str) -> None:
    """Serial characters are digits and letters other than I and O."""
    for char in serial:
        if char in "IO":
            raise ValidationError(
                _(
                    "Plates never use the letters I and O (they look like 1 and 0): "
                    "check whether “%(char)s” should be a digit."
                ),
                code="plate_letters_io",
                params={"char": char},
            )
        if not ("0" <= char <= "9" or char in PLATE_LETTERS):
            raise ValidationError(
                _("“%(char)s” cannot appear on a plate after the issuing letter: only digits and letters do."),
                code="plate_characters",
                params={"char": char},
            )


def _motor_plate(text: str) -> Plate:
    """Civil motor-vehicle plates per GA 36-2018: ordinary (7 characters), special-use and new-energy (8)."""
    if not text or text[0] not in PROVINCE_ABBREVIATIONS:
        raise ValidationError(
            _("A plate starts with a province abbreviation such as 鲁 or 京; “%(char)s” is not one."),
            code="plate_province",
            params={"char": text[:1]},
        )
    if len(text) < 2 or text[1] not in ISSUER_LETTERS:
        raise ValidationError(
            _("The second character of a plate is the issuing authority's letter (A to Z, never I)."),
            code="plate_issuer",
        )
    serial = text[2:]
    if serial[-1:] and serial[-1] in PLATE_SUFFIXES:
        suffix, serial = serial[-1], serial[:-1]
        if len(serial) != 4:
            raise ValidationError(
                _("A plate ending in %(suffix)s has 4 characters between the issuing letter and %(suffix)s."),
                code="plate_length",
                params={"suffix": suffix},
            )
        if suffix in "港澳" and not text.startswith("粤Z"):
            raise ValidationError(
                _("Hong Kong and Macao cross-border plates start with 粤Z."),
                code="plate_cross_border",
            )
    elif len(serial) not in (5, 6):
        raise ValidationError(
            _(
                "A car plate has 7 characters, a new-energy plate 8 (e.g. 鲁B12345, 鲁BD12345); "
                "this one has %(length)d."
            ),
            code="plate_length",
            params={"length": len(text)},
        )
    _check_serial(serial)
    if len(serial) == 6:
        # GA 36-2018 new-energy plates: small vehicles D/F (D battery-electric, F other new energy) first,
        # then a letter or digit, then 4 digits; large vehicles 5 digits, then D/F last.
        small = serial[0] in "DF" and serial[2:].isdigit()
        large = serial[:5].isdigit() and serial[5] in "DF"
        if not (small or large):
            raise ValidationError(
                _(
                    "An 8-character new-energy plate needs D or F right after the issuing letter (small "
                    "vehicles: D or F, a letter or digit, then 4 digits) or at the end (large vehicles: 5 "
                    "digits, then D or F)."
                ),
                code="plate_new_energy",
            )
        return Plate(text, "new_energy")
    # GA 36: an ordinary serial holds at most two letters.
    if sum(char.isalpha() for char in serial) > 2:
        raise ValidationError(
            _("A plate number may contain at most two letters after the issuing letter."),
            code="plate_serial",
        )
    return Plate(text, "car")


def validate_plate(value: object, *, ebike: bool | None = None) -> Plate:
    """Validate a vehicle plate and return it normalised (upper-case, no spaces, no "·").

    Cars follow GA 36-2018: province abbreviation, issuing letter, then 5 characters (at most two letters,
    never I or O), or 4 characters and a suffix 挂/学/警/港/澳/领, or, for new-energy vehicles, 6
    characters with D or F first (small) or last (large). E-bike plates are issued by each city under its
    own rules; accepted here is the common shape: a province abbreviation or a 2-4 character place name,
    then 3-8 letters and digits (e.g. 青岛A12345, 鲁B·E1234). ``ebike=True`` checks only that shape,
    ``False`` only car plates; ``None`` tells them apart: anything starting with a province abbreviation
    and a letter is read as a car plate.
    """
    text = _plate_text(value)
    looks_motor = len(text) >= 2 and text[0] in PROVINCE_ABBREVIATIONS and "A" <= text[1] <= "Z"
    if ebike or (ebike is None and not looks_motor):
        if _EBIKE.fullmatch(text):
            return Plate(text, "ebike")
        if ebike:
            raise ValidationError(
                _(
                    "An e-bike plate is a province abbreviation or a place name followed by 3 to 8 letters and "
                    "digits, e.g. 青岛A12345."
                ),
                code="plate_ebike",
            )
    return _motor_plate(text)


# --- Unified social credit codes (GB 32100-2015) ------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE_CHECK_CHARS = "0123456789X"
# Registration authority (1st character) -> organisation types (2nd character) it may issue, from the
# GB 32100-2015 table as extended by the later assignments for 2-4, 6-8, A and N.
USCC_TYPES = {
    "1": ("staffing office", "1239"),  # 机构编制: organs, public institutions, mass organisations, other
    "2": ("foreign affairs", "19"),  # 外交: resident foreign news agencies, other
    "3": ("justice administration", "123459"),  # 司法行政: law firms, notaries, legal services, appraisal, arbitration
    "4": ("culture", "19"),  # 文化: foreign cultural centres, other
    "5": ("civil affairs", "1239"),  # 民政: social organisations, private non-enterprise units, foundations
    "6": ("tourism", "129"),  # 旅游: foreign and HK/Macao/Taiwan tourism offices, other
    "7": ("religious affairs", "129"),  # 宗教: places of worship, religious schools, other
    "8": ("trade unions", "19"),  # 工会: grassroots unions, other
    "9": ("market regulation", "123"),  # 工商: enterprises, individual businesses, farmers' cooperatives
    "A": ("military staffing office", "19"),  # 中央军委改革和编制办公室: military public institutions, other
    "N": ("agriculture", "1239"),  # 农业: group, village and township collective economic organisations
    "Y": ("other", "1"),  # 其他
}
AUTHORITY_NAMES = {
    "staffing office": _("staffing office"),
    "foreign affairs": _("foreign affairs"),
    "justice administration": _("justice administration"),
    "culture": _("culture"),
    "civil affairs": _("civil affairs"),
    "tourism": _("tourism"),
    "religious affairs": _("religious affairs"),
    "trade unions": _("trade unions"),
    "market regulation": _("market regulation"),
    "military staffing office": _("military staffing office"),
    "agriculture": _("agriculture"),
    "other": _("other"),
}
# Bodies registered by national ministries carry 100000 instead of a GB/T 2260 code.
NATIONAL_REGION = "100000"


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character for the 8-character body of an organisation code.

    Digits count as 0-9 and letters as 10-35. Raises ``ValueError`` on other input.
    """
    if len(first8) != 8 or not (first8.isascii() and first8.isalnum() and first8 == first8.upper()):
        raise ValueError(f"expected 8 digits or capital letters, got {first8!r}")
    total = sum(int(char, 36) * weight for char, weight in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    return ORG_CODE_CHECK_CHARS[(11 - total % 11) % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a unified social credit code.

    Raises ``ValueError`` if a character is outside the code's alphabet or the length is not 17.
    """
    if len(first17) != 17 or any(char not in USCC_ALPHABET for char in first17):
        raise ValueError(f"expected 17 characters of {USCC_ALPHABET}, got {first17!r}")
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: object) -> str:
    """Validate a unified social credit code (统一社会信用代码, GB 32100-2015) and return it normalised.

    18 characters from digits and capital letters except I, O, Z, S, V: 1 registration authority, 2
    organisation type (allowed per authority), 3-8 the registering region's GB/T 2260 code (or 100000 for
    national bodies), 9-17 the organisation code with its GB 11714 check character, 18 the check character.
    """
    text = _squeeze(_fold(value)).upper()
    if len(text) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(length)d."),
            code="uscc_length",
            params={"length": len(text)},
        )
    for position, char in enumerate(text, start=1):
        if char not in USCC_ALPHABET:
            raise ValidationError(
                _(
                    "Character %(position)d, “%(char)s”, is not allowed: the code uses digits and capital "
                    "letters except I, O, Z, S and V."
                ),
                code="uscc_characters",
                params={"position": position, "char": char},
            )
    authority, kind = text[0], text[1]
    if authority not in USCC_TYPES:
        raise ValidationError(
            _("The first character, %(char)s, is not a registration authority code (1-9, A, N or Y)."),
            code="uscc_authority",
            params={"char": authority},
        )
    authority_key, kinds = USCC_TYPES[authority]
    if kind not in kinds:
        raise ValidationError(
            _(
                "The second character, %(char)s, is not an organisation type of registration authority "
                "%(authority)s (%(name)s); it can be %(allowed)s."
            ),
            code="uscc_type",
            params={
                "char": kind,
                "authority": authority,
                "name": AUTHORITY_NAMES[authority_key],
                "allowed": ", ".join(kinds),
            },
        )
    region = text[2:8]
    if region != NATIONAL_REGION and region not in region_timeline():
        raise ValidationError(
            _("Characters 3-8, %(code)s, are not a known administrative division code."),
            code="uscc_region",
            params={"code": region},
        )
    org_check = org_code_check_char(text[8:16])
    if text[16] != org_check:
        raise ValidationError(
            _(
                "The organisation code (characters 9-17) does not match its check character: a character was "
                "probably mistyped."
            ),
            code="uscc_org_check",
            params={"expected": org_check, "given": text[16]},
        )
    check = uscc_check_char(text[:17])
    if text[17] != check:
        raise ValidationError(
            _("The check character (the last one) does not match: a character was probably mistyped."),
            code="uscc_check",
            params={"expected": check, "given": text[17]},
        )
    return text
