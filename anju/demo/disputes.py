"""A year of disputes for the demo district, driven through the disputes app's own actions.

First the mediation set-up: a community mediation room in every community (with a compound room in some
streets), a police-station mediation centre and a street joint mediation centre in every street, their
mediators (people's mediators, the community and station officers), and the district's expert pool (智库:
lawyers, a judge, petition-office and market-supervision staff, a counsellor) with their specialties.

Then the disputes, in the mix of the seeds (a station takes some 600 a year, settles 98% of them and sees
every agreement performed; 42 of 46 settle at the first level): neighbours and families most of all, 110
calls the commonest source, parties drawn from the registry's people (and now and then an organization),
mostly ordinary grades with some difficult and a few major or red-flagged. Each dispute lives through
`intake.record_dispute`, `procedure.transition`, `records.*` and `reviews.review_dossier` at explicit past
moments; steps that would fall after now are not taken, so recent disputes wait in every open state, and
one sweep at the end cards the late ones. A few scripted disputes make sure each state, card, escalation
and record appears even in a small run. Deterministic for a seed, apart from notifications' clock.
"""

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
from django.db import transaction
from django.utils import timezone

from anju.core import actions as core_actions
from anju.core.models import User
from anju.core.passwords import generate_password
from anju.core.roles import Role
from anju.demo import residents
from anju.demo.names import mobile, person_name
from anju.disputes import sweeper
from anju.disputes.actions import intake, procedure, records, reviews, setup
from anju.disputes.models import (
    Dispute,
    Flag,
    Kind,
    MediationRoom,
    MediatorKind,
    Outcome,
    RoomKind,
    Source,
    State,
    TermState,
)
from anju.geo.models import Division, Grid
from anju.registry.models import Organization, Relation, Residence

SEED = 370203
# Disputes a year for each resident generated: 500 for the default 50,000.
PER_RESIDENT = 0.01
HOUR, DAY = timedelta(hours=1), timedelta(days=1)

KINDS = (
    (Kind.NEIGHBOUR, 26), (Kind.FAMILY, 22), (Kind.PROPERTY, 11), (Kind.TENANCY, 9), (Kind.LABOUR, 8),
    (Kind.LOAN, 7), (Kind.TRAFFIC, 6), (Kind.SALE, 5), (Kind.DAMAGE, 4), (Kind.OTHER, 2),
)  # fmt: skip
SOURCES = (
    (Source.POLICE, 45), (Source.WALK_IN, 20), (Source.GRID, 15), (Source.HOTLINE, 10),
    (Source.COURT, 5), (Source.PETITION, 5),
)  # fmt: skip
# Kinds where the other side is often an organization (a property company, an employer, a shop).
ORGANIZATION_SIDE = {Kind.PROPERTY: 0.7, Kind.LABOUR: 0.8, Kind.SALE: 0.8}
# Kinds that administrative mediation (police, market supervision) handles now and then.
ADMINISTRATIVE = {Kind.TRAFFIC: 0.6, Kind.SALE: 0.4, Kind.DAMAGE: 0.3}
# How things end (seed 004: 98% settled) and what else happens.
OUTCOMES = ((Outcome.AGREEMENT, 93), (Outcome.TERMINATED, 3), (Outcome.DECLINED, 2), (Outcome.REFERRED, 2))
DIFFICULT, MAJOR, RED_FLAG = 0.04, 0.01, 0.02
ON_SPOT = 0.35  # of 110 calls, settled by the officer at the scene
ESCALATE = 0.04  # seed 003: 4 of 46 went above the first level (with the grave ones)
SECOND_SESSION = 0.3
STALLED = 0.03  # mediation drags past its 30 days
BREACHED = 0.02
COURT_CONFIRMED = 0.12
FLARE_UP = 0.03
REPEAT = 0.05
THIRD_PARTY = 0.1
REVIEWED = 0.4  # of last month's concluded dossiers
# With residents around the demo accounts, this share lies in the demo community, and this in its street.
AROUND_DEMO = (0.15, 0.15)

