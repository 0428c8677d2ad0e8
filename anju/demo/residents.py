"""Synthetic residents for the demo district: buildings, houses, people, tenants, organizations, vehicles.

Grids are filled one after another at their real density (a grid's `households` is its number of
dwellings), starting with the demo grid, then the rest of its community and street, then the other
streets, until N people live there: 50,000 people fill some forty-five grids around 贮水山社区, 1,000,000 nearly
the whole district. Every number is valid: ID numbers from real county codes in force for the birth year
with the right check character, 鲁B plates, credit codes with both check characters.

The records are built here and stored through `registry.actions.bulk.load_registry`, one batch of some
ten thousand people at a time; the grid workers' accounts through `core.actions.open_field_accounts`.
Deterministic for a seed, except the QR tokens, which are secrets and stay random.
"""

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock

import numpy as np
import shapely
from django.utils import timezone
from faker import Faker

from anju.core import actions as core_actions
from anju.core.roles import Role
from anju.core.validators import (
    PLATE_LETTERS,
    USCC_ALPHABET,
    id_number_check_char,
    org_code_check_char,
    region_name,
    region_timeline,
    uscc_check_char,
)
from anju.geo.models import Division, Grid, Post, TeamMember
from anju.registry.actions import bulk
from anju.registry.actions.records import address_key, address_label
from anju.registry.models import (
    Address,
    Building,
    Channel,
    House,
    HouseUse,
    Organization,
    OrganizationKind,
    Person,
    PersonKind,
    Relation,
    Residence,
    Status,
    Vehicle,
    VehicleKind,
)

SEED = 370203
BATCH_PEOPLE = 10_000
NOTE = "demo: generated residents"
# Occupied households average about 2.5 people overall (Shibei: some 1.1 million in 440,000 households).
PEOPLE_PER_HOUSE = 2.5

