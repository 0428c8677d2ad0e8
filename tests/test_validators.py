"""Validators for ID numbers, phones, plates and credit codes: pure functions, no database.

Every number here is synthetic: built from a real region code and the check functions, or computed by hand
where the test is about the check function itself.
"""

import random
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from anju.core import validators as v

TODAY = date(2024, 6, 1)


@pytest.fixture(autouse=True)
def english():
    """Messages are English msgids; pin the language so a filled Chinese catalogue does not break tests."""
    with translation.override("en"):
        yield


def make_id(region: str, birth: date, sequence: int) -> str:
    """An 18-character ID number with a correct check character."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + v.id_number_check_char(first17)


def full_width(text: str) -> str:
    """What a Chinese IME in full-width mode types for ASCII letters and digits."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def refused(func, value, **kwargs) -> ValidationError:
    """Call ``func`` expecting a ValidationError; return it."""
    with pytest.raises(ValidationError) as info:
        func(value, **kwargs)
    return info.value


def id_refused(value: str) -> ValidationError:
    return refused(v.parse_id_number, value, today=TODAY)


# --- Region timeline ----------------------------------------------------------------------------------


def test_timeline_loaded_from_package():
    timeline = v.region_timeline()
    assert len(timeline) > 7000
    assert timeline["370205"] == (v.RegionPeriod("四方区", None, 2012),)
    assert timeline["370000"][0].name == "山东省"
    assert v.region_timeline() is timeline  # read once


def test_region_name_follows_renames():
    # 130123 was 栾城县 until 1993, then 正定县.
    assert v.region_name("130123", 1990) == "栾城县"
    assert v.region_name("130123", 2000) == "正定县"
    assert v.region_name("130123", 1993) == "正定县"  # the year of change: the newer name
    assert v.region_name("130123") == "正定县"
    assert v.region_name("999999") is None


# --- ID numbers ---------------------------------------------------------------------------------------


def test_check_char_hand_computed():
    # 3·7+7·9+0+2·5+0+3·4+1·2+9·1+8·6+0+0+1·9+0+1·5+1·8+2·4+3·2 = 201; 201 mod 11 = 3 -> "9".
    assert v.id_number_check_char("37020319800101123") == "9"
    # All zeros: sum 0 -> "1"; a single 1 in the 2nd place: 9 mod 11 -> "3".
    assert v.id_number_check_char("0" * 17) == "1"
    assert v.id_number_check_char("01" + "0" * 15) == "3"
    # All ones: the weights add up to 100; 100 mod 11 = 1 -> "0".
    assert v.id_number_check_char("1" * 17) == "0"
    with pytest.raises(ValueError):
        v.id_number_check_char("3702031980010112")


def test_valid_male():
    parsed = v.parse_id_number("370203198001011239", today=TODAY)
    assert parsed == v.IdNumber(
        number="370203198001011239",
        region_code="370203",
        region_name="市北区",
        birth_date=date(1980, 1, 1),
        sex="male",
        legacy=False,
    )


def test_valid_female():
    number = make_id("370212", date(1995, 7, 31), 124)
    parsed = v.parse_id_number(number, today=TODAY)
    assert parsed.sex == "female"
    assert parsed.birth_date == date(1995, 7, 31)
    assert parsed.region_name == "崂山区"
    assert parsed.number == number