SUMMARIES = {
    Kind.NEIGHBOUR: [
        "楼上漏水致楼下天花板受损",
        "邻里因楼道堆物发生口角",
        "装修噪音扰民引发争执",
        "空调外机位置引发邻里纠纷",
    ],
    Kind.FAMILY: [
        "夫妻因家庭琐事发生争吵",
        "子女赡养老人费用分担纠纷",
        "兄弟姐妹因房产继承发生争执",
        "离婚后子女探视纠纷",
    ],
    Kind.PROPERTY: ["业主拒交物业费与物业公司纠纷", "小区停车位收费争议", "电梯维修费用分摊纠纷"],
    Kind.TENANCY: ["房东不退押金引发纠纷", "租户拖欠房租纠纷", "租赁房屋损坏赔偿争议"],
    Kind.LABOUR: ["装修工人讨要拖欠工资", "员工辞职后工资结算争议", "工伤赔偿协商纠纷"],
    Kind.LOAN: ["朋友间借款到期不还", "亲戚借款数额争议"],
    Kind.TRAFFIC: ["电动车与行人剐蹭纠纷", "小区内倒车剐蹭赔偿争议"],
    Kind.SALE: ["购买商品质量问题退货纠纷", "预付卡退款纠纷"],
    Kind.DAMAGE: ["宠物狗咬伤邻居赔偿纠纷", "高空坠物砸坏车辆赔偿纠纷"],
    Kind.OTHER: ["广场舞场地使用纠纷", "菜地边界争议"],
}
CLAIMS = {
    Kind.NEIGHBOUR: "要求对方停止侵害、赔偿损失",
    Kind.FAMILY: "要求对方履行家庭义务",
    Kind.PROPERTY: "要求物业履行服务义务或业主交纳费用",
    Kind.TENANCY: "要求退还押金或支付租金",
    Kind.LABOUR: "要求支付拖欠工资",
    Kind.LOAN: "要求归还借款",
    Kind.TRAFFIC: "要求赔偿车辆维修及医疗费用",
    Kind.SALE: "要求退货退款",
    Kind.DAMAGE: "要求赔偿医疗费及损失",
    Kind.OTHER: "要求协商解决",
}
AMOUNTS = {Kind.LABOUR: (2000, 30000), Kind.LOAN: (5000, 200000), Kind.TRAFFIC: (500, 8000), Kind.TENANCY: (1000, 9000)}
AMOUNTS |= {Kind.DAMAGE: (300, 20000), Kind.SALE: (200, 15000), Kind.NEIGHBOUR: (500, 5000), Kind.PROPERTY: (800, 6000)}
# Where the other side lives, nearest first.
NEAR = {Kind.FAMILY: ("house", "building", "grid"), Kind.NEIGHBOUR: ("building", "grid"), Kind.TRAFFIC: ("street",)}
POOL = (
    # (name, kind, organization, specialties)
    ("周律师", MediatorKind.LAWYER, "山东德衡律师事务所", [Kind.FAMILY, Kind.LOAN, Kind.TENANCY]),
    ("吴律师", MediatorKind.LAWYER, "山东琴岛律师事务所", [Kind.LABOUR, Kind.SALE, Kind.DAMAGE]),
    ("郑法官", MediatorKind.JUDGE, "市北区人民法院", [Kind.LOAN, Kind.TRAFFIC, Kind.FAMILY]),
    ("王主任", MediatorKind.PETITION, "市北区信访局", [Kind.PROPERTY, Kind.LABOUR, Kind.OTHER]),
    ("冯科长", MediatorKind.MARKET, "市北区市场监督管理局", [Kind.SALE, Kind.PROPERTY]),
    ("陈老师", MediatorKind.COUNSELLOR, "市北区心理咨询中心", [Kind.FAMILY, Kind.NEIGHBOUR]),
)
# An outside expert listed in the pool without an account (sits in, never leads).
POOL_GUEST = ("褚律师", MediatorKind.LAWYER, "青岛市律师协会", [Kind.TENANCY, Kind.PROPERTY])


def default_count(residents_count: int) -> int:
    """The demo's disputes for `residents_count` residents."""
    return round(residents_count * PER_RESIDENT)


def _pick(rng: random.Random, table):
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


# --- Mediation set-up ------------------------------------------------------------------------------