ROADS = (
    "辽宁路 延安路 延安一路 延安二路 延安三路 台东一路 台东三路 台东六路 台东八路 威海路 长春路 敦化路 南京路 山东路 "
    "福州北路 重庆南路 哈尔滨路 大连路 热河路 登州路 华阳路 浦口路 吉林路 宁夏路 镇江路 合肥路 黑龙江南路 杭州路 "
    "标山路 洛阳路 萍乡路 四流南路 兴隆路 人民路 瑞昌路 抚顺路 鞍山路 同安路 上清路 商丘路 周口路 开封路 平度路 "
    "无棣路 嘉祥路 泰山路 乐陵路 馆陶路 小港一路 利津路 北仲路 顺兴路 桑梓路 清江路 错埠岭一路 新疆路 港华路"
).split()
ESTATE_HEADS = "海信 鲁邦 金茂 华润 万科 保利 中海 绿城 青特 上实 海尔 颐和 和达 国信 佳福 天泰 青铁 浮山 福林".split()
ESTATE_TAILS = "花园 国际 公馆 名苑 家园 新城 小区 雅苑 华府 尚城 嘉园 丽景".split()
PROPERTY_COMPANIES = (
    "青岛海信物业服务有限公司",
    "青岛鲁邦物业管理有限公司",
    "万科物业发展股份有限公司青岛分公司",
    "青岛华仁物业股份有限公司",
    "青岛天泰物业管理有限公司",
    "保利物业服务股份有限公司青岛分公司",
)
# (floors range, share): Shibei is mostly six- and seven-storey blocks, with towers in the newer estates.
FLOORS = (((6, 7), 0.55), ((8, 12), 0.10), ((13, 18), 0.15), ((19, 30), 0.20))
UNITS = ((1, 0.15), (2, 0.45), (3, 0.30), (4, 0.10))
ROOMS_PER_FLOOR = ((2, 0.5), (3, 0.3), (4, 0.2))
# House use away from the street-front ground floors, which are all shops and restaurants.
USES = ((HouseUse.SELF, 0.60), (HouseUse.RENTED, 0.31), (HouseUse.VACANT, 0.09))
# Where people's ID numbers come from: registered residents from Qingdao (Shibei and the old Sifang most),
# floating residents from other provinces, in rough proportion to Qingdao's migrants.
QINGDAO = {"370203": 40, "370205": 15, "370202": 12, "370213": 8, "370211": 5, "370212": 4, "370214": 4}
OTHER_PROVINCES = {
    "41": 15, "34": 12, "32": 10, "23": 10, "13": 8, "22": 7, "21": 6, "14": 5, "15": 4, "51": 5,
    "42": 4, "62": 3, "43": 3, "36": 2, "61": 2, "44": 2, "11": 1, "31": 1,
}  # fmt: skip
# Other Shandong cities: 济南, 淄博, 烟台, 潍坊, 济宁, 威海, 日照, 临沂, 德州, 滨州, 菏泽.
SHANDONG = ("3701", "3703", "3706", "3707", "3708", "3710", "3711", "3713", "3714", "3716", "3717")
FOREIGN = (("KOR", 0.55), ("JPN", 0.15), ("USA", 0.10), ("RUS", 0.10), ("GBR", 0.05), ("DEU", 0.05))
KOREAN = ("KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON"), ("MINJUN", "SEOYEON", "JIHOON", "HAEUN")
JAPANESE = ("SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE"), ("HARUTO", "YUI", "SOTA", "HINA", "REN")
ETHNICITIES = (("汉族", 0.975), ("回族", 0.008), ("满族", 0.007), ("朝鲜族", 0.006), ("蒙古族", 0.004))
ORG_KINDS = (
    (OrganizationKind.SHOP, 0.45, ("便利店", "超市", "水果店", "理发店", "五金店", "药店", "烟酒店", "洗衣店")),
    (OrganizationKind.RESTAURANT, 0.25, ("海鲜饭店", "饺子馆", "拉面馆", "烧烤", "排档", "包子铺")),
    (OrganizationKind.HOTEL, 0.05, ("快捷酒店", "宾馆", "公寓酒店")),
    (OrganizationKind.VENUE, 0.04, ("KTV", "网吧", "棋牌室")),
    (OrganizationKind.EMPLOYER, 0.13, ("商贸有限公司", "科技有限公司", "装饰工程有限公司", "物流有限公司")),
    (OrganizationKind.HOSPITAL, 0.04, ("诊所", "口腔诊所", "社区卫生服务站")),
    (OrganizationKind.MARKET, 0.02, ("农贸市场",)),
    (OrganizationKind.OTHER, 0.02, ("彩票站", "快递驿站")),
)
KEY_KINDS = {OrganizationKind.HOTEL, OrganizationKind.VENUE, OrganizationKind.SCHOOL, OrganizationKind.MARKET}
# Self-occupied households: (members as (relation, role in the family), share). Average 2.9 people.
SELF_HOUSEHOLDS = (
    (("old",), 0.07),
    (("adult",), 0.05),
    (("old", "old"), 0.14),
    (("adult", "adult"), 0.11),
    (("adult", "adult", "child"), 0.26),
    (("adult", "adult", "child", "child"), 0.12),
    (("adult", "adult", "child", "old"), 0.08),
    (("adult", "adult", "child", "old", "old"), 0.10),
    (("adult", "adult", "child", "child", "old", "old"), 0.03),
    (("adult", "adult", "child", "child"), 0.04),
)
RENTED_HOUSEHOLDS = (
    (("young",), 0.28),
    (("young", "young"), 0.37),
    (("young", "young", "child"), 0.25),
    (("young", "young", "child", "child"), 0.10),
)


def _pick(rng: random.Random, table):
    """A value from ((value, share), ...) or ((value, share, extra), ...) by share."""
    r = rng.random() * sum(row[1] for row in table)
    for row in table:
        r -= row[1]
        if r <= 0:
            return row[0] if len(row) == 2 else row
    return table[-1][0] if len(table[-1]) == 2 else table[-1]


@dataclass
class Totals:
    """What was generated, for the summary line and the tests."""

    grids: int = 0
    buildings: int = 0
    houses: int = 0
    people: int = 0
    floating: int = 0
    foreign: int = 0
    residences: int = 0
    organizations: int = 0
    vehicles: int = 0
    overdue: int = 0
    declarations: int = 0
    pending: int = 0
    accounts: int = 0