def x_number() -> str:
    """A valid number whose check character is X."""
    for sequence in range(1000):
        number = make_id("370203", date(1990, 5, 17), sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives X")


def test_lower_case_x_accepted():
    number = x_number()
    assert v.parse_id_number(" " + number.lower() + " ", today=TODAY).number == number


def test_full_width_and_spaces_normalised():
    number = x_number()
    typed = "\u3000" + full_width(number.lower()) + "  "
    assert not typed.strip().isascii()
    parsed = v.parse_id_number(typed, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == date(1990, 5, 17)


def test_legacy_15_digits_converted():
    parsed = v.parse_id_number("370203800101123", today=TODAY)
    # Hand-computed above: 37020319800101123 + check "9".
    assert parsed.number == "370203198001011239"
    assert parsed.legacy is True
    assert parsed.birth_date == date(1980, 1, 1)
    assert parsed.sex == "male"


@pytest.mark.parametrize("value", ["", "37020319800101123", "3702031980010112390", "37020380010112"])
def test_bad_length(value):
    error = id_refused(value)
    assert error.code == "id_length"
    assert str(len(value)) in error.messages[0]


@pytest.mark.parametrize(
    "value, position",
    [
        ("37020319800101123A", 18),
        ("3702031980O101123X", 11),  # letter O for zero
        ("37020380010112X", 15),  # no check character on a 15-digit number
        ("370203-98001011", 7),
    ],
)
def test_bad_characters(value, position):
    error = id_refused(value)
    assert error.code == "id_characters"
    assert error.params["position"] == position
    assert f"Character {position}," in error.messages[0]


def test_unknown_region():
    error = id_refused(make_id("990203", date(1980, 1, 1), 123))
    assert error.code == "id_region_unknown"
    assert "990203" in error.messages[0]


def test_region_abolished_before_birth_refused():
    # 370205 四方区 was merged into 市北区 in 2012.
    error = id_refused(make_id("370205", date(2015, 3, 1), 123))
    assert error.code == "id_region_abolished"
    assert "2012" in error.messages[0]
    assert "2015" in error.messages[0]


def test_region_abolished_after_birth_accepted():
    parsed = v.parse_id_number(make_id("370205", date(1980, 3, 1), 123), today=TODAY)
    assert parsed.region_name == "四方区"


def test_region_abolished_in_the_birth_year_accepted():
    # Still in force for part of 2012, so a 2012 birth may carry it; 2013 may not.
    assert v.parse_id_number(make_id("370205", date(2012, 3, 1), 123), today=TODAY).region_code == "370205"
    assert id_refused(make_id("370205", date(2013, 3, 1), 123)).code == "id_region_abolished"


def test_region_created_after_birth_accepted():
    # 330113 临平区 was created in 2021: someone born in 1980 may have registered there later.
    parsed = v.parse_id_number(make_id("330113", date(1980, 1, 1), 123), today=TODAY)
    assert parsed.region_name == "临平区"


def test_29_february_in_a_leap_year():
    assert v.parse_id_number(make_id("370203", date(2000, 2, 29), 123), today=TODAY).birth_date == date(2000, 2, 29)
    assert v.parse_id_number(make_id("370203", date(2024, 2, 29), 123), today=TODAY).birth_date == date(2024, 2, 29)


@pytest.mark.parametrize("first17", ["37020320230229123", "37020319000229123", "37020319801301123"])
def test_impossible_date_refused(first17):
    error = id_refused(first17 + "0")
    assert error.code == "id_birth_date"
    assert f"{first17[6:10]}-{first17[10:12]}-{first17[12:14]}" in error.messages[0]


def test_future_birth_refused():
    assert v.parse_id_number(make_id("370203", TODAY, 123), today=TODAY).birth_date == TODAY
    error = id_refused(make_id("370203", TODAY + timedelta(days=1), 123))
    assert error.code == "id_birth_future"


def test_future_birth_refused_against_the_real_date():
    assert refused(v.parse_id_number, make_id("370203", date(2999, 1, 1), 123)).code == "id_birth_future"


def test_birth_before_1900_refused():
    assert id_refused(make_id("370203", date(1899, 12, 31), 123)).code == "id_birth_too_early"


def test_wrong_check_character_refused():
    error = id_refused("370203198001011230")
    assert error.code == "id_check"
    assert error.params == {"expected": "9", "given": "0"}
    # The message does not tell the expected character: fitting it would hide the real typo.
    assert "does not match" in error.messages[0] and "9" not in error.messages[0]


def test_thousand_random_numbers_round_trip():
    rng = random.Random(20240601)
    timeline = v.region_timeline()
    codes = sorted(timeline)
    for _ in range(1000):
        code = rng.choice(codes)
        ends = [p.end_year for p in timeline[code]]
        last_year = TODAY.year if None in ends else min(max(ends), TODAY.year)
        birth = date(rng.randint(1900, last_year), 1, 1) + timedelta(days=rng.randint(0, 365))
        birth = min(birth, TODAY, date(last_year, 12, 31))
        sequence = rng.randint(0, 999)
        number = make_id(code, birth, sequence)
        parsed = v.parse_id_number(number, today=TODAY)
        assert (parsed.number, parsed.region_code, parsed.birth_date, parsed.legacy) == (number, code, birth, False)
        assert parsed.sex == ("male" if sequence % 2 else "female")
        assert parsed.region_name == v.region_name(code, birth.year)
        if birth.year < 2000:
            legacy = number[:6] + number[8:17]
            assert v.parse_id_number(legacy, today=TODAY).number == number


# --- Phones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008619912345678", "19912345678"),
        (full_width("15012345678"), "15012345678"),
        ("0532-88886666", "0532-88886666"),
        ("053288886666", "0532-88886666"),
        ("0532 8888666", "0532-8888666"),
        ("(0532)88886666", "0532-88886666"),
        ("010-62345678", "010-62345678"),
        ("02162345678", "021-62345678"),
        ("0532-88886666-123", "0532-88886666-123"),
        ("053288886666 转 8", "0532-88886666-8"),
        (full_width("0532-88886666"), "0532-88886666"),
        ("0532—88886666", "0532-88886666"),
    ],
)
def test_phone_accepted(value, expected):
    assert v.validate_phone(value) == expected


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "phone_characters"),
        ("138l2345678", "phone_characters"),
        ("1381234567", "phone_mobile"),
        ("12812345678", "phone_mobile"),
        ("+86 0532 88886666", "phone_international"),
        ("88886666", "phone_invalid"),
        ("+1 2025550123", "phone_invalid"),
        ("0532-888866", "phone_landline"),
        ("010-6234567", "phone_landline"),  # 3-digit area codes have 8-digit local numbers
        ("0532-08886666", "phone_landline"),
        ("0532-88886666-1234567", "phone_landline"),
        ("011-62345678", "phone_area_code"),
        ("0032-88886666", "phone_area_code"),
    ],
)
def test_phone_refused(value, code):
    assert refused(v.validate_phone, value).code == code