def setup_mediation(district: Division, accounts: dict) -> dict:
    """Rooms, mediators and the expert pool of the district, unless it has rooms; returns the counts added.

    `accounts`: the demo users by username (the mediator, the officer and the station chief get their places).
    """
    if MediationRoom.objects.filter(path__startswith=district.path).exists():
        return {}
    rng = random.Random(SEED + 3)
    streets = list(district.children.order_by("code"))
    communities = {s.code: list(s.children.order_by("code")) for s in streets}
    demo_community = accounts[Role.MEDIATOR].assignments.get(role=Role.MEDIATOR).node_code
    # Some streets also have rooms in their compounds (not the demo community: its room is the demo mediator's).
    compounds = {c.code for i, s in enumerate(streets) if i % 3 == 0 for c in communities[s.code]} - {demo_community}
    # The officers: one per community room, one per station centre and one per joint centre, an auxiliary
    # officer in each compound room (no passwords: the security administrator sets one when they start work).
    wanted = [(f"po{c.code}", c.code) for s in streets for c in communities[s.code] if c.code != demo_community]
    wanted += [(f"pa{code}", code) for code in sorted(compounds)]
    wanted += [(f"{prefix}{s.code}", s.code) for s in streets for prefix in ("ps", "pj")]
    have = set(User.objects.filter(username__in=[u for u, _n in wanted]).values_list("username", flat=True))
    core_actions.open_field_accounts(
        None,
        [
            core_actions.FieldAccount(
                u, person_name(rng), mobile(rng), Role.AUXILIARY if u.startswith("pa") else Role.OFFICER, node
            )
            for u, node in wanted
            if u not in have
        ],
    )
    users = {u.username: u for u in User.objects.filter(username__in=[u for u, _n in wanted])}
    counts = Counter()

    def room(name, kind, division):
        counts["rooms"] += 1
        return setup.save_room(None, {"name": name, "kind": kind, "division": division.code, "phone": mobile(rng)})

    def mediator(name, kind, division, where=None, user=None, **more):
        counts["mediators"] += 1
        data = {"name": name, "kind": kind, "division": division.code, "phone": mobile(rng), **more}
        data |= {"room": where.pk} if where else {}
        data |= {"username": user.username} if user else {}
        return setup.save_mediator(None, data)

    for street in streets:
        short = street.name.removesuffix("街道")
        station = room(f"{short}派出所人民调解室", RoomKind.STATION, street)
        mediator(users[f"ps{street.code}"].full_name, MediatorKind.POLICE, street, station, users[f"ps{street.code}"])
        mediator(person_name(rng), MediatorKind.PEOPLES, street, station, specialties=[Kind.NEIGHBOUR, Kind.FAMILY])
        joint = room(f"{short}街道矛盾纠纷联合调解中心", RoomKind.STREET, street)
        mediator(users[f"pj{street.code}"].full_name, MediatorKind.POLICE, street, joint, users[f"pj{street.code}"])
        mediator(person_name(rng), MediatorKind.PEOPLES, street, joint, organization=f"{short}司法所")
        for community in communities[street.code]:
            name = community.name.removesuffix("居委会").removesuffix("社区")
            own = room(f"{name}社区人民调解室", RoomKind.COMMUNITY, community)
            if community.code in compounds:
                estate = rng.choice(residents.ESTATE_HEADS) + rng.choice(residents.ESTATE_TAILS)
                compound = room(f"{estate}小区调解室", RoomKind.COMPOUND, community)
                mediator(person_name(rng), MediatorKind.PEOPLES, community, compound, specialties=[Kind.NEIGHBOUR])
                auxiliary = users[f"pa{community.code}"]
                mediator(auxiliary.full_name, MediatorKind.POLICE, community, compound, auxiliary)
            if community.code == demo_community:
                demo = accounts[Role.MEDIATOR]
                mediator(demo.full_name, MediatorKind.PEOPLES, community, own, demo, specialties=[Kind.NEIGHBOUR])
                officer = accounts[Role.OFFICER]
                mediator(officer.full_name, MediatorKind.POLICE, community, own, officer)
            else:
                officer = users[f"po{community.code}"]
                mediator(officer.full_name, MediatorKind.POLICE, community, own, officer)
                mediator(person_name(rng), MediatorKind.PEOPLES, community, own, specialties=[Kind.FAMILY])
    for n, (name, kind, organization, specialties) in enumerate(POOL, start=1):
        user = expert_account(f"expert{n:02d}", name, district)
        mediator(name, kind, district, None, user, in_pool=True, organization=organization, specialties=specialties)
    name, kind, organization, specialties = POOL_GUEST
    mediator(name, kind, district, None, None, in_pool=True, organization=organization, specialties=specialties)
    return dict(counts)


