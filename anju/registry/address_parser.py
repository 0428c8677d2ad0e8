"""Free-text Chinese addresses -> the fields of a standard address (标准地址, 一标三实's 一标).

A standard address is division (province > city > district > street 街道 > community 社区) > road 街路巷 >
door number 门牌号 > estate 小区 > building 楼栋 > unit 单元 > floor 层 > room 户室. `parse` reads the free
text people type into those fields, `score` compares a parsed address with a candidate standard address.

The parser is rule based, standard library only and deterministic: a normalising pass (full width to half
width, separators), a longest-path match of division names at the start of the text against a `Gazetteer`,
then one left-to-right pass that recognises road + door number, building, unit, floor and room markers.
Text between a door number (or the start) and the building part is the estate; words such as 附近 or 对面
and anything else not understood go to `leftover` and lower the confidence.
"""

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

FIELDS = (
    "province",
    "city",
    "district",
    "street",
    "community",
    "road",
    "door_number",
    "estate",
    "building",
    "unit",
    "floor",
    "room",
)
LEVELS = ("province", "city", "district", "street", "community")
_LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}
# anju.geo calls the third level "county".
_LEVEL_SYNONYMS = {"county": "district", "area": "district", "village": "community"}

DIVISION_DIR = Path(__file__).resolve().parent.parent / "geo" / "data" / "divisions"
# 四方区 was merged into 市北区 in 2012; residents and old records still write it.
HISTORICAL_ALIASES = {"370203": ("四方区",)}


@dataclass
class ParsedAddress:
    """The fields of one parsed address; absent fields are None.

    Numbers are normalised digit strings: building "3" (or a letter such as "B"), unit "2", floor "5"
    ("-1" for the first basement level), room "502" (or "5-2", or a side such as "东户"), door number
    "123", "12-1" or "12甲". `confidence` is the share of the text that was understood (0..1) and
    `leftover` the text that was not, pieces joined by a space.
    """

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    door_number: str | None = None
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    confidence: float = 0.0
    leftover: str = ""

    def as_dict(self) -> dict[str, str | None]:
        """The twelve address fields (no confidence or leftover), as `score` takes a candidate."""
        return {name: getattr(self, name) for name in FIELDS}


# --- Normalising ---------------------------------------------------------------------------------------

# After NFKC the full-width forms are already ASCII; these are the dashes NFKC leaves alone.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−~〜﹘﹣", "-"))
_SEPARATOR = re.compile(r"[^\w#-]|_")
_DIGIT_GAP = re.compile(r"(?<=\d)[ -]+(?=\d)")
_SPACE_BEFORE_MARKER = re.compile(r"(?<=\d) +(?=[号栋幢座楼单层室户房F#甲乙丙丁之])")
_SPACES = re.compile(r" {2,}")


def _prepare(text: str) -> str:
    """Normalised text that keeps one space where a separator stood between two non-digits.

    Those spaces are segment boundaries ("鲁邦国际，哈尔滨路70号" -> a new segment at 哈尔滨路);
    separators between two digits become "-" ("3 2 502", "3/2/502" -> "3-2-502"), and a space between a
    number and its marker goes ("285 号" -> "285号").
    """
    s = unicodedata.normalize("NFKC", text).upper().translate(_DASHES)
    s = _SEPARATOR.sub(" ", s)
    s = _DIGIT_GAP.sub("-", s)
    s = _SPACE_BEFORE_MARKER.sub("", s)
    return _SPACES.sub(" ", s).strip()


def normalize(text: str) -> str:
    """Canonical form of an address text.

    Full-width digits, letters, punctuation and the ideographic space become half width (NFKC); letters
    are upper-cased; dashes and tildes (－—–~～) become "-"; spaces and punctuation without meaning are
    dropped, except that a separator between two digits becomes "-" ("3 2 502" -> "3-2-502"). "#" and
    Chinese characters are kept.
    """
    return _prepare(text).replace(" ", "")


# --- Chinese numerals ----------------------------------------------------------------------------------

_CN_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
# Financial forms (大写), as on contracts and some household registers.
_CN_DIGITS |= {ch: i for i, ch in enumerate("壹贰叁肆伍陆柒捌玖", start=1)}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "拾": 10, "佰": 100, "仟": 1000}