class Numbers:
    """Valid, unique identity numbers: ID numbers, passports, plates, credit codes."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set()
        self.codes_by_prefix: dict[str, list[tuple[str, tuple]]] = {}
        for code, periods in region_timeline().items():
            # County-level codes only: not provinces (xx0000), cities (xxxx00) or the old 市辖区 entries.
            if code.endswith("00") or any(p.name == "市辖区" for p in periods):
                continue
            self.codes_by_prefix.setdefault(code[:2], []).append((code, periods))
            self.codes_by_prefix.setdefault(code[:4], []).append((code, periods))
        self._valid: dict[tuple[str, int], list[str]] = {}

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self.taken:
                self.taken.add(value)
                return value

    def county(self, prefix: str, year: int) -> str:
        """A county code under `prefix` (2 or 4 digits) in force during `year` (any later one if none was)."""
        key = (prefix, year)
        if key not in self._valid:
            pool = self.codes_by_prefix[prefix]
            covering = [c for c, periods in pool if any(p.covers(year) for p in periods)]
            # GB 11643 numbers are issued after birth: a code created later is valid, an abolished one is not.
            self._valid[key] = covering or [
                c for c, periods in pool if any(p.end_year is None or p.end_year >= year for p in periods)
            ]
        if not self._valid[key]:
            # A city abolished before `year` (merged into another): any county of the province.
            return self.county(prefix[:2], year)
        return self.rng.choice(self._valid[key])

    def origin_code(self, origin: str, year: int) -> str:
        """The region code of an ID number: `origin` is a 6-digit code (kept if valid) or a prefix."""
        if len(origin) == 6:
            periods = region_timeline()[origin]
            if any(p.end_year is None or p.end_year >= year for p in periods):
                return origin
            origin = origin[:4]
        return self.county(origin, year)

    def id_number(self, region: str, birth: date, male: bool) -> str:
        def make():
            sequence = self.rng.randrange(0, 1000) // 2 * 2 + (1 if male else 0)
            first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
            return first17 + id_number_check_char(first17)

        return self._unique(make)

    def passport(self, nationality: str) -> str:
        shape = {"KOR": "M" + "#" * 8, "JPN": "TK" + "#" * 7, "DEU": "C" + "#" * 8}.get(nationality, "#" * 9)

        def make():
            # Passports are unique per nationality: the nationality is part of the value kept in `taken`.
            return nationality + "".join(self.rng.choice("0123456789") if c == "#" else c for c in shape)

        return self._unique(make)[3:]

    def plate(self, kind: str, letter: str = "B") -> str:
        rng = self.rng

        def make():
            if kind == VehicleKind.EBIKE:
                return "青岛" + rng.choice(PLATE_LETTERS) + f"{rng.randrange(100000):05d}"
            if kind == VehicleKind.NEW_ENERGY:
                second = rng.choice(PLATE_LETTERS + "0123456789")
                return f"鲁{letter}{rng.choice('DF')}{second}{rng.randrange(10000):04d}"
            # Ordinary plates: five characters, at most two letters, never I or O.
            serial = [rng.choice("0123456789") for _ in range(5)]
            for i in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
                serial[i] = rng.choice(PLATE_LETTERS)
            return f"鲁{letter}" + "".join(serial)

        return self._unique(make)

    def uscc(self, authority_and_type: str, region: str = "370203") -> str:
        def make():
            body = "".join(self.rng.choice(USCC_ALPHABET) for _ in range(8))
            first17 = authority_and_type + region + body + org_code_check_char(body)
            return first17 + uscc_check_char(first17)

        return self._unique(make)


class Generator:
    """Builds the records of one grid after another into batches for `load_registry`."""

    def __init__(self, seed: int, today: date, demo_grid: str, demo_worker, demo_officer):
        self.rng = random.Random(seed)
        self.nprng = np.random.default_rng(seed)
        self.today = today
        self.numbers = Numbers(random.Random(seed + 1))
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.fake = fake
        # Faker draws its surnames by their real frequency; pools keep a million draws fast.
        self.surnames = [fake.last_name() for _ in range(5_000)]
        self.male_given = [fake.first_name_male() for _ in range(2_000)]
        self.female_given = [fake.first_name_female() for _ in range(2_000)]
        latin = Faker("en_US")
        latin.seed_instance(seed)
        self.latin = latin
        self.demo_grid, self.demo_worker, self.demo_officer = demo_grid, demo_worker, demo_officer
        self.community_roads: dict[str, list[str]] = {}
        self.doors: dict[tuple[str, str], int] = {}
        self.moments: dict[date, datetime] = {}
        self.totals = Totals()

    # --- small helpers ---------------------------------------------------------------------------

    def moment(self, day: date) -> datetime:
        """10:00 local time on `day`: when the record was collected or verified."""
        if day not in self.moments:
            self.moments[day] = timezone.make_aware(datetime.combine(day, clock(10)))
        return self.moments[day]

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def name(self, male: bool, surname: str | None = None) -> str:
        given = self.male_given if male else self.female_given
        text = self.rng.choice(given)
        # Faker's given names have one or two characters; most one-character ones take a second.
        if len(text) == 1 and self.rng.random() < 0.7:
            text += self.rng.choice(given)[:1]
        return (surname or self.rng.choice(self.surnames)) + text

    def birth(self, age: int) -> date:
        born = self.today - timedelta(days=age * 365 + self.rng.randrange(365))
        return max(born, date(1925, 1, 1))

    def next_door(self, community: str, road: str) -> str:
        key = (community, road)
        self.doors[key] = self.doors.get(key, self.rng.randint(0, 20)) + self.rng.randint(1, 6)
        return str(self.doors[key])

    # --- a grid ----------------------------------------------------------------------------------

    def fill(self, grid: Grid, worker, batch: bulk.Batch, people_left: int, scale: float) -> int:
        """Buildings, houses and households of `grid` into `batch`; returns the people added."""
        rng = self.rng
        community = grid.community
        roads = self.community_roads.setdefault(community.code, rng.sample(ROADS, 4))
        officer = self.demo_officer if community.code == self.demo_grid[:12] else None
        state = _GridState(grid, community, worker, officer, batch)
        points = self.points_in(grid, 200)
        target = max(1, round(grid.households * scale))
        estate, estate_left, estate_door, estate_road, estate_no = "", 0, "", "", 0
        added, forced = 0, 4 if grid.code == self.demo_grid else 0
        while state.houses < target and added < people_left:
            road = rng.choice(roads)
            # The first building of a grid fronts a road, so every grid has its shops.
            if estate_left == 0 and state.buildings and rng.random() < 0.6:
                estate = rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_TAILS)
                estate_left, estate_door, estate_road = rng.randint(2, 12), self.next_door(community.code, road), road
                estate_no = 0
            if estate_left:
                estate_left -= 1
                estate_no += 1
                parts = {"road": estate_road, "door_number": estate_door, "estate": estate, "building": str(estate_no)}
            else:
                door = self.next_door(community.code, road)
                parts = {"road": road, "door_number": door, "estate": "", "building": ""}
            lng, lat = points[state.buildings % len(points)]
            building = state.building(self, parts, float(lng), float(lat), street_front=not parts["estate"])
            added_here, forced = self.houses_of(state, building, parts, people_left - added, forced)
            added += added_here
        if rng.random() < 0.15:
            road = rng.choice(roads)
            lng, lat = points[-1]
            address = state.address({"road": road, "door_number": self.next_door(community.code, road)}, lng, lat)
            self.organization(state, address, business=False)
        self.totals.grids += 1
        return added

    def points_in(self, grid: Grid, count: int) -> list[tuple[float, float]]:
        """Random building sites inside the grid's polygon."""
        shape = shapely.from_geojson(grid.geometry)
        found: list[tuple[float, float]] = []
        while len(found) < count:
            x = self.nprng.uniform(grid.min_lng, grid.max_lng, count * 2)
            y = self.nprng.uniform(grid.min_lat, grid.max_lat, count * 2)
            inside = shapely.contains_xy(shape, x, y)
            found += list(zip(np.round(x[inside], 6), np.round(y[inside], 6), strict=True))
        return found[:count]

    def houses_of(self, state, building: Building, parts: dict, people_left: int, forced: int) -> tuple[int, int]:
        rng = self.rng
        added = 0
        per_floor = building.rooms_per_floor
        for unit in range(1, building.units + 1):
            for floor in range(1, building.floors + 1):
                for r in range(1, per_floor + 1):
                    if added >= people_left:
                        return added, forced
                    if building.street_front and floor == 1:
                        use = HouseUse.BUSINESS
                    else:
                        use = _pick(rng, USES)
                    room = {"unit": str(unit), "floor": str(floor), "room": f"{floor}{r:02d}"}
                    house = state.house(self, building, {**parts, **room}, use)
                    if use == HouseUse.BUSINESS:
                        if rng.random() < 0.9:  # the rest stand empty for now
                            self.organization(state, house.address, business=True)
                    elif use == HouseUse.SELF:
                        added += self.household(state, house, rented=False, recent=False)
                    elif use == HouseUse.RENTED:
                        added += self.household(state, house, rented=True, recent=forced > 0)
                        forced = max(0, forced - 1)
        return added, forced

    # --- people ----------------------------------------------------------------------------------

    def household(self, state, house: House, *, rented: bool, recent: bool) -> int:
        rng, numbers = self.rng, self.numbers
        template = _pick(rng, RENTED_HOUSEHOLDS if rented else SELF_HOUSEHOLDS)
        foreign = rented and rng.random() < 0.015
        if foreign:
            origin, kind = _pick(rng, FOREIGN), PersonKind.FOREIGN
        elif rng.random() < (0.86 if rented else 0.10):
            province = _pick(rng, tuple(OTHER_PROVINCES.items()))
            origin, kind = numbers.county(province, 1980), PersonKind.FLOATING
        else:
            # A family's code; a member born after it was abolished gets one in force in the same city.
            qingdao = rng.random() < 0.8
            origin = _pick(rng, tuple(QINGDAO.items())) if qingdao else numbers.county(rng.choice(SHANDONG), 1980)
            kind = PersonKind.REGISTERED
        # Dates: tenants moved in within five years (recent ones are still waiting for registration),
        # owners within thirty.
        if recent:
            start = self.days_ago(5, 12)
        elif rented and rng.random() < 0.03:
            start = self.days_ago(1, 25)
        else:
            start = self.days_ago(30, 5 * 365) if rented else self.days_ago(180, 30 * 365)
        if recent or (start > self.today - timedelta(days=25) and rng.random() < 0.7):
            status = Status.PENDING
            declared = rng.random() < 0.4 if not recent else state.declared_next()
        else:
            # Owners collected but not yet verified; a tenant waiting this long would be overdue for years.
            status = Status.PENDING if not rented and rng.random() < 0.04 else Status.VERIFIED
            declared = False
        parent_age = rng.randint(22, 40) if rented else rng.randint(28, 58)
        surname = None if foreign else rng.choice(self.surnames)
        members = []
        for i, role in enumerate(template):
            male = (i % 2 == 0) if role in ("adult", "young", "old") else rng.random() < 0.52
            if role == "old":
                age = rng.randint(62, 92) if "adult" not in template else parent_age + rng.randint(24, 34)
            elif role == "child":
                age = rng.randint(0, max(0, min(parent_age - 22, 30)))
            elif role == "young" and i > 0 and template.count("young") == 2 and "child" not in template:
                age = rng.randint(20, 40)  # roommates or a young couple
            else:
                age = parent_age + (rng.randint(-3, 3) if i else 0)
            members.append((role, male, min(age, 95)))
        people = []
        for i, (role, male, age) in enumerate(members):
            born = self.birth(age)
            # Children carry the father's surname; spouses and grandparents their own.
            own_surname = surname if (i == 0 or role == "child") else None
            person = state.person(self, kind, origin, male, born, own_surname, status, declared)
            people.append(person)
            moved_in = max(start, born)
            relation = Relation.TENANT if rented else (Relation.OWNER if i == 0 else Relation.FAMILY)
            state.residence(self, person, house, relation, moved_in, status, declared)
        if not rented:
            house.owner = people[0]
            if kind == PersonKind.REGISTERED:
                state.landlords.append(people[0])
        elif state.landlords and rng.random() < 0.8:
            house.owner = rng.choice(state.landlords)
        head = people[0]
        if not foreign and rng.random() < 0.30:
            kind_ = VehicleKind.NEW_ENERGY if rng.random() < 0.22 else VehicleKind.CAR
            state.vehicle(self, kind_, owner=head)
        if not foreign and rng.random() < 0.33:
            state.vehicle(self, VehicleKind.EBIKE, owner=head)
        return len(people)

    def organization(self, state, address: Address, business: bool) -> None:
        rng = self.rng
        kind, _share, suffixes = _pick(rng, ORG_KINDS) if business else (OrganizationKind.SCHOOL, 0, ("小学",))
        road = address.road
        if kind == OrganizationKind.EMPLOYER:
            name = "青岛" + self.fake.company_prefix() + rng.choice(suffixes)
        elif kind == OrganizationKind.RESTAURANT:
            name = f"{rng.choice(self.surnames)}记{rng.choice(suffixes)}"
        else:
            name = f"{road.removesuffix('路')}{rng.choice(suffixes)}"
        name = f"{name}（{road}{address.door_number}号店）" if kind == OrganizationKind.SHOP else name
        authority = {OrganizationKind.SCHOOL: "12", OrganizationKind.HOSPITAL: "52"}.get(
            kind, "92" if kind in (OrganizationKind.SHOP, OrganizationKind.RESTAURANT) else "91"
        )
        state.organization(self, kind, name, authority, address)