def expert_account(username: str, name: str, district: Division) -> User:
    """A plain account with the mediator role on the district, so the expert can lead disputes."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = core_actions.create_user(None, username=username, password=generate_password(), full_name=name)
    core_actions.assign_role(None, user, Role.MEDIATOR, district.code)
    return user


# --- Where disputes happen and between whom ----------------------------------------------------------


@dataclass
class Home:
    """A registry person at their current home (or, without a registry, a name at a point of a grid)."""

    person: int | None
    name: str
    lng: float
    lat: float
    address: str
    grid: str
    house: int | None = None
    building: int | None = None
    tenant: bool = False


class Places:
    """The district's people by house, building, grid and community, to draw parties from."""

    def __init__(self, district: Division, rng: random.Random, demo_community: str):
        self.rng = rng
        self.homes: list[Home] = []
        rows = (
            Residence.objects.filter(end=None, path__startswith=district.path, house__address__lng__isnull=False)
            .order_by("person_id", "-start")
            .values_list(
                "person_id",
                "person__name",
                "house__address__lng",
                "house__address__lat",
                "house__address__label",
                "house__path",
                "house_id",
                "house__building_id",
                "relation",
            )
        )
        seen = set()
        for pid, name, lng, lat, label, path, house, building, relation in rows:
            if pid not in seen:
                seen.add(pid)
                grid = path.rstrip("/").rsplit("/", 1)[-1]
                self.homes.append(Home(pid, name, lng, lat, label, grid, house, building, relation == Relation.TENANT))
        self.by = {k: defaultdict(list) for k in ("house", "building", "grid", "community", "street")}
        for h in self.homes:
            for key, value in (("house", h.house), ("building", h.building), ("grid", h.grid)):
                self.by[key][value].append(h)
            self.by["community"][h.grid[:12]].append(h)
            self.by["street"][h.grid[:9]].append(h)
        # Organizations by community: (id, code of the grid or division they lie in).
        self.organizations = defaultdict(list)
        for pk, path in Organization.objects.filter(path__startswith=district.path).values_list("pk", "path"):
            code = path.rstrip("/").rsplit("/", 1)[-1]
            self.organizations[code[:12]].append((pk, code))
        self.demo_community = demo_community
        self.grids = [] if self.homes else list(Grid.objects.filter(path__startswith=district.path))

    def anchor(self) -> Home:
        """The applicant's home: around the demo accounts for a share of disputes, else anywhere by people."""
        if not self.homes:
            return self.stranger(self.rng.choice(self.grids))
        r = self.rng.random()
        for share, key, code in (
            (AROUND_DEMO[0], "community", self.demo_community),
            (sum(AROUND_DEMO), "street", self.demo_community[:9]),
        ):
            if r < share and self.by[key].get(code):
                return self.rng.choice(self.by[key][code])
        return self.rng.choice(self.homes)

    def stranger(self, grid: Grid) -> Home:
        """A generated name at a point of the grid (no registry to draw from)."""
        shape = shapely.from_geojson(grid.geometry)
        while True:
            lng = self.rng.uniform(grid.min_lng, grid.max_lng)
            lat = self.rng.uniform(grid.min_lat, grid.max_lat)
            if shape.contains(shapely.Point(lng, lat)):
                return Home(None, person_name(self.rng), lng, lat, grid.name, grid.code)

    def other_side(self, kind: str, home: Home) -> Home:
        """The respondent: a housemate for family matters, a neighbour in the building, else someone near."""
        keys = {"house": home.house, "building": home.building, "grid": home.grid}
        keys |= {"community": home.grid[:12], "street": home.grid[:9]}
        for key in NEAR.get(kind, ("grid", "community")):
            value = keys[key]
            others = [h for h in self.by[key].get(value, ()) if h.person != home.person]
            if others:
                return self.rng.choice(others)
        if not self.homes:
            return Home(None, person_name(self.rng), home.lng, home.lat, home.address, home.grid)
        return self.rng.choice([h for h in self.homes if h.person != home.person] or self.homes)

    def organization(self, home: Home) -> tuple[int, str] | None:
        """(id, place code) of an organization in the home's community, if it has any."""
        found = self.organizations.get(home.grid[:12])
        return self.rng.choice(found) if found else None


def party(role: str, home: Home, rng: random.Random) -> dict:
    """The party as intake takes it: the registry person, or a name and a phone."""
    if home.person is not None:
        return {"role": role, "person": home.person}
    return {"role": role, "name": home.name, "phone": mobile(rng)}


# --- One dispute's life ----------------------------------------------------------------------------


@dataclass
class Plan:
    """What happens to one dispute, decided before it is taken in."""

    received: datetime
    kind: str
    source: str
    outcome: str = Outcome.AGREEMENT
    grade: str = "ordinary"
    flags: list = field(default_factory=list)
    on_spot: bool = False
    escalations: int = 0
    sessions: int = 1
    stall: timedelta = timedelta(0)
    breach: bool = False
    court: bool = False
    flare_up: bool = False
    repeat: bool = False
    administrative: bool = False
    judicial: bool = False
    # A scripted dispute stops in this state, as if its next step were still to come.
    until: str = ""


def random_plan(rng: random.Random, received: datetime) -> Plan:
    """A plan drawn from the mix of the seeds (kinds, sources, grades, outcomes and what else happens)."""
    kind, source = _pick(rng, KINDS), _pick(rng, SOURCES)
    plan = Plan(received=received, kind=kind, source=source, outcome=_pick(rng, OUTCOMES))
    r = rng.random()
    if r < MAJOR:
        plan.grade, plan.flags = "major", [Flag.THREATS, Flag.PRIOR_VIOLENCE]
    elif r < MAJOR + RED_FLAG:
        plan.flags = [rng.choice([Flag.THREATS, Flag.REPEATED_CALLS, Flag.MENTAL_HEALTH])]
    elif r < MAJOR + RED_FLAG + DIFFICULT:
        plan.grade = "difficult"
    plan.on_spot = source == Source.POLICE and plan.grade == "ordinary" and not plan.flags and rng.random() < ON_SPOT
    plan.escalations = 1 if rng.random() < ESCALATE else 0
    plan.sessions = 2 if rng.random() < SECOND_SESSION else 1
    plan.stall = timedelta(days=rng.uniform(25, 45)) if rng.random() < STALLED else timedelta(0)
    plan.breach, plan.court = rng.random() < BREACHED, rng.random() < COURT_CONFIRMED
    plan.flare_up, plan.repeat = rng.random() < FLARE_UP, rng.random() < REPEAT
    plan.administrative = not plan.flags and rng.random() < ADMINISTRATIVE.get(kind, 0)
    plan.judicial = source == Source.COURT and plan.grade == "difficult"
    return plan