def chinese_number(text: str) -> int | None:
    """The value of a number written in Chinese numerals, ASCII digits or a mix; None if not a number.

    Positional forms use 十/百/千 ("十二" 12, "二十三" 23, "一百零五" 105, "两百" 200); without them the
    digits are read one by one ("五零二" 502, "一二三" 123, "二〇一" 201). 两 is 2, 〇 and 零 are 0;
    the financial forms 壹贰叁肆伍陆柒捌玖拾佰仟 are read like their everyday counterparts.
    """
    if not text:
        return None
    if text.isascii():
        return int(text) if text.isdigit() else None
    values = []
    for ch in text:
        if ch in _CN_DIGITS:
            values.append(_CN_DIGITS[ch])
        elif ch in _CN_UNITS:
            values.append(-_CN_UNITS[ch])
        elif "0" <= ch <= "9":
            values.append(ord(ch) - 48)
        else:
            return None
    if all(v >= 0 for v in values):
        return int("".join(map(str, values)))
    total = current = 0
    for v in values:
        if v >= 0:
            current = v
        else:
            # A bare leading 十 is ten ("十二"); 零 only marks a gap ("一百零五").
            total += (current or 1) * -v
            current = 0
    return total + current


def _number(text: str) -> str:
    """Digit string of a building, unit or floor number ("03" -> "3", "十二" -> "12")."""
    value = chinese_number(text)
    return str(value) if value is not None else text


def _room_number(text: str) -> str:
    """Digit string of a room number; ASCII digits are kept as written (a room may be "0502")."""
    if text.isascii():
        return text
    value = chinese_number(text)
    return str(value) if value is not None else text


# --- Gazetteer -----------------------------------------------------------------------------------------

_FULL, _SHORT, _BARE = 0, 1, 2
_SUFFIXES = {
    "province": ("特别行政区", "自治区", "省", "市"),
    "city": ("自治州", "地区", "市", "盟"),
    "district": ("区", "县", "市"),
}
_COMMITTEE = re.compile(r"(?:社区)?(?:居民委员会|居委会)$")


@dataclass(frozen=True)
class Division:
    """One administrative division of a gazetteer."""

    code: str
    name: str
    level: str
    parent: str | None


