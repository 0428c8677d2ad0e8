"""Importing people, houses, residences and organizations from a CSV or XLSX file, all or nothing.

Every row is checked first (the same cleaning as the forms, and the importer's scope), and every fault
is listed as {row, field, message}; one fault refuses the whole file and nothing is written. A clean
file is written in one transaction, in bulk.

Rows are matched to stored records by natural key, so importing the same file again creates nothing
and changes nothing:

- people: ID number, or nationality + passport number;
- houses: the standard address (community code + address parts);
- residences: person + house + move-in date;
- organizations: unified social credit code, else name + address.

A matched record takes the file's non-empty cells (an empty cell never erases a stored value); as in
`records.propose_change`, a verified record changed by someone who may not verify there keeps its
values and the change waits in `pending`. New records get channel "import", and are verified at once
only where the importer may verify (`records.stamp_collected`).

A people row may also say where the person lives: the address columns name a house (registered
already, e.g. by a houses import), with 关系 (relation) and 入住日期 (moved in); the residence is then
created or matched as in a residences import, and the person is filed where they live.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit, scope
from anju.core.errors import Conflict, InvalidField
from anju.core.roles import Perm
from anju.geo.models import Division, Grid, Level
from anju.registry import cleaning
from anju.registry.actions.records import (
    address_key,
    address_label,
    apply_fields,
    building_parts,
    plain,
    stamp_collected,
)
from anju.registry.models import (
    Address,
    Building,
    Channel,
    House,
    HouseUse,
    Organization,
    Person,
    PersonKind,
    Relation,
    Residence,
    Revision,
    Status,
    record_type,
)
from anju.registry.spreadsheets import Column, fault, read_table, write_xlsx

BATCH = 1000
# SQLite allows at most 32,766 parameters in one query: look keys up in slices well below that.
LOOKUP_SLICE = 2000

# --- Columns ---------------------------------------------------------------------------------------

ADDRESS_COLUMNS = [
    Column("community", "社区编码", ("社区代码", "community_code"), required=True),
    Column("grid", "网格编码", ("网格代码", "grid_code")),
    Column("road", "街路巷", ("街路巷名", "道路")),
    Column("door_number", "门牌号"),
    Column("estate", "小区", ("小区名称",)),
    Column("building", "楼栋", ("楼栋号", "楼号")),
    Column("unit", "单元", ("单元号",)),
    Column("floor", "楼层"),
    Column("room", "户室", ("户室号", "室号", "房间号")),
]
ADDRESS_FIELDS = tuple(c.field for c in ADDRESS_COLUMNS[2:])

IDENTITY_COLUMNS = [
    Column("id_number", "身份证号", ("公民身份号码", "身份证号码", "证件号码")),
    Column("nationality", "国籍"),
    Column("passport_number", "护照号", ("护照号码",)),
]

PERSON_KINDS = {"户籍": "registered", "户籍人口": "registered", "常住": "registered"}
PERSON_KINDS |= {"流动": "floating", "流动人口": "floating", "境外": "foreign", "境外人员": "foreign"}
RELATIONS = {"房主": "owner", "业主": "owner", "户主": "owner", "家属": "family", "家庭成员": "family"}
RELATIONS |= {"租户": "tenant", "租客": "tenant", "承租人": "tenant", "宿舍": "dormitory", "员工宿舍": "dormitory"}
RELATIONS |= {"亲友": "relative", "借住": "relative", "其他": "other"}
HOUSE_USES = {"自住": "self", "出租": "rented", "空置": "vacant", "闲置": "vacant", "经营": "business"}
HOUSE_USES |= {"商用": "business", "其他": "other", "未知": "unknown"}
ORG_KINDS = {"商铺": "shop", "商店": "shop", "旅馆": "hotel", "宾馆": "hotel", "酒店": "hotel"}
ORG_KINDS |= {"餐馆": "restaurant", "饭店": "restaurant", "餐饮": "restaurant", "娱乐场所": "venue"}
ORG_KINDS |= {"学校": "school", "幼儿园": "school", "企业": "employer", "公司": "employer", "市场": "market"}
ORG_KINDS |= {"医院": "hospital", "诊所": "hospital", "机关": "government", "事业单位": "government"}
ORG_KINDS |= {"其他": "other"}

MOVE_COLUMNS = [
    Column("relation", "关系", ("与房屋关系", "居住关系"), values=RELATIONS),
    Column("start", "入住日期", ("入住时间",)),
]

PERSON_COLUMNS = [
    Column("name", "姓名", required=True),
    IDENTITY_COLUMNS[0],
    Column("kind", "人员类别", ("人口类别", "类别"), values=PERSON_KINDS),
    Column("sex", "性别", values={"男": "male", "女": "female"}),
    Column("birth_date", "出生日期"),
    *IDENTITY_COLUMNS[1:],
    Column("phone", "联系电话", ("手机号", "手机号码", "电话")),
    Column("ethnicity", "民族"),
    Column("hukou_place", "户籍地", ("户籍地址",)),
    Column("residence_permit", "居住证号"),
    Column("residence_permit_until", "居住证有效期", ("居住证有效期至",)),
]
ORGANIZATION_COLUMNS = [
    Column("name", "单位名称", ("名称",), required=True),
    Column("uscc", "统一社会信用代码", ("信用代码",)),
    Column("kind", "单位类型", ("类型",), values=ORG_KINDS),
    Column("legal_representative", "法定代表人", ("法人",)),
    Column("phone", "联系电话", ("电话",)),
    Column("key_unit", "重点单位"),
    Column("employees", "从业人数", ("员工人数",)),
]
PERSON_FIELDS = [c.field for c in PERSON_COLUMNS]
IDENTITY_FIELDS = [c.field for c in IDENTITY_COLUMNS]
ORGANIZATION_FIELDS = [c.field for c in ORGANIZATION_COLUMNS]

COLUMNS: dict[str, list[Column]] = {
    "people": [*PERSON_COLUMNS, *ADDRESS_COLUMNS, *MOVE_COLUMNS],
    "houses": [
        *ADDRESS_COLUMNS,
        Column("use", "房屋用途", ("用途",), values=HOUSE_USES),
        Column("area_m2", "面积", ("建筑面积", "面积㎡")),
        Column("hazards", "隐患", ("安全隐患",)),
    ],
    "residences": [
        *IDENTITY_COLUMNS,
        *ADDRESS_COLUMNS,
        *MOVE_COLUMNS[:1],
        Column("start", "入住日期", ("入住时间",), required=True),
        Column("end", "迁出日期", ("迁出时间",)),
        Column("reason", "入住原因", ("原因",)),
    ],
    "organizations": [*ORGANIZATION_COLUMNS, *ADDRESS_COLUMNS],
}
KINDS = tuple(COLUMNS)
# Columns written as text in the templates, so that Excel keeps every digit.
TEXT_FIELDS = {"id_number", "passport_number", "phone", "community", "grid", "uscc", "residence_permit", "room"}


def check_kind(kind: str, allowed: Iterable[str] = KINDS) -> str:
    """`kind` if it is one of `allowed` (the import kinds by default), else a 422 naming the field."""
    if kind not in allowed:
        raise InvalidField("kind", _("Unknown kind “%(k)s”; allowed: %(a)s.") % {"k": kind, "a": ", ".join(allowed)})
    return kind


def column_label(kind: str, field_name: str) -> str:
    """The Chinese header of a field of `kind` (a header the file had but nobody knows stays as it is)."""
    return next((c.label for c in COLUMNS[kind] if c.field == field_name), field_name)


def write_template(kind: str, out) -> None:
    """An empty sheet for `kind` with the Chinese headers, ready for a clerk to fill in."""
    columns = COLUMNS[check_kind(kind)]
    text = [i for i, c in enumerate(columns) if c.field in TEXT_FIELDS]
    write_xlsx(out, kind, [c.label for c in columns], [], text_columns=text)


# --- Result ----------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did: rows read, rows that created / changed / left a record, or the faults."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def _fetch(queryset, lookup: str, values: Iterable) -> list:
    """The rows of `queryset` whose `lookup` is among `values`, asked for in slices."""
    values = sorted(set(values))
    found = []
    for i in range(0, len(values), LOOKUP_SLICE):
        found.extend(queryset.filter(**{f"{lookup}__in": values[i : i + LOOKUP_SLICE]}))
    return found


def _given(data: dict, names: Iterable[str]) -> dict:
    """The non-empty cells among `names`."""
    return {n: data[n] for n in names if data.get(n) not in (None, "")}


def _building_of(address: Address) -> tuple[str, dict]:
    """The key and parts of the building address a room-level address lies in."""
    parts = building_parts({n: getattr(address, n) for n in Address.PARTS})
    return address_key(address.community_id, parts), parts


@dataclass
class _Spot:
    """A standard address named by a row: its key and where it lies."""

    key: str
    parts: dict
    community: Division
    grid: Grid | None
    path: str


# --- The import ------------------------------------------------------------------------------------


class _Import:
    """One file's rows checked against the registry, then written in bulk.

    `check()` fills `errors` (nothing is written); `write()` stores what the check planned.
    """

    def __init__(self, actor, kind: str, filename: str, rows: list[tuple[int, dict]]):
        self.actor, self.kind, self.filename, self.rows = actor, kind, filename, rows
        self.now = timezone.now()
        self.errors: list[dict] = []
        self.outcomes: dict[str, int] = defaultdict(int)
        self.new: dict[type, list] = defaultdict(list)  # model -> records to create
        self.changed: dict[type, dict] = defaultdict(dict)  # model -> {pk: record}
        self.changed_fields: dict[type, set] = defaultdict(set)
        self.history: list[tuple] = []  # (record, changes, note) -> one Revision each
        self.new_addresses: dict[str, Address] = {}
        self._load_places()

    # -- Scope and places

    def may(self, path: str) -> bool:
        return self.actor is None or scope.has_perm(self.actor, Perm.REGISTRY_MANAGE, path)

    def _load_places(self) -> None:
        codes = {str(d.get("community", "")) for _n, d in self.rows}
        self.communities = {d.code: d for d in _fetch(Division.objects.filter(level=Level.COMMUNITY), "code", codes)}
        grids = {str(d["grid"]) for _n, d in self.rows if d.get("grid")}
        self.grids = {g.code: g for g in _fetch(Grid.objects.all(), "code", grids)}

    def spot(self, data: dict, *, address: bool = True) -> _Spot:
        """Where a row lies: its community (and grid) in the importer's scope, and its address parts."""
        code = str(data.get("community", ""))
        community = self.communities.get(code)
        grid = None
        if data.get("grid"):
            grid = self.grids.get(str(data["grid"]))
            if grid is None or community is None or grid.community_id != code or not self.may(grid.path):
                raise InvalidField(
                    "grid",
                    _("The grid %(g)s is unknown, outside your area or not in community %(c)s.")
                    % {"g": data["grid"], "c": code},
                )
        elif community is None or not self.may(community.path):
            raise InvalidField(
                "community", _("The community %(c)s is unknown or outside your area.") % {"c": code or "—"}
            )
        parts = cleaning.clean_address_parts(data) if address else {}
        return _Spot(address_key(code, parts), parts, community, grid, (grid or community).path)

    def address_for(self, spot: _Spot, existing: Address | None) -> Address:
        """The stored address at `spot`, or one made for this import (once per key)."""
        if existing is not None:
            return existing
        if spot.key not in self.new_addresses:
            self.new_addresses[spot.key] = Address(
                community=spot.community,
                grid=spot.grid,
                path=spot.path,
                key=spot.key,
                label=address_label(spot.community, spot.parts),
                **spot.parts,
            )
        return self.new_addresses[spot.key]

    def addresses(self, keys: Iterable[str]) -> dict[str, Address]:
        return {a.key: a for a in _fetch(Address.objects.select_related("community", "grid"), "key", keys)}

    def houses(self, keys: Iterable[str]) -> dict[str, House]:
        return {h.address.key: h for h in _fetch(House.objects.select_related("address", "grid"), "address__key", keys)}

    def check_record_scope(self, record, field_name: str) -> None:
        if not self.may(record.path):
            raise InvalidField(field_name, _("This record is registered already, outside your area."))

    # -- Planning

    def create(self, record, changes: dict) -> None:
        """Plan a new record: channel "import", verified only where the importer may verify."""
        stamp_collected(self.actor, record, Channel.IMPORT)
        self.new[type(record)].append(record)
        self.history.append((record, changes, _("imported from %(f)s") % {"f": self.filename}))

    def change(self, record, fields: dict, *, propose: bool = True) -> bool:
        """Apply the changed fields, or (`propose`) let them wait for verification where the importer
        may not verify and the record is verified; False when nothing changes."""
        verifier = self.actor is None or scope.has_perm(self.actor, Perm.REGISTRY_VERIFY, record.path)
        if verifier or not propose or record.status == Status.PENDING:
            changes = apply_fields(record, fields)
            touched = set(changes)
            note = _("changed by import from %(f)s")
        else:
            proposed = {
                f: plain(v) for f, v in fields.items() if getattr(record, f) != v and record.pending.get(f) != plain(v)
            }
            changes = {f: (getattr(record, f), v) for f, v in proposed.items()}
            record.pending = {**record.pending, **proposed}
            touched = {"pending"} if proposed else set()
            note = _("change proposed by import from %(f)s, waiting for verification")
        if not changes:
            return False
        if not verifier and propose:
            record.collected_by, record.collected_at = self.actor, self.now
            touched |= {"collected_by", "collected_at"}
        record.updated_at = self.now
        self.changed[type(record)][record.pk] = record
        self.changed_fields[type(record)] |= touched | {"updated_at"}
        self.history.append((record, changes, note % {"f": self.filename}))
        return True

    def check(self) -> None:
        """Check every row, recording each fault, and plan the writes."""
        {
            "people": self._plan_people,
            "houses": self._plan_houses,
            "residences": self._plan_residences,
            "organizations": self._plan_organizations,
        }[self.kind]()

    def rows_checked(self, clean) -> list[tuple[int, object]]:
        """(row, cleaned) for the rows `clean` accepts; the others' faults are recorded, every faulty
        cell of a row: a faulty cell is left out and the row checked again, until a fault repeats or
        none is left, so that a clerk fixes a row in one go."""
        out = []
        for number, data in self.rows:
            row, faults = dict(data), []
            while True:
                try:
                    cleaned = clean(row)
                except InvalidField as exc:
                    if any(f["field"] == exc.field for f in faults):
                        break
                    faults.append(fault(number, exc.field, str(exc)))
                    if exc.field not in row:
                        break
                    del row[exc.field]
                    continue
                if not faults:
                    out.append((number, cleaned))
                break
            self.errors.extend(faults)
        return out

    def once(self, seen: dict, key, number: int, field_name: str) -> bool:
        """False, with a fault, if an earlier row of the file has the same key."""
        if key in seen:
            self.errors.append(fault(number, field_name, _("Same record as row %(r)d.") % {"r": seen[key]}))
            return False
        seen[key] = number
        return True

    def outcome(self, what: str) -> None:
        self.outcomes[what] += 1

    # -- Houses

    def _plan_houses(self) -> None:
        def clean(data):
            spot = self.spot(data)
            p = spot.parts
            if not (p["room"] or p["unit"] or p["floor"] or p["door_number"]):
                raise InvalidField("room", _("A house is a room-level address: give its room (or door number)."))
            fields = {
                "use": cleaning.clean_house_use(data.get("use")),
                "area_m2": cleaning.clean_area(data.get("area_m2")),
                "hazards": str(data.get("hazards") or "").strip()[:300],
            }
            return spot, fields, _given(data, ("use", "area_m2", "hazards"))

        checked = self.rows_checked(clean)
        keys = {spot.key for _n, (spot, _f, _g) in checked}
        houses, addresses = self.houses(keys), self.addresses(keys)
        seen: dict = {}
        for number, (spot, fields, given) in checked:
            if not self.once(seen, spot.key, number, "room"):
                continue
            try:
                self.outcome(self._house(spot, fields, given, houses.get(spot.key), addresses.get(spot.key)))
            except InvalidField as exc:
                self.errors.append(fault(number, exc.field, str(exc)))
        self._plan_buildings()

    def _house(self, spot, fields, given, house, address) -> str:
        if house is not None:
            self.check_record_scope(house, "room")
            return UPDATED if self.change(house, {f: fields[f] for f in given}) else UNCHANGED
        if address is not None:
            self.check_record_scope(address, "room")
        address = self.address_for(spot, address)
        self.create(
            House(address=address, grid=address.grid, path=address.path, **fields), {"use": (None, fields["use"])}
        )
        return CREATED

    def _plan_buildings(self) -> None:
        """The building record each new house belongs to, made on first use (as `records.building_for`)."""
        wanted = {}
        for house in self.new[House]:
            a = house.address
            if a.building or a.door_number:
                key, parts = _building_of(a)
                wanted.setdefault(key, (a, parts))
        stored = {b.address.key: b for b in _fetch(Building.objects.select_related("address"), "address__key", wanted)}
        bases = self.addresses(set(wanted) - set(stored))
        buildings = dict(stored)
        for key, (a, parts) in wanted.items():
            if key not in buildings:
                spot = _Spot(key, parts, a.community, a.grid, a.path)
                base = self.address_for(spot, bases.get(key))
                buildings[key] = Building(address=base, grid=a.grid, path=a.path)
                self.new[Building].append(buildings[key])
        for house in self.new[House]:
            house.building = buildings.get(_building_of(house.address)[0])

    # -- People

    def _identity(self, fields: dict):
        if fields.get("id_number"):
            return ("id", fields["id_number"])
        if fields.get("passport_number") and fields.get("nationality"):
            return ("passport", fields["nationality"], fields["passport_number"])
        raise InvalidField("id_number", _("Give the ID number, or the passport number and nationality."))

    def _people_by_identity(self, identities: Iterable[tuple]) -> dict:
        identities = set(identities)
        ids = [i[1] for i in identities if i[0] == "id"]
        passports = [i[2] for i in identities if i[0] == "passport"]
        found = {("id", p.id_number): p for p in _fetch(Person.objects.all(), "id_number", ids)}
        for p in _fetch(Person.objects.exclude(passport_number=""), "passport_number", passports):
            found.setdefault(("passport", p.nationality, p.passport_number), p)
        return found

    def _move_fields(self, data: dict, *, required: bool) -> dict | None:
        """Relation, dates and reason of a row that names a house; None when a people row names none."""
        if not required and not any(data.get(n) for n in ADDRESS_FIELDS):
            return None
        start = cleaning.clean_date(data.get("start"), "start", not_future=True)
        end = cleaning.clean_date(data.get("end"), "end", required=False, not_future=True)
        if end is not None and end < start:
            raise InvalidField("end", _("Moving out cannot come before moving in (%(day)s).") % {"day": start})
        return {
            "relation": cleaning.clean_relation(data.get("relation")),
            "start": start,
            "end": end,
            "reason": str(data.get("reason") or "").strip()[:120],
        }

    def _plan_people(self) -> None:
        def clean(data):
            given = _given(data, PERSON_FIELDS)
            fields = cleaning.clean_person(given)
            move = self._move_fields(data, required=False)
            return self._identity(fields), fields, given, self.spot(data, address=move is not None), move

        checked = self.rows_checked(clean)
        people = self._people_by_identity(i for _n, (i, *_rest) in checked)
        houses = self.houses(spot.key for _n, (_i, _f, _g, spot, move) in checked if move)
        self._load_residences(people.values(), houses.values())
        seen: dict = {}
        for number, (identity, fields, given, spot, move) in checked:
            if not self.once(seen, identity, number, "id_number" if identity[0] == "id" else "passport_number"):
                continue
            try:
                house = self._house_at(spot, houses) if move else None
                person = people.get(identity)
                if person is None:
                    place = house or spot
                    person = Person(path=place.path, grid=place.grid, **fields)
                    self.create(person, {"kind": (None, fields["kind"])})
                    what = CREATED
                else:
                    self.check_record_scope(person, "id_number")
                    editable = {f: fields[f] for f in Person.EDITABLE if f in given}
                    what = UPDATED if self.change(person, editable) else UNCHANGED
                if move and self._move(number, person, house, move) != UNCHANGED and what == UNCHANGED:
                    what = UPDATED
                self.outcome(what)
            except InvalidField as exc:
                self.errors.append(fault(number, exc.field, str(exc)))

    def _house_at(self, spot: _Spot, houses: dict) -> House:
        house = houses.get(spot.key)
        if house is None:
            raise InvalidField("room", _("No house is registered at this address; import the houses first."))
        self.check_record_scope(house, "room")
        return house

    # -- Residences

    def _plan_residences(self) -> None:
        def clean(data):
            fields = cleaning.clean_person(_given(data, IDENTITY_FIELDS), partial=True)
            return self._identity(fields), self.spot(data), self._move_fields(data, required=True)

        checked = self.rows_checked(clean)
        people = self._people_by_identity(i for _n, (i, _s, _m) in checked)
        houses = self.houses(spot.key for _n, (_i, spot, _m) in checked)
        self._load_residences(people.values(), houses.values())
        for number, (identity, spot, move) in checked:
            try:
                house = self._house_at(spot, houses)
                person = people.get(identity)
                if person is None:
                    raise InvalidField("id_number", _("No such person is registered; import the people first."))
                self.outcome(self._move(number, person, house, move))
            except InvalidField as exc:
                self.errors.append(fault(number, exc.field, str(exc)))

    def _load_residences(self, people: Iterable[Person], houses: Iterable[House]) -> None:
        """The stored residences of these people in these houses, by natural key, and who lives where."""
        house_ids = {h.pk for h in houses}
        stored = [
            r for r in _fetch(Residence.objects.all(), "person_id", (p.pk for p in people)) if r.house_id in house_ids
        ]
        self.residences = {(r.person_id, r.house_id, r.start): r for r in stored}
        # (person, house) -> moved-in date of the open residence; new people are keyed by object.
        self.open_since = {(r.person_id, r.house_id): r.start for r in stored if r.end is None}
        self.moves_seen: dict = {}

    def _move(self, number: int, person: Person, house: House, move: dict) -> str:
        """Match a residence (person + house + moved-in date) or plan it; changes apply at once, as the
        residence's own actions (check out) do."""
        person_key = person.pk or id(person)
        if (person_key, house.pk, move["start"]) in self.moves_seen:
            raise InvalidField(
                "start", _("Same record as row %(r)d.") % {"r": self.moves_seen[person_key, house.pk, move["start"]]}
            )
        self.moves_seen[person_key, house.pk, move["start"]] = number
        residence = self.residences.get((person.pk, house.pk, move["start"]))
        if residence is not None:
            fields = {"relation": move["relation"], **_given(move, ("reason", "end"))}
            if move["relation"] != residence.relation:
                fields["registration_due"] = Residence.due_for(
                    move["relation"], residence.start, foreign=person.kind == PersonKind.FOREIGN
                )
            return UPDATED if self.change(residence, fields, propose=False) else UNCHANGED
        if move["end"] is None:
            since = self.open_since.get((person_key, house.pk))
            if since is not None:
                raise InvalidField(
                    "start", _("This person already lives in this house since %(day)s.") % {"day": since}
                )
            self.open_since[person_key, house.pk] = move["start"]
        residence = Residence(
            person=person,
            house=house,
            registration_due=Residence.due_for(
                move["relation"], move["start"], foreign=person.kind == PersonKind.FOREIGN
            ),
            path=house.path,
            grid=house.grid,
            **move,
        )
        self.create(residence, {"start": (None, move["start"]), "relation": (None, move["relation"])})
        return CREATED

    # -- Organizations

    def _plan_organizations(self) -> None:
        def clean(data):
            given = _given(data, ORGANIZATION_FIELDS)
            fields = cleaning.clean_organization(given)
            return self.spot(data), fields, given

        checked = self.rows_checked(clean)
        spots = {spot.key for _n, (spot, _f, _g) in checked}
        addresses = self.addresses(spots)
        by_uscc = {
            o.uscc: o
            for o in _fetch(
                Organization.objects.all(), "uscc", (f["uscc"] for _n, (_s, f, _g) in checked if f.get("uscc"))
            )
        }
        named = _fetch(Organization.objects.select_related("address"), "address__key", spots)
        by_name = {(o.name, o.address.key): o for o in named}
        seen: dict = {}
        for number, (spot, fields, given) in checked:
            key = ("uscc", fields["uscc"]) if fields.get("uscc") else ("name", fields["name"], spot.key)
            if not self.once(seen, key, number, "uscc" if key[0] == "uscc" else "name"):
                continue
            org = by_uscc.get(fields.get("uscc"))
            if org is None:
                # Else name + address: the same organization, unless it holds another credit code.
                org = by_name.get((fields["name"], spot.key))
                if org is not None and org.uscc and org.uscc != fields.get("uscc", org.uscc):
                    org = None
            try:
                if org is not None:
                    self.check_record_scope(org, "uscc" if fields.get("uscc") else "name")
                    editable = {f: fields[f] for f in (*Organization.EDITABLE, "uscc") if f in given}
                    self.outcome(UPDATED if self.change(org, editable) else UNCHANGED)
                    continue
                address = addresses.get(spot.key)
                if address is not None:
                    self.check_record_scope(address, "road")
                address = self.address_for(spot, address)
                self.create(
                    Organization(address=address, path=address.path, grid=address.grid, **fields),
                    {"name": (None, fields["name"])},
                )
                self.outcome(CREATED)
            except InvalidField as exc:
                self.errors.append(fault(number, exc.field, str(exc)))

    # -- Writing

    def write(self) -> None:
        """Store the plan: new records in dependency order, changes, then one revision per record."""
        Address.objects.bulk_create(self.new_addresses.values(), batch_size=BATCH)
        for model in (Building, House, Person, Organization, Residence):
            model.objects.bulk_create(self.new[model], batch_size=BATCH)
        for model, records in self.changed.items():
            model.objects.bulk_update(records.values(), sorted(self.changed_fields[model]), batch_size=BATCH)
        self._follow_people()
        self._tenants_rent()
        Revision.objects.bulk_create(
            (
                Revision(
                    record_type=record_type(record),
                    record_id=record.pk,
                    user=self.actor,
                    username=getattr(self.actor, "username", "") or "cli",
                    action="import",
                    changes={k: [plain(old), plain(new)] for k, (old, new) in changes.items()},
                    note=note[:300],
                )
                for record, changes, note in self.history
            ),
            batch_size=BATCH,
        )

    def _follow_people(self) -> None:
        """A person's scope follows their latest open residence (as `records._follow_person`)."""
        person_ids = {r.person_id for r in self.new[Residence]} | {
            r.person_id for r in self.changed[Residence].values()
        }
        latest = {}
        open_ = Residence.objects.filter(end=None).exclude(channel=Channel.SELF, collected_by=None)
        residences = _fetch(open_.order_by("start", "id"), "person_id", person_ids)
        for residence in residences:
            latest[residence.person_id] = residence
        moved = []
        for person in _fetch(Person.objects.all(), "id", latest):
            home = latest[person.pk]
            if (person.path, person.grid_id) != (home.path, home.grid_id):
                person.path, person.grid_id, person.updated_at = home.path, home.grid_id, self.now
                moved.append(person)
        Person.objects.bulk_update(moved, ["path", "grid", "updated_at"], batch_size=BATCH)

    def _tenants_rent(self) -> None:
        """A tenant moving into a vacant or unknown house makes it rented (as `records.check_in`)."""
        houses = {}
        for residence in self.new[Residence]:
            house = residence.house
            if (
                residence.relation == Relation.TENANT
                and residence.end is None
                and house.use in (HouseUse.VACANT, HouseUse.UNKNOWN)
            ):
                houses[house.pk] = house
        for house in houses.values():
            self.history.append((house, {"use": (house.use, HouseUse.RENTED)}, _("a tenant checked in")))
            house.use, house.updated_at = HouseUse.RENTED, self.now
        House.objects.bulk_update(houses.values(), ["use", "updated_at"], batch_size=BATCH)

    def counts(self) -> dict:
        return {
            "created": self.outcomes[CREATED],
            "updated": self.outcomes[UPDATED],
            "unchanged": self.outcomes[UNCHANGED],
        }