def scripted(now: datetime) -> list[Plan]:
    """Disputes that put every state, card, escalation and record in even a small demo."""

    def ago(**delta) -> datetime:
        return now - timedelta(**delta)

    n, f, p = Kind.NEIGHBOUR, Kind.FAMILY, Source.POLICE
    return [
        Plan(ago(hours=3), n, p, until=State.RECEIVED),
        Plan(ago(days=1, hours=12), f, Source.WALK_IN, until=State.ACCEPTED),
        Plan(ago(days=3), Kind.TENANCY, Source.GRID, until=State.INFORMED),
        Plan(ago(days=6), Kind.PROPERTY, Source.HOTLINE, until=State.INVESTIGATING),
        Plan(ago(days=12), n, p, sessions=2, until=State.MEDIATING),
        Plan(ago(days=27), f, p, stall=timedelta(days=40)),  # yellow
        Plan(ago(days=45), Kind.LOAN, Source.WALK_IN, stall=timedelta(days=60), flags=[Flag.REPEATED_CALLS]),  # red
        Plan(ago(days=20), Kind.LABOUR, Source.PETITION, until=State.AGREED),  # terms pending
        Plan(ago(days=40), n, p, outcome=Outcome.TERMINATED, until=State.TERMINATED),
        Plan(ago(days=200), Kind.LOAN, Source.WALK_IN, outcome=Outcome.TERMINATED),  # terminated, then closed
        Plan(ago(days=5), Kind.OTHER, Source.HOTLINE, outcome=Outcome.DECLINED),
        Plan(ago(days=70), Kind.LOAN, Source.COURT, outcome=Outcome.REFERRED),
        Plan(ago(days=100), Kind.TRAFFIC, p, court=True),  # closed, court-confirmed
        Plan(ago(days=90), Kind.DAMAGE, Source.WALK_IN, breach=True),  # a term not performed
        Plan(ago(days=80), n, p, on_spot=True, escalations=1),  # on the spot -> room
        Plan(ago(days=75), f, Source.WALK_IN, escalations=1),  # room -> expert
        Plan(ago(days=60), Kind.PROPERTY, Source.GRID, grade="difficult", escalations=1),  # expert -> joint
        Plan(ago(days=50), n, p, grade="major", flags=[Flag.WEAPONS]),  # joint from the start
        Plan(ago(days=35), n, p, repeat=True, flare_up=True),  # the same neighbours again
    ]