class _GridState:
    """The records of one grid being built, with the grid's people and staff."""

    def __init__(self, grid: Grid, community: Division, worker, officer, batch: bulk.Batch):
        self.grid, self.community, self.worker, self.officer, self.batch = grid, community, worker, officer, batch
        self.path = grid.path
        self.buildings = self.houses = 0
        self.landlords: list[Person] = []
        self.declarations = 0

    def declared_next(self) -> bool:
        """Alternate the demo grid's forced tenants between a QR self-declaration and a field collection."""
        self.declarations += 1
        return self.declarations % 2 == 1

    def address(self, parts: dict, lng: float, lat: float) -> Address:
        full = {**dict.fromkeys(Address.PARTS, ""), **parts}
        address = Address(
            community=self.community,
            grid=self.grid,
            path=self.path,
            lng=lng,
            lat=lat,
            key=address_key(self.community.code, full),
            label=address_label(self.community, full),
            **full,
        )
        self.batch.addresses.append(address)
        return address

    def _stamp(self, gen: Generator, record, status: str, day: date, declared: bool = False) -> None:
        record.status = status
        record.channel = Channel.SELF if declared else Channel.FIELD
        if not declared:
            record.collected_by, record.collected_at = self.worker, gen.moment(day)
        if status == Status.VERIFIED:
            record.verified_by, record.verified_at = self.officer, gen.moment(min(day + timedelta(days=2), gen.today))
        else:
            gen.totals.pending += 1

    def building(self, gen: Generator, parts: dict, lng: float, lat: float, street_front: bool) -> Building:
        rng = gen.rng
        floors = rng.randint(*_pick(rng, FLOORS))
        in_estate = bool(parts["estate"])
        building = Building(
            address=self.address(parts, lng, lat),
            grid=self.grid,
            path=self.path,
            floors=floors,
            units=_pick(rng, UNITS),
            property_company=rng.choice(PROPERTY_COMPANIES) if in_estate else "",
            steward_name=gen.name(rng.random() < 0.5),
            steward_phone=gen.fake.phone_number(),
            responsible=self.worker,
        )
        # Not model fields: how the generator lays out the rooms.
        building.rooms_per_floor = _pick(rng, ROOMS_PER_FLOOR)
        building.street_front = street_front
        self.batch.buildings.append(building)
        self.buildings += 1
        gen.totals.buildings += 1
        return building

    def house(self, gen: Generator, building: Building, parts: dict, use: str) -> House:
        address = self.address(parts, building.address.lng, building.address.lat)
        house = House(
            address=address,
            building=building,
            grid=self.grid,
            path=self.path,
            use=use,
            area_m2=round(gen.rng.uniform(35, 140), 1),
        )
        self._stamp(gen, house, Status.PENDING if gen.rng.random() < 0.03 else Status.VERIFIED, gen.days_ago(30, 900))
        self.batch.houses.append(house)
        self.houses += 1
        gen.totals.houses += 1
        return house

    def person(self, gen, kind, origin, male, born, surname, status, declared) -> Person:
        rng = gen.rng
        fields = {}
        if kind == PersonKind.FOREIGN:
            nationality = origin
            if nationality in ("KOR", "JPN"):
                surnames, given = KOREAN if nationality == "KOR" else JAPANESE
                name = f"{rng.choice(given)} {rng.choice(surnames)}"
            else:
                name = f"{gen.latin.first_name()} {gen.latin.last_name()}".upper()
            fields.update(nationality=nationality, passport_number=gen.numbers.passport(nationality))
            gen.totals.foreign += 1
        else:
            region = gen.numbers.origin_code(origin, born.year)
            name = gen.name(male, surname)
            fields.update(
                id_number=gen.numbers.id_number(region, born, male),
                hukou_place=region_name(region, born.year) or "",
                ethnicity=_pick(rng, ETHNICITIES),
            )
            if kind == PersonKind.FLOATING:
                gen.totals.floating += 1
                if rng.random() < 0.5 and born.year < gen.today.year - 16:
                    until = gen.today + timedelta(days=rng.randint(-60, 365))
                    fields.update(residence_permit=f"370203{rng.randrange(10**10):010d}", residence_permit_until=until)
        adult = born.year < gen.today.year - 14
        person = Person(
            grid=self.grid,
            path=self.path,
            name=name,
            sex="male" if male else "female",
            birth_date=born,
            kind=kind,
            phone=gen.fake.phone_number() if adult else "",
            **fields,
        )
        self._stamp(gen, person, status, gen.days_ago(3, 600) if status == Status.VERIFIED else gen.today, declared)
        if status == Status.VERIFIED and adult and rng.random() < 0.012:
            person.pending = {"phone": gen.fake.phone_number()}
        self.batch.people.append(person)
        gen.totals.people += 1
        return person

    def residence(self, gen, person, house, relation, start, status, declared) -> None:
        residence = Residence(
            person=person,
            house=house,
            relation=relation,
            start=start,
            registration_due=Residence.due_for(relation, start, foreign=person.kind == PersonKind.FOREIGN),
            grid=self.grid,
            path=self.path,
        )
        self._stamp(gen, residence, status, start, declared)
        if residence.overdue:
            gen.totals.overdue += 1
        if declared:
            gen.totals.declarations += 1
        self.batch.residences.append(residence)
        gen.totals.residences += 1

    def organization(self, gen, kind, name, authority, address) -> None:
        rng = gen.rng
        org = Organization(
            name=name[:120],
            uscc=gen.numbers.uscc(authority),
            kind=kind,
            legal_representative=gen.name(rng.random() < 0.6),
            phone=f"0532-8{rng.randrange(10**7):07d}" if rng.random() < 0.5 else gen.fake.phone_number(),
            address=address,
            key_unit=kind in KEY_KINDS,
            employees=rng.randint(1, 12) if kind in (OrganizationKind.SHOP, OrganizationKind.RESTAURANT) else None,
            grid=self.grid,
            path=self.path,
        )
        if org.employees is None:
            org.employees = rng.randint(5, 200)
        self._stamp(gen, org, Status.PENDING if rng.random() < 0.06 else Status.VERIFIED, gen.days_ago(10, 700))
        self.batch.organizations.append(org)
        gen.totals.organizations += 1
        if kind in (OrganizationKind.EMPLOYER, OrganizationKind.HOTEL) and rng.random() < 0.3:
            self.vehicle(gen, VehicleKind.CAR, organization=org)

    def vehicle(self, gen, kind, owner=None, organization=None) -> None:
        rng = gen.rng
        letter = "B" if rng.random() < 0.85 else rng.choice("ACDEFGHJKLMNPQRSUVY")
        holder = owner or organization
        vehicle = Vehicle(
            plate=gen.numbers.plate(kind, letter),
            kind=kind,
            owner=owner,
            organization=organization,
            brand=rng.choice(("大众", "丰田", "本田", "比亚迪", "吉利", "长安", "日产", "别克", "雅迪", "爱玛")),
            color=rng.choice(("白色", "黑色", "银色", "灰色", "蓝色", "红色")),
            grid=self.grid,
            path=self.path,
        )
        self._stamp(gen, vehicle, holder.status, (holder.collected_at or timezone.now()).date())
        self.batch.vehicles.append(vehicle)
        gen.totals.vehicles += 1