class Gazetteer:
    """Division names by level, for recognising and completing the division part of addresses.

    Built from (code, name, level, parent_code) tuples; level is one of province, city, district (or
    county), street, community. Each division is matched by its full name and by common short forms:
    a province, city or district without its suffix (山东, 青岛, 市北), a street with 办事处 or 办, a
    community as "XX社区" (its official name ends in 居委会) or bare "XX" right after a district or
    street. `aliases` maps a code to further full names (such as a former district name). Street and
    community names that are road names (辽宁路街道, 大连路社区) also give a set of known `roads`, used
    to split run-together text such as "远洋风景同安路880号".
    """

    def __init__(
        self,
        divisions: Iterable[tuple[str, str, str, str | None]],
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.divisions: dict[str, Division] = {}
        self.roads: set[str] = set()
        self._forms: dict[str, list[tuple[str, str, int]]] = {}
        for code, name, level, parent in divisions:
            level = _LEVEL_SYNONYMS.get(level, level)
            if level not in _LEVEL_INDEX:
                raise ValueError(f"unknown division level {level!r} for {code} {name}")
            self.divisions[code] = Division(code, name, level, parent or None)
        for division in self.divisions.values():
            for form, kind in self._forms_of(division):
                self._add(form, division.code, kind)
        for code, names in (aliases or {}).items():
            for name in names:
                self._add(name, code, _FULL)
        for forms in self._forms.values():
            forms.sort(key=lambda f: -len(f[0]))
        self._ancestors = {code: self._chain(code) for code in self.divisions}

    def _forms_of(self, division: Division) -> list[tuple[str, int]]:
        name, level = division.name, division.level
        forms = [(name, _FULL)]
        for suffix in _SUFFIXES.get(level, ()):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                forms.append((name[: -len(suffix)], _SHORT))
                break
        if level == "street":
            forms += [(name + "办事处", _FULL), (name + "办", _FULL)]
            if name.endswith("街道") and name[-3:-2] in ("路", "街"):
                self.roads.add(name[:-2])
        elif level == "community":
            stem = _COMMITTEE.sub("", name)
            if stem != name:
                forms.append((stem + "社区", _FULL))
            if len(stem) >= 2:
                if stem[-1] in "路街":
                    self.roads.add(stem)
                elif stem[-1] not in "巷道":
                    forms.append((stem, _BARE))
        return forms

    def _add(self, form: str, code: str, kind: int) -> None:
        forms = self._forms.setdefault(form[0], [])
        if all(f[0] != form or f[1] != code for f in forms):
            forms.append((form, code, kind))

    def _chain(self, code: str) -> tuple[str, ...]:
        chain = []
        seen = set()
        while code and code in self.divisions and code not in seen:
            seen.add(code)
            chain.append(code)
            code = self.divisions[code].parent
        return tuple(reversed(chain))

    def forms_at(self, text: str, pos: int) -> list[tuple[str, str, int]]:
        """(form, code, kind) of every name form that `text` has at `pos`, longest first."""
        if pos >= len(text):
            return []
        return [f for f in self._forms.get(text[pos], ()) if text.startswith(f[0], pos)]

    def is_under(self, code: str, ancestor: str) -> bool:
        """True if `ancestor` is `code` or one of its ancestors."""
        return ancestor in self._ancestors.get(code, ())

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Codes from the top level down to `code` itself."""
        return self._ancestors.get(code, ())

    def display_name(self, code: str) -> str:
        """The name an address uses: communities as "XX社区" rather than "XX社区居委会"."""
        division = self.divisions[code]
        if division.level == "community":
            return _COMMITTEE.sub("", division.name) + "社区"
        return division.name


def read_gazetteer(folder: Path, aliases: Mapping[str, Iterable[str]] | None = None) -> Gazetteer:
    """A gazetteer from the five division files of anju.geo (provinces.csv ... villages.csv) in `folder`."""
    files = (
        ("provinces.csv", "province", None),
        ("cities.csv", "city", "provinceCode"),
        ("areas.csv", "district", "cityCode"),
        ("streets.csv", "street", "areaCode"),
        ("villages.csv", "community", "streetCode"),
    )
    rows = []
    for filename, level, parent_column in files:
        path = Path(folder) / filename
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for rec in csv.DictReader(fh):
                parent = (rec.get(parent_column) or "").strip() if parent_column else None
                rows.append((rec["code"].strip(), rec["name"].strip(), level, parent or None))
    return Gazetteer(rows, aliases)


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The vendored Shibei divisions (anju/geo/data/divisions/*.csv) with historical aliases; cached."""
    return read_gazetteer(DIVISION_DIR, HISTORICAL_ALIASES)


# --- Patterns ------------------------------------------------------------------------------------------

_CN = "零〇一二三四五六七八九十百两壹贰叁肆伍陆柒捌玖拾佰"
_NUM = rf"(?:\d+|[{_CN}]+)"
_CJK = r"\u4e00-\u9fff"
_CJK_CHAR = re.compile(rf"[{_CJK}]")

_PREFIX = re.compile(r"(?:户籍|居住|现|家庭|详细|联系|通讯)?(?:住址|地址)|家住|现住|居住在|住在|位于|住|在")
_GENERIC = {
    "province": re.compile(rf"[{_CJK}]{{2,3}}?省"),
    "city": re.compile(rf"[{_CJK}]{{2,4}}?市"),
    "district": re.compile(rf"[{_CJK}]{{2,3}}?[区县]"),
    "street": re.compile(rf"[{_CJK}]{{2,6}}?(?:街道|镇|乡)"),
}
_NOT_DISTRICT = ("小区", "社区", "园区", "校区", "新区", "城区", "片区")
# A short division name followed by these is the start of a road: 山东 + 路 is 山东路, not 山东省.
_ROAD_GOES_ON = re.compile(r"[一二三四五六七八九十东西南北中支]{0,2}(?:路|街|巷|大道)")

_ROAD = re.compile(rf"[{_CJK}]{{1,11}}?(?:大道|路|街|巷)")
_DOOR = re.compile(
    rf"({_NUM})(?:[-之](\d+))?([甲乙丙丁])?号"
    rf"(?: ?([甲乙丙丁])(?![号栋幢座楼单])|[-之](\d+)(?![\d号栋幢座#楼单层室户F-]))?(院内|大院|院)?"
)
# "敦化路328 海信慧园": a number straight after a road is its door number unless a marker follows.
_DOOR_BARE = re.compile(r"(\d+)(?:-(\d+))?([甲乙丙丁])?(?![\d号栋幢座#楼单层室户F-])")
_ESTATE_SUFFIXES = r"(?:小区|花园|家园|公寓|新村|宿舍|大厦|广场|华庭|[苑园城府湾里院庭])"
_ESTATE_END = re.compile(_ESTATE_SUFFIXES)
_ESTATE_TAIL = re.compile(_ESTATE_SUFFIXES + "$")
# Words that make a preceding road name part of an estate name ("南京路小区", "中海国际社区").
_ESTATE_WORD = re.compile(_ESTATE_SUFFIXES + "|社区")

_SHORTHAND = re.compile(r"(\d+)-(\d+)(?:-(\d+))?(?:室|户|号|房|(?![\d号栋幢座#楼单层F-]))")
_BUILDING = re.compile(rf"第?({_NUM}|[A-Z]\d*|\d+[A-Z])(?:号楼|栋|幢|座|#楼?)")
_BUILDING_HAO = re.compile(rf"第?({_NUM}|[A-Z]\d*)号(?!院)")
_UNIT = re.compile(rf"第?({_NUM}|[A-Z东西中])单元")
_FLOOR = re.compile(
    rf"第?({_NUM})(?:层|F)|[LF](\d{{1,2}})(?![\dA-Z栋幢座号单])"
    rf"|(?:负|地下)({_NUM})(?:层|楼)?|-(\d+)(?:层|楼|F)|B(\d{{1,2}})(?:层|楼|F)?(?![\dA-Z栋幢座号单])|地下室"
)
# "B1203": building B, room 1203 (a basement would be B1 or B2).
_LETTER_ROOM = re.compile(r"([A-Z])(\d{3,4})(?![\dA-Z号栋幢座#楼单层室户F-])")
_LOU = re.compile(rf"第?({_NUM})楼(?![下上道梯顶])")
_UNIT_AHEAD = re.compile(rf"[ -]*(?:{_NUM}|[A-Z])单元")
_ROOM = re.compile(rf"({_NUM})(?:室|户|号房|房间|房)")
_SIDE_ROOM = re.compile(r"([东西南北中])边?户")
_BARE_DIGITS = re.compile(r"\d+")
_BARE_CN = re.compile(rf"[{_CN}]+")
# Descriptors understood but not a field of their own.
# 里院 is the Qingdao courtyard house ("广兴里里院"): a kind of building, not part of the name.
_ABSORB = re.compile(r"商铺|底商|网点|门头房|门头|门市|店面|沿街房|里院")
# Where-abouts that are not part of an address: they and what follows go to leftover.
_NOISE = re.compile(
    r"附近|对面|旁边|隔壁|门口|门前|楼下|后面|后边|前面|东侧|西侧|南侧|北侧|东边|西边|南边|北边"
    r"|东门|西门|南门|北门|楼上|楼道|交叉口|交汇处|交界处|路口|一带|周边|旁"
)
_CONNECTORS = "与和及跟至"
_STRUCT_START = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ第负地东西南北中-" + _CN)


# --- Parsing -------------------------------------------------------------------------------------------


class _Parse:
    """One parse: the text, the fields found so far and the not-yet-assigned text."""

    def __init__(self, text: str, gazetteer: Gazetteer) -> None:
        self.s = text
        self.gaz = gazetteer
        self.out = ParsedAddress()
        self.codes: dict[str, str] = {}  # level -> gazetteer code of a recognised division
        self.pending = ""
        self.leftover: list[str] = []
        self.guessed = 0  # characters of an estate name inferred from position alone
        self.last = ""  # kind of the last token: div, road, door, building, unit, floor, room

    # Divisions ------------------------------------------------------------------------------------

    def divisions(self, pos: int) -> int:
        """Match the longest chain of division names from `pos`; returns the position after it."""
        _, chain, end = self._chain(pos, -1, None, False)
        for level, code, name in chain:
            self._set_division(level, code, name)
        return end if chain else pos

    def _chain(self, pos: int, depth: int, parent: str | None, generic_parent: bool) -> tuple[float, list, int]:
        """Best (score, [(level, code, name)], end) of division names from `pos` below level `depth`.

        The score is the number of characters matched, less 0.1 per short form and 0.5 per name known
        only by its suffix, so "青岛市北区" reads 青岛 + 市北区 rather than 青岛市 + "北区".
        """
        s, gaz = self.s, self.gaz
        while pos < len(s) and s[pos] == " ":
            pos += 1
        best: tuple[float, list, int] = (0.0, [], pos)
        options = []
        if not generic_parent:
            for form, code, kind in gaz.forms_at(s, pos):
                division = gaz.divisions[code]
                level = _LEVEL_INDEX[division.level]
                if level <= depth or (parent and not gaz.is_under(code, parent)):
                    continue
                end = pos + len(form)
                if kind != _FULL and _ROAD_GOES_ON.match(s, end):
                    continue
                # A bare community name ("贮水山") only right after a district or street, before a road.
                if kind == _BARE and (depth < _LEVEL_INDEX["district"] or not self._road_door_at(end)):
                    continue
                penalty = 0.0 if kind == _FULL else 0.1
                options.append((division.level, code, gaz.display_name(code), end, level, penalty, False))
        for level_name, pattern in _GENERIC.items():
            level = _LEVEL_INDEX[level_name]
            # Generic names only directly below a recognised level, so "都市华庭" is never a city.
            if level != depth + 1 or (level > 0 and depth < 0):
                continue
            m = pattern.match(s, pos)
            if not m or (level_name == "district" and m.group().endswith(_NOT_DISTRICT)):
                continue
            options.append((level_name, None, m.group(), m.end(), level, 0.5, True))
        for level_name, code, name, end, level, penalty, generic in options:
            score, chain, after = self._chain(end, level, code or parent, generic)
            score += end - pos - penalty
            if score > best[0]:
                best = (score, [(level_name, code, name), *chain], after)
        return best

    def _road_door_at(self, pos: int) -> bool:
        """True at the end of the text, a break, or a road followed by a door number."""
        if pos >= len(self.s) or self.s[pos] == " ":
            return True
        m = _ROAD.match(self.s, pos)
        return bool(m and _DOOR.match(self.s, m.end() + (self.s.startswith(" ", m.end()))))

    def _set_division(self, level: str, code: str | None, name: str) -> None:
        if getattr(self.out, level) is None:
            setattr(self.out, level, name)
            if code:
                self.codes[level] = code

    def explicit_division(self, pos: int) -> int:
        """A street or community named with its suffix anywhere in the text; returns the end or `pos`."""
        for form, code, kind in self.gaz.forms_at(self.s, pos):
            division = self.gaz.divisions[code]
            if kind != _FULL or division.level not in ("street", "community"):
                continue
            if any(not self._consistent(code, c) for c in self.codes.values()):
                continue
            self.flush()
            self._set_division(division.level, code, self.gaz.display_name(code))
            self.last = "div"
            return pos + len(form)
        return pos

    def _consistent(self, code: str, other: str) -> bool:
        return self.gaz.is_under(code, other) or self.gaz.is_under(other, code)

    def complete_divisions(self) -> None:
        """Fill the levels above the deepest recognised division from the gazetteer."""
        for level in reversed(LEVELS):
            code = self.codes.get(level)
            if code:
                for ancestor in self.gaz.ancestors(code):
                    division = self.gaz.divisions[ancestor]
                    if getattr(self.out, division.level) is None:
                        setattr(self.out, division.level, self.gaz.display_name(ancestor))
                return

    # Roads ----------------------------------------------------------------------------------------

    def road(self, pos: int) -> int:
        """Road (+ door number) at `pos`; returns the end, or `pos` if there is none."""
        s = self.s
        m = _ROAD.match(s, pos)
        if not m:
            return pos
        name, end = m.group(), m.end()
        if name.endswith("街") and s.startswith("道", end):
            return pos
        if _ESTATE_WORD.match(s, end):
            # "南京路小区" is an estate named after the road.
            self.pending += name
            return end
        split = self._road_split(name)
        if split:
            self.pending += name[:split]
            name = name[split:]
        at = end + 1 if s.startswith(" ", end) else end
        door = _DOOR.match(s, at) or _DOOR_BARE.match(s, at)
        if door and not door.group():
            door = None
        self.flush()
        self.out.road = name
        self.last = "road"
        if door:
            number = door.group(1) if door.group(1).isdigit() else _number(door.group(1))
            sub = door.group(2) or (door.group(5) if door.re is _DOOR else None)
            if sub:
                number += "-" + sub
            suffix = door.group(3) or (door.group(4) if door.re is _DOOR else None)
            self.out.door_number = number + (suffix or "")
            self.last = "door"
            end = door.end()
        return end

    def _road_split(self, name: str) -> int:
        """Where an estate name run into a road name ends (0: it does not), "海信慧园敦化路" -> 4."""
        if len(name) < 5:
            return 0
        roads = self.gaz.roads
        for start in range(3, len(name) - 2):
            if name[start:] in roads:
                return start
        best = 0
        for m in _ESTATE_END.finditer(name):
            if m.end() >= 2 and len(name) - m.end() >= 3:
                best = m.end()
        return best

    # Building, unit, floor, room --------------------------------------------------------------------

    def structure(self, pos: int) -> int:
        """A building, unit, floor or room token at `pos`; returns the end, or `pos` if there is none."""
        s, out = self.s, self.out
        m = _SHORTHAND.match(s, pos)
        if m:
            return self._shorthand(m)
        m = _LETTER_ROOM.match(s, pos)
        if m and out.building is None and out.room is None:
            self.flush()
            out.building = m.group(1)
            return self._set("room", m.group(2), m.end())
        m = _BUILDING.match(s, pos)
        if m and out.building is None:
            return self._set("building", _number(m.group(1)), m.end())
        m = _UNIT.match(s, pos)
        if m and out.unit is None:
            return self._set("unit", _number(m.group(1)), m.end())
        m = _FLOOR.match(s, pos)
        # "1203-12楼": a dash after a digit separates, it is no minus sign.
        if m and out.floor is None and not (s[pos] == "-" and pos and s[pos - 1].isdigit()):
            if m.group(1) or m.group(2):
                floor = _number(m.group(1) or m.group(2))
            else:
                floor = "-" + _number(m.group(3) or m.group(4) or m.group(5) or "1")
            return self._set("floor", floor, m.end())
        m = _LOU.match(s, pos)
        if m:
            # "3楼2单元": a 楼 number before a unit is a building, otherwise a floor ("1单元3楼").
            if out.building is None and out.unit is None and _UNIT_AHEAD.match(s, m.end()):
                return self._set("building", _number(m.group(1)), m.end())
            if out.floor is None:
                return self._set("floor", _number(m.group(1)), m.end())
        m = _ROOM.match(s, pos)
        if m and out.room is None:
            return self._set("room", _room_number(m.group(1)), m.end())
        m = _BUILDING_HAO.match(s, pos)
        if m:
            # "都市华庭3号2单元": 号 is the building until a building, unit or floor is known, then the room.
            if out.building is None and out.unit is None and out.floor is None and out.room is None:
                return self._set("building", _number(m.group(1)), m.end())
            if out.room is None and m.group(1)[0] not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
                return self._set("room", _room_number(m.group(1)), m.end())
        m = _SIDE_ROOM.match(s, pos)
        if m and out.room is None and self.last in ("building", "unit", "floor"):
            return self._set("room", m.group(1) + "户", m.end())
        if s[pos] in "东西中" and self.last == "floor" and out.room is None and self._ends_token(pos + 1):
            # "3楼西": the west flat of the floor.
            return self._set("room", s[pos] + "户", pos + 1)
        if out.room is None and not self.pending:
            m = _BARE_DIGITS.match(s, pos)
            if m and self.last in ("door", "building", "unit", "floor") and self._ends_token(m.end()):
                return self._set("room", m.group(), m.end())
            m = _BARE_CN.match(s, pos)
            if m and self.last in ("building", "unit", "floor") and self._ends_token(m.end()):
                value = chinese_number(m.group())
                if value is not None:
                    return self._set("room", str(value), m.end())
        return pos

    def _ends_token(self, end: int) -> bool:
        s = self.s
        return end >= len(s) or s[end] in " -" or bool(_NOISE.match(s, end) or _ABSORB.match(s, end))

    def _shorthand(self, m: re.Match) -> int:
        self.flush()
        out = self.out
        a, b, c = m.group(1), m.group(2), m.group(3)
        if c is not None:
            # building-unit-room, "3-2-502"
            if out.building is None and out.unit is None:
                out.building, out.unit = _number(a), _number(b)
                return self._set("room", c, m.end())
            return m.start()
        if out.room is not None:
            return m.start()
        if len(a) >= 3 and len(b) >= 3:
            # "502-503", "1203-1205": a list or range of rooms; keep the first, the rest is leftover.
            return self._set("room", a, m.start() + len(a))
        if out.unit is None and len(b) >= 3:
            if out.building is None:
                # "3-502" with no building before: building 3, room 502.
                out.building = _number(a)
            else:
                # "3号楼2-502": unit 2, room 502.
                out.unit = _number(a)
            return self._set("room", b, m.end())
        # "5-2": room 2 on floor 5, kept as written.
        return self._set("room", f"{a}-{b}", m.end())

    def _set(self, name: str, value: str, end: int) -> int:
        self.flush()
        setattr(self.out, name, value)
        self.last = name
        return end

    # Leftover text -----------------------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        """Assign the pending text: an estate name if it can be one, otherwise leftover.

        `final` is the flush at the end of the text, where nothing after the name confirms it.
        """
        text, self.pending = self.pending, ""
        if not text:
            return
        noise = _NOISE.search(text)
        head, tail = (text[: noise.start()], text[noise.start() :]) if noise else (text, "")
        out = self.out
        started = out.building or out.unit or out.floor or out.room
        if head and head[0] in _CONNECTORS and ("路" in head or "街" in head):
            # "辽宁路与威海路交叉口": the second road of a crossing is not an estate.
            head, tail = "", head + tail
        if (
            head
            and out.estate is None
            and not started
            and len(head) >= 2
            and not any(c.isdigit() for c in head)
            and _CJK_CHAR.search(head)
        ):
            out.estate = head
            if final and self.last not in ("road", "door") and not _ESTATE_TAIL.search(head):
                # A name alone, with no door number before it, no building after it and no 小区/苑...
                # suffix, may be anything: only half of it counts as understood.
                self.guessed = len(head)
        elif head:
            self.leftover.append(head)
        if tail:
            self.leftover.append(tail)

    def run(self) -> ParsedAddress:
        """Parse the whole text."""
        s, n = self.s, len(self.s)
        i = 0
        m = _PREFIX.match(s)
        if m:
            i = m.end()
        i = self.divisions(i)
        segment_start = True
        while i < n:
            ch = s[i]
            if ch == " ":
                segment_start = True
                i += 1
                continue
            j = self.explicit_division(i)
            if (
                j == i
                and self.out.road is None
                and self.out.door_number is None
                and (segment_start or not self.pending)
            ):
                j = self.road(i)
            if j == i and ch in _STRUCT_START:
                j = self.structure(i)
            if j == i:
                m = _ABSORB.match(s, i)
                if m:
                    j = m.end()
            if j == i:
                # A dash or # left over between tokens is only a separator.
                if ch not in "-#":
                    self.pending += ch
                j = i + 1
            segment_start = False
            i = j
        self.flush(final=True)
        self.complete_divisions()
        out = self.out
        if out.floor is None and out.room:
            out.floor = _floor_of_room(out.room)
        total = len(s.replace(" ", ""))
        left = sum(len(piece) for piece in self.leftover) + self.guessed / 2
        found = any(getattr(out, name) is not None for name in FIELDS)
        out.confidence = round(1 - left / total, 3) if total and found else 0.0
        out.leftover = " ".join(self.leftover)
        return out


def _floor_of_room(room: str) -> str | None:
    """Floor implied by a room number: the digits before the last two of a 3-4 digit room, or the first
    part of "5-2"."""
    if room.isdigit() and 3 <= len(room) <= 4:
        return str(int(room[:-2]))
    first, sep, rest = room.partition("-")
    if sep and first.isdigit() and rest.isdigit():
        return str(int(first))
    return None


def parse(text: str, known: Gazetteer | None = None) -> ParsedAddress:
    """Parse a free-text Chinese address into the fields of a standard address.

    `known` is the gazetteer of divisions (default: `default_gazetteer()`, the vendored Shibei files).
    Divisions are read from the start of the text, by full or short name ("市北区", "市北", "贮水山社区",
    "贮水山" after a street); missing higher levels are filled from the deepest recognised division, so
    "辽宁路街道贮水山社区..." gives 山东省 青岛市 市北区 as well. Divisions outside the gazetteer are read
    by their suffix (省, 市, 区/县, 街道) when they follow a known level ("青岛市李沧区").

    Door number: 123号, 12-1号, 12甲号 and 12号甲 (-> "12甲"), 6号之1 (-> "6-1"), 12号院 (-> "12"), or a
    bare number right after the road. Building: 3号楼, 3栋, 3幢, 3#, B座, 三号楼, and "3号" or "3楼"
    before a unit. Unit: 2单元, 东单元. Floor: 5层, 五楼, 5F, L3; basements 负一层, 地下一层, -1层, B1,
    地下室 -> "-1". Room: 502室, 502户, 502房, bare 502 after a door number, building, unit or floor,
    spoken digits 五零二, a side (东户, "3楼西"), or B1203 (building B, room 1203). Shorthand after a door
    number or estate: "3-2-502" is building-unit-room; "2-502" is unit-room after a building, building-
    room otherwise; "5-2" (short second part) is kept as room "5-2".

    When no floor is written, it is inferred from a room of 3-4 digits (502 -> 5, 1203 -> 12) or from
    "5-2" (-> 5).
    """
    gazetteer = default_gazetteer() if known is None else known
    return _Parse(_prepare(text), gazetteer).run()


# --- Matching ------------------------------------------------------------------------------------------

# Road + door number and building/unit/room pin an address down; divisions only confirm it.
WEIGHTS = {
    "road": 3.0,
    "door_number": 3.0,
    "building": 2.0,
    "unit": 1.5,
    "room": 2.0,
    "estate": 1.5,
    "floor": 0.5,
    "community": 0.5,
    "street": 0.5,
    "district": 0.5,
    "city": 0.25,
    "province": 0.25,
}
_ESTATE_SUFFIX = re.compile(r"(?:小区|花园|家园|公寓|新村|宿舍|社区)$")


def _field(candidate, name: str):
    if isinstance(candidate, Mapping):
        return candidate.get(name)
    return getattr(candidate, name, None)


def _similarity(name: str, a: str, b: str) -> float:
    if a == b:
        return 1.0
    if name == "estate":
        a, b = _ESTATE_SUFFIX.sub("", a), _ESTATE_SUFFIX.sub("", b)
        return 1.0 if a == b else SequenceMatcher(None, a, b).ratio() * 0.8
    if name == "door_number":
        # 12 against 12-1 or 12甲: the same street frontage, another door.
        base_a, base_b = re.match(r"\d*", a).group(), re.match(r"\d*", b).group()
        return 0.5 if base_a and base_a == base_b else 0.0
    return 0.0


def score(parsed, candidate) -> float:
    """Similarity (0..1) of a parsed address to a candidate standard address.

    Both may be a ParsedAddress, a mapping or any object with the field names of FIELDS. Each field the
    parsed address has counts with its weight in WEIGHTS: road and door number 3 each, building 2, room 2,
    unit 1.5, estate 1.5, floor 0.5, street/community/district 0.5 each, city and province 0.25 each. A
    field scores 1 if equal, 0 if different or missing in the candidate; estates compare without their
    小区/花园... suffix and otherwise by character overlap (at most 0.8); a door number with the same
    base number ("12" against "12-1") scores 0.5. Fields the parsed address lacks are not counted, so a
    partial address can still match a complete candidate fully. The result is the weighted mean.
    """
    total = got = 0.0
    for name, weight in WEIGHTS.items():
        value = _field(parsed, name)
        if not value:
            continue
        total += weight
        other = _field(candidate, name)
        if other:
            got += weight * _similarity(name, str(value), str(other))
    return round(got / total, 4) if total else 0.0


__all__ = [
    "FIELDS",
    "LEVELS",
    "WEIGHTS",
    "Division",
    "Gazetteer",
    "ParsedAddress",
    "chinese_number",
    "default_gazetteer",
    "normalize",
    "parse",
    "read_gazetteer",
    "score",
]