class Life:
    """Takes one dispute through its plan with the real actions, stopping at now."""

    def __init__(self, now: datetime, rng: random.Random, staff: dict, places: Places, totals: Counter):
        """`staff`: "officers" and "workers" by community and grid code, and the "dispatcher"."""
        self.now, self.rng, self.places, self.totals = now, rng, places, totals
        self.officers, self.workers, self.dispatcher = staff["officers"], staff["workers"], staff["dispatcher"]
        self.pairs: list[tuple[Home, Home]] = []

    def live(self, plan: Plan) -> Dispute:
        """Take the dispute in, then each step of its plan at its moment while that lies before now."""
        self.plan = plan
        home, other = self.parties_of(plan)
        # A repeat is between the same two people as before.
        with_org = not plan.repeat and self.rng.random() < ORGANIZATION_SIDE.get(plan.kind, 0)
        org = self.places.organization(home) if with_org else None
        taker = self.taker(plan, home, other, org)
        dispute = intake.record_dispute(taker, self.data(plan, home, other, org), now=plan.received)
        self.pairs.append((home, other))
        self.totals["disputes"] += 1
        t = plan.received + timedelta(minutes=self.rng.uniform(20, 600))
        if plan.on_spot:
            t = plan.received + timedelta(minutes=self.rng.uniform(20, 90))
        if self.settled_at_the_scene(plan) and self.at(t):
            agreement = self.agreement(t, dispute, plan, home, other)
            session = self.minutes(t, dispute, "agreement")
            records.settle_on_spot(self.mediator(dispute), dispute, {"session": session, "agreement": agreement}, now=t)
            self.after_agreement(t, dispute, plan, len(agreement["terms"]))
            return dispute
        if plan.outcome == Outcome.DECLINED:
            self.step(
                t, dispute, "decline", reason="不属于人民调解受理范围", other_routes="可向人民法院起诉或申请劳动仲裁"
            )
            return dispute
        steps = [("accept", {}), ("inform", {}), ("investigate", {"note": "走访双方及周边群众，核实基本事实。"})]
        for action, params in steps:
            if not self.step(t, dispute, action, **params):
                return dispute
            t += timedelta(hours=self.rng.uniform(2, 40))
        t += plan.stall
        for _ in range(plan.escalations):
            if not (
                self.session(t, dispute, "continue")
                and self.step(t + HOUR, dispute, "escalate", note="双方分歧较大，提请上一级调解。")
            ):
                return dispute
            self.totals["escalated"] += 1
            t += timedelta(days=self.rng.uniform(1, 6))
        for _ in range(plan.sessions - 1):
            if not self.session(t, dispute, "continue"):
                return dispute
            t += timedelta(days=self.rng.uniform(1, 6))
        if plan.outcome == Outcome.REFERRED:
            self.step(t, dispute, "refer", to="市北区人民法院", note="一方坚持诉讼解决。")
            return dispute
        if plan.outcome == Outcome.TERMINATED:
            if self.session(t, dispute, "failed") and self.step(
                t + HOUR, dispute, "terminate", reason="双方分歧较大，调解不成", other_routes="可向人民法院起诉"
            ):
                self.step(t + 2 * DAY, dispute, "close")
            return dispute
        if not self.session(t, dispute, "agreement") or not self.at(t + HOUR):
            return dispute
        self.agree(t + HOUR, dispute, plan, home, other)
        return dispute

    def at(self, moment: datetime, dispute: Dispute | None = None) -> bool:
        """Does the next step happen: before now, and not past where the plan stops?"""
        return moment < self.now and (dispute is None or dispute.state != self.plan.until)

    def step(self, moment, dispute, action, **params) -> bool:
        """One `procedure.transition` at `moment`, if it happens; whether it did."""
        if not self.at(moment, dispute):
            return False
        procedure.transition(self.mediator(dispute), dispute, action, now=moment, **params)
        return True

    @staticmethod
    def mediator(dispute: Dispute):
        """Who takes the step: the dispute's lead (the system when it has none), so the timeline names them."""
        return dispute.lead.user if dispute.lead_id and dispute.lead.user_id else None

    @staticmethod
    def settled_at_the_scene(plan: Plan) -> bool:
        """An officer's dispute agreed at the first meeting, without delay: recorded in one go (出门一把抓)."""
        plain = not (plan.escalations or plan.stall or plan.until) and plan.sessions == 1
        return plan.on_spot and plain and plan.outcome == Outcome.AGREEMENT

    def session(self, moment, dispute, outcome) -> bool:
        """Minutes of one session at `moment`, if it happens; whether it did."""
        if not self.at(moment, dispute):
            return False
        records.record_session(self.mediator(dispute), dispute, self.minutes(moment, dispute, outcome), now=moment)
        return True

    @staticmethod
    def minutes(moment, dispute: Dispute, outcome: str) -> dict:
        """What a session at `moment` with this `outcome` records."""
        lead = dispute.lead.name if dispute.lead_id else ""
        return {
            "at": moment,
            "outcome": outcome,
            "place": dispute.room.name if dispute.room_id else dispute.address,
            "mediators": lead or (dispute.room.name if dispute.room_id else "现场民警"),
            "attendees": "、".join(p.name for p in dispute.parties.all()),
            "minutes": {
                "continue": "双方陈述各自诉求，调解员释法说理，约定下次继续调解。",
                "failed": "经多次调解，双方仍各执己见，无法达成一致。",
                "agreement": "经调解员耐心疏导，双方互谅互让，达成一致意见。",
            }[outcome],
        }

    def agreement(self, t: datetime, dispute: Dispute, plan: Plan, home: Home, other: Home) -> dict:
        """The agreement made at `t`: the respondent pays or repairs; sometimes the applicant lets it rest."""
        made = timezone.localdate(t)
        terms = [{"obligor": other.name, "text": f"{CLAIMS[plan.kind]}，按约定履行", "due_on": made + 7 * DAY}]
        if self.rng.random() < 0.4:
            terms.append({"obligor": home.name, "text": "不再就此事追究对方责任", "due_on": made + 14 * DAY})
        return {
            "deadline": made + 14 * DAY,
            "facts": dispute.facts,
            "responsibilities": "双方各自承担相应责任。",
            "method": "当面履行，调解员见证",
            "signed_on": made,
            "court_confirmation": plan.court,
            "terms": terms,
        }

    def agree(self, t: datetime, dispute: Dispute, plan: Plan, home: Home, other: Home) -> None:
        """The agreement, then what follows it."""
        agreement = self.agreement(t, dispute, plan, home, other)
        records.save_agreement(self.mediator(dispute), dispute, agreement, now=t)
        self.after_agreement(t, dispute, plan, len(agreement["terms"]))

    def after_agreement(self, t: datetime, dispute: Dispute, plan: Plan, terms: int) -> None:
        """Court confirmation, the terms performed (or not), the follow-up and closing."""
        made = timezone.localdate(t)
        self.totals["agreements"] += 1
        if plan.court and self.at(t + 3 * DAY):
            records.apply_court(
                self.mediator(dispute),
                dispute,
                {"court": "市北区人民法院", "applied_on": made + 3 * DAY},
                now=t + 3 * DAY,
            )
            if self.at(t + 10 * DAY):
                answer = {"answer": "confirmed", "answered_on": made + 10 * DAY}
                records.court_answer(self.mediator(dispute), dispute, answer, now=t + 10 * DAY)
                self.totals["court confirmed"] += 1
        for order in range(1, terms + 1):
            moment = t + timedelta(days=self.rng.uniform(1, 6 if order == 1 else 13))
            if not self.at(moment, dispute):
                return
            state = TermState.BREACHED if plan.breach and order == 1 else TermState.DONE
            records.settle_term(
                self.mediator(dispute),
                dispute,
                order,
                state,
                note="" if state == TermState.DONE else "对方未按期履行",
                now=moment,
            )
        moment = t + timedelta(days=self.rng.uniform(25, 32))
        if not self.at(moment):
            return
        visit = {"method": "phone", "performed": not plan.breach, "satisfied": not plan.breach}
        visit |= {"flare_up": plan.flare_up, "note": "电话回访，双方对调解结果表示认可。"}
        records.follow_up(self.mediator(dispute), dispute, visit, now=moment)
        self.totals["follow-ups"] += 1
        self.step(moment + HOUR, dispute, "close")

    def parties_of(self, plan: Plan) -> tuple[Home, Home]:
        """Applicant and respondent: for a repeat, two who have met here before."""
        if plan.repeat and self.pairs:
            return self.rng.choice(self.pairs)
        home = self.places.anchor()
        return home, self.places.other_side(plan.kind, home)

    def data(self, plan: Plan, home: Home, other: Home, org: tuple[int, str] | None) -> dict:
        """What intake is given: the dispute at the applicant's home, its parties, its risk."""
        respondent = {"role": "respondent", "organization": org[0]} if org else party("respondent", other, self.rng)
        rows = [party("applicant", home, self.rng), respondent]
        if self.rng.random() < THIRD_PARTY:
            rows.append({"role": "third", "name": person_name(self.rng), "phone": mobile(self.rng)})
        summary = self.rng.choice(SUMMARIES[plan.kind])
        low_high = AMOUNTS.get(plan.kind)
        data = {
            "source": plan.source,
            "kind": plan.kind,
            "mediation_type": "judicial" if plan.judicial else "administrative" if plan.administrative else "peoples",
            "summary": summary,
            "facts": f"{timezone.localtime(plan.received):%Y年%m月%d日}，{home.name}反映：{summary}，双方协商未果。",
            "claims": CLAIMS[plan.kind],
            "amount": self.rng.randrange(*low_high, 100) if low_high else None,
            "lng": home.lng,
            "lat": home.lat,
            "address": home.address,
            "parties": rows,
            "grade": plan.grade,
            "flags": plan.flags,
            "on_spot": plan.on_spot,
            "petition_pending": plan.source == Source.PETITION,
            "court_pending": plan.source == Source.COURT and plan.outcome == Outcome.REFERRED,
        }
        if plan.source == Source.POLICE:
            data["incident_number"] = f"110{timezone.localtime(plan.received):%Y%m%d%H%M%S}"
        return data

    def taker(self, plan: Plan, home: Home, other: Home, org: tuple[int, str] | None):
        """Who records it: the community officer for 110 calls and walk-ins within the community (and for
        one settled on the spot), the grid worker for the grid, the command centre for the rest; each
        reaches the parties' homes."""
        places = {home.grid, other.grid} | ({org[1]} if org else set())
        community = {code[:12] for code in places}
        if plan.source in (Source.POLICE, Source.WALK_IN) and len(community) == 1 and home.grid[:12] in self.officers:
            return self.officers[home.grid[:12]]
        if plan.source == Source.GRID and places == {home.grid} and home.grid in self.workers:
            return self.workers[home.grid]
        plan.on_spot = False  # only an officer of the place settles at the scene
        return self.dispatcher