# --- The driver ----------------------------------------------------------------------------------


def grid_order(district: Division, demo_grid: str) -> list[Grid]:
    """The district's grids, the demo grid first, then its community, its street, the rest by code."""
    grids = list(Grid.objects.filter(path__startswith=district.path).select_related("community"))
    return sorted(grids, key=lambda g: (g.code[:9] != demo_grid[:9], g.code[:12] != demo_grid[:12], g.code))


def grid_workers(grids: list[Grid], demo_grid: str, demo_worker) -> tuple[dict, int]:
    """(grid code -> its grid worker, accounts opened): the demo account on the demo grid, a new one
    elsewhere, named after the grid's manager on its "4+N+N" team.
    """
    from anju.core.models import User

    usernames = {g.code: f"gw{g.code}" for g in grids if g.code != demo_grid or demo_worker is None}
    existing = {u.username: u for u in User.objects.filter(username__in=usernames.values())}
    managers = {
        m.grid.code: m for m in TeamMember.objects.filter(grid__in=grids, post=Post.MANAGER).select_related("grid")
    }
    missing = [
        core_actions.FieldAccount(
            username=usernames[g.code],
            full_name=getattr(managers.get(g.code), "name", ""),
            phone=getattr(managers.get(g.code), "phone", ""),
            role=Role.GRID_WORKER,
            node_code=g.code,
        )
        for g in grids
        if g.code in usernames and usernames[g.code] not in existing
    ]
    for user in core_actions.open_field_accounts(None, missing):
        existing[user.username] = user
    workers = {code: existing[name] for code, name in usernames.items()}
    if demo_worker is not None:
        workers[demo_grid] = demo_worker
    return workers, len(missing)