# --- Plates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, number, kind",
    [
        ("鲁B12345", "鲁B12345", "car"),
        ("鲁B·A1234", "鲁BA1234", "car"),
        ("京N AB123", "京NAB123", "car"),
        ("鲁b·1234５", "鲁B12345", "car"),
        (" 鲁" + full_width("b·12c45") + " ", "鲁B12C45", "car"),
        ("鲁B1234挂", "鲁B1234挂", "car"),
        ("鲁B1234学", "鲁B1234学", "car"),
        ("鲁B1234警", "鲁B1234警", "car"),
        ("粤Z·1234港", "粤Z1234港", "car"),
        ("京AD12345", "京AD12345", "new_energy"),
        ("京af·a1234", "京AFA1234", "new_energy"),
        ("沪A12345D", "沪A12345D", "new_energy"),
        ("沪A12345F", "沪A12345F", "new_energy"),
        ("青岛A12345", "青岛A12345", "ebike"),
        ("深圳 123456", "深圳123456", "ebike"),
    ],
)
def test_plate_accepted(value, number, kind):
    assert v.validate_plate(value) == v.Plate(number, kind)


def test_ebike_plate_shaped_like_a_car_plate():
    # The same characters are a car plate unless the caller knows it is an e-bike.
    assert v.validate_plate("鲁B·E1234", ebike=True) == v.Plate("鲁BE1234", "ebike")
    assert v.validate_plate("鲁B·E1234") == v.Plate("鲁BE1234", "car")
    assert refused(v.validate_plate, "A12345", ebike=True).code == "plate_ebike"
    assert refused(v.validate_plate, "青岛A12345", ebike=False).code == "plate_issuer"


@pytest.mark.parametrize(
    "value, code",
    [
        ("京AI2345", "plate_letters_io"),
        ("京A1O345", "plate_letters_io"),
        ("京AD1234O", "plate_letters_io"),
        ("京I12345", "plate_issuer"),
        ("中A12345", "plate_province"),
        ("港A12345", "plate_province"),
        ("京A1234", "plate_length"),
        ("京A1234567", "plate_length"),
        ("京A12#45", "plate_characters"),
        ("鲁BABC12", "plate_serial"),
        ("京A123456", "plate_new_energy"),
        ("京AA12345", "plate_new_energy"),
        ("京AD1A234", "plate_new_energy"),
        ("京A1234D5", "plate_new_energy"),
        ("鲁B123挂", "plate_length"),
        ("鲁B1234港", "plate_cross_border"),
    ],
)
def test_plate_refused(value, code):
    assert refused(v.validate_plate, value).code == code