# --- The year ---------------------------------------------------------------------------------------


def plans(count: int, now: datetime, rng: random.Random) -> list[Plan]:
    """`count` plans, the scripted ones first, the rest received over the year back from now, by day hours."""
    chosen = scripted(now)[:count]
    while len(chosen) < count:
        day = now - timedelta(days=rng.uniform(0, 365))
        hour = rng.choices(range(24), HOURS)[0]
        moment = timezone.localtime(day).replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        if moment < now:
            chosen.append(random_plan(rng, moment))
    return sorted(chosen, key=lambda p: p.received)


# Disputes per hour of the day (local time): daytime walk-ins, evening family and neighbour quarrels.
HOURS = (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 3, 3, 2.5, 2, 2.5, 3, 3, 2.5, 2.5, 3, 3.5, 3.5, 2.5, 1.5, 0.8)


def staff(accounts: dict) -> dict:
    """Who takes disputes in: each community's officer, each grid's worker, the command centre."""
    officers = {u.username[2:]: u for u in User.objects.filter(username__startswith="po", username__regex=r"^po\d+$")}
    officer = accounts[Role.OFFICER]
    officers[officer.assignments.get(role=Role.OFFICER).node_code] = officer
    workers = {u.username[2:]: u for u in User.objects.filter(username__regex=r"^gw\d+$")}
    worker = accounts[Role.GRID_WORKER]
    workers[worker.assignments.get(role=Role.GRID_WORKER).node_code] = worker
    return {"officers": officers, "workers": workers, "dispatcher": accounts[Role.DISPATCHER]}