def load_residents(
    district: Division, residents: int, *, demo_grid: str, demo_worker=None, demo_officer=None, seed: int = SEED
) -> Totals | None:
    """Generate and store `residents` people in the district's grids; None if it has people already.

    Re-running never duplicates: a registry that holds people in the district is left as it is (the
    records carry revisions and audit rows, which are never deleted, so they are not replaced either).
    """
    if residents <= 0 or Person.objects.filter(path__startswith=district.path).exists():
        return None
    grids = grid_order(district, demo_grid)
    capacity = sum(g.households for g in grids) * PEOPLE_PER_HOUSE
    # More people than the district's dwellings hold: every grid gets proportionally denser.
    scale = max(1.0, residents / capacity * 1.05) if capacity else 1.0
    gen = Generator(seed, timezone.localdate(), demo_grid, demo_worker, demo_officer)
    done, i = 0, 0
    while done < residents and i < len(grids):
        # Whole grids per batch, about BATCH_PEOPLE people each; their workers' accounts first.
        chosen, expected = [], 0
        while i < len(grids) and expected < min(BATCH_PEOPLE, residents - done):
            chosen.append(grids[i])
            expected += grids[i].households * scale * PEOPLE_PER_HOUSE
            i += 1
        workers, opened = grid_workers(chosen, demo_grid, demo_worker)
        gen.totals.accounts += opened
        batch = bulk.Batch(action="import", note=NOTE)
        for grid in chosen:
            if done < residents:
                done += gen.fill(grid, workers[grid.code], batch, residents - done, scale)
        bulk.load_registry(None, batch)
    return gen.totals


def summary(totals: Totals, seconds: float) -> str:
    """One paragraph for the command line."""
    t = totals
    share = t.floating / t.people if t.people else 0
    return (
        f"Residents: {t.people:,} people ({t.floating:,} floating = {share:.0%}, {t.foreign:,} foreign) in "
        f"{t.houses:,} houses of {t.buildings:,} buildings in {t.grids:,} grids; {t.residences:,} residences, "
        f"{t.organizations:,} organizations, {t.vehicles:,} vehicles; {t.pending:,} records pending verification, "
        f"{t.declarations:,} self-declarations, {t.overdue:,} overdue tenants; {t.accounts:,} grid-worker "
        f"accounts opened; {seconds:.1f} s."
    )


def timed_load(*args, **kwargs) -> tuple[Totals | None, float]:
    """`load_residents` and the seconds it took."""
    t0 = time.perf_counter()
    totals = load_residents(*args, **kwargs)
    return totals, time.perf_counter() - t0