def import_file(actor, kind: str, filename: str, content: bytes) -> ImportResult:
    """Import a CSV or XLSX file of `kind` (people, houses, residences, organizations), all or nothing.

    Returns the result: counts when accepted, every fault as {row, field, message} when refused (then
    nothing is written). Raises `InvalidField` ("kind", "file") for a request that cannot be read at all,
    404 for a user without the registry, 403 for one who may not import (registry.manage). Audited as
    "registry.import", accepted or refused, with the counts.
    """
    if actor is not None and not scope.has_perm(actor, Perm.REGISTRY_VIEW):
        raise Http404
    if actor is not None and not scope.has_perm(actor, Perm.REGISTRY_MANAGE):
        raise PermissionDenied
    check_kind(kind)
    table = read_table(filename, content, COLUMNS[kind])
    result = ImportResult(kind=kind, rows=len(table.rows), errors=list(table.errors))
    if any(e["row"] == table.header_row for e in table.errors):
        # With the columns wrong every row would fail: the header's faults are the report.
        _audit(actor, result, filename, None)
        return result
    job = _Import(actor, kind, filename, table.rows)
    job.check()
    # A cell the reader refused (a number Excel cut short) is read as empty: report it once, not again
    # as a missing value.
    reported = {(e["row"], e["field"]) for e in result.errors}
    result.errors += [e for e in job.errors if (e["row"], e["field"]) not in reported]
    result.errors.sort(key=lambda e: (e["row"], e["field"]))
    if result.errors:
        _audit(actor, result, filename, None)
        return result
    try:
        with transaction.atomic():
            job.write()
            _audit(actor, result, filename, job)
    except IntegrityError as exc:
        raise Conflict(_("The registry changed while the file was imported; import it again.")) from exc
    for name, value in job.counts().items():
        setattr(result, name, value)
    return result


def _audit(actor, result: ImportResult, filename: str, job: _Import | None) -> None:
    detail = {"kind": result.kind, "file": filename[:120], "rows": result.rows}
    if job is None:
        detail["errors"] = len(result.errors)
    else:
        detail |= job.counts()
        detail["addresses"] = len(job.new_addresses)
        detail["buildings"] = len(job.new[Building])
    audit.record(
        "registry.import",
        user=actor,
        username="cli",
        object_type="registry." + result.kind,
        result="ok" if job is not None else "refused",
        detail=detail,
    )


__all__ = ["COLUMNS", "KINDS", "ImportResult", "check_kind", "column_label", "import_file", "write_template"]