def review_last_month(now: datetime, reviewer: User, rng: random.Random) -> int:
    """Dossier reviews (卷宗评查) of part of last month's concluded disputes, early this month."""
    first = timezone.localtime(now).replace(day=1, hour=9, minute=0, second=0, microsecond=0)
    start = (first - DAY).replace(day=1)
    concluded = Dispute.objects.filter(concluded_at__gte=start, concluded_at__lt=first, state__in=reviews.REVIEWABLE)
    candidates = [
        d
        for d in concluded.select_related("lead").order_by("concluded_at", "pk")
        if d.lead is None or d.lead.user_id != reviewer.pk
    ]
    chosen = rng.sample(candidates, math.ceil(len(candidates) * REVIEWED))
    for dispute in chosen:
        scores = {code: points for code, _label, points in reviews.CHECKLIST}
        for code in rng.sample(list(scores), rng.choice((0, 0, 1, 2))):
            scores[code] = rng.randrange(scores[code])
        moment = min(first + timedelta(days=rng.uniform(0, 4)), now - HOUR)
        reviews.review_dossier(
            reviewer, dispute, scores, "卷宗材料齐全" if sum(scores.values()) >= 95 else "", now=moment
        )
    return len(chosen)


def load_disputes(district: Division, count: int, accounts: dict, out=print) -> Counter | None:
    """Rooms and mediators, then a year of `count` disputes through the actions and one sweep; None (and
    nothing added) when the district has disputes already. `accounts`: the demo users by username."""
    counts = setup_mediation(district, accounts)
    if counts:
        out(f"Mediation: {counts['rooms']} rooms and {counts['mediators']} mediators (expert pool of {len(POOL) + 1}).")
    if count <= 0 or Dispute.objects.filter(path__startswith=district.path).exists():
        return None
    rng = random.Random(SEED + 4)
    now = timezone.now()
    demo_community = accounts[Role.MEDIATOR].assignments.get(role=Role.MEDIATOR).node_code
    totals = Counter()
    life = Life(now, rng, staff(accounts), Places(district, rng, demo_community), totals)
    # One transaction: a run that fails leaves no half year behind (and SQLite writes it in one go).
    with transaction.atomic():
        for plan in plans(count, now, rng):
            life.live(plan)
        totals["reviews"] = review_last_month(now, accounts[Role.DISTRICT_ADMIN], rng)
        swept = sweeper.sweep(now)
    totals["yellow"], totals["red"] = swept["yellow"], swept["red"]
    return totals


def summary(totals: Counter, seconds: float) -> str:
    """One paragraph for the command line."""
    states = Counter(Dispute.objects.values_list("state", flat=True))
    by_state = ", ".join(f"{states[s]} {s}" for s in State.values if states[s])
    return (
        f"Disputes: {totals['disputes']:,} over the year ({by_state}); {totals['agreements']:,} agreements, "
        f"{totals['court confirmed']} court-confirmed, {totals['follow-ups']:,} follow-ups, "
        f"{totals['escalated']} escalations, {totals['reviews']} dossier reviews; {totals['yellow']} yellow and "
        f"{totals['red']} red cards; {seconds:.1f} s."
    )