def test_plate_io_message_names_the_letter():
    assert "“O”" in refused(v.validate_plate, "京A1O345").messages[0]


# --- Unified social credit codes ----------------------------------------------------------------------


def make_uscc(authority_type: str, region: str, body: str, org_check: str | None = None) -> str:
    """A USCC with a correct final check character (and a correct organisation-code check by default)."""
    org = body + (org_check if org_check is not None else v.org_code_check_char(body))
    first17 = authority_type + region + org
    return first17 + v.uscc_check_char(first17)


def test_check_functions_hand_computed():
    # GB 11714: weights 3 7 9 10 5 8 4 2; 11 - sum mod 11, 10 -> X, 11 -> 0.
    assert v.org_code_check_char("00000000") == "0"
    assert v.org_code_check_char("10000000") == "8"  # 3 -> 8
    assert v.org_code_check_char("40000000") == "X"  # 12 mod 11 = 1 -> 10
    assert v.org_code_check_char("A0000000") == "3"  # A = 10: 30 mod 11 = 8 -> 3
    assert v.org_code_check_char("11111111") == "7"  # weights add up to 48; 48 mod 11 = 4 -> 7
    # GB 32100: 31 - sum mod 31 over the 31-character alphabet.
    assert v.uscc_check_char("0" * 17) == "0"
    assert v.uscc_check_char("1" + "0" * 16) == "Y"  # 1 -> 30
    assert v.uscc_check_char("91" + "0" * 15) == "K"  # 9 + 3 = 12 -> 19
    assert v.uscc_check_char("1" * 17) == "5"  # weights add up to 305; 305 mod 31 = 26 -> 5


def test_uscc_valid():
    code = make_uscc("91", "370203", "MA3C1D2E")
    assert v.validate_uscc(code) == code
    assert v.validate_uscc(" " + full_width(code.lower()) + " ") == code


@pytest.mark.parametrize("authority_type", ["11", "12", "31", "51", "52", "53", "71", "92", "93", "N2", "Y1"])
def test_uscc_type_combinations_accepted(authority_type):
    code = make_uscc(authority_type, "370203", "12345678")
    assert v.validate_uscc(code) == code


def test_uscc_national_region_accepted():
    code = make_uscc("51", "100000", "50000012")
    assert v.validate_uscc(code) == code


def test_uscc_wrong_final_check():
    code = make_uscc("91", "370203", "MA3C1D2E")
    wrong = "0" if code[-1] != "0" else "1"
    error = refused(v.validate_uscc, code[:-1] + wrong)
    assert error.code == "uscc_check"
    assert error.params["expected"] == code[-1]
    assert "does not match" in error.messages[0]


def test_uscc_wrong_organisation_code_check():
    good = v.org_code_check_char("MA3C1D2E")
    bad = "0" if good != "0" else "1"
    error = refused(v.validate_uscc, make_uscc("91", "370203", "MA3C1D2E", org_check=bad))
    assert error.code == "uscc_org_check"
    assert error.params["expected"] == good
    assert "characters 9-17" in error.messages[0]


@pytest.mark.parametrize("authority_type", ["94", "14", "Y2", "A3"])
def test_uscc_bad_type_combination(authority_type):
    error = refused(v.validate_uscc, make_uscc(authority_type, "370203", "12345678"))
    assert error.code == "uscc_type"
    assert error.params["char"] == authority_type[1]


def test_uscc_bad_authority():
    assert refused(v.validate_uscc, make_uscc("B1", "370203", "12345678")).code == "uscc_authority"


def test_uscc_unknown_region():
    error = refused(v.validate_uscc, make_uscc("91", "990000", "12345678"))
    assert error.code == "uscc_region"
    assert "990000" in error.messages[0]


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_uscc_letter_not_in_alphabet(letter):
    code = make_uscc("91", "370203", "MA3C1D2E")
    error = refused(v.validate_uscc, code[:10] + letter + code[11:])
    assert error.code == "uscc_characters"
    assert error.params == {"position": 11, "char": letter}


def test_uscc_bad_length():
    assert refused(v.validate_uscc, "91370203MA3C1D2E").code == "uscc_length"
