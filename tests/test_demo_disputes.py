"""A year of demo disputes: one small run through `load_demo` (the test district, a few residents, 40
disputes), checked in helpers of one test so that it runs once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from anju.core.models import User
from anju.core.roles import Role
from anju.demo import loader
from anju.disputes.models import (
    Agreement,
    CourtAnswer,
    Dispute,
    DossierReview,
    FollowUp,
    Level,
    MediationRoom,
    Mediator,
    MediatorKind,
    Party,
    RoomKind,
    State,
    TermState,
)
from anju.disputes.sweeper import sweep
from anju.geo.models import Division, Grid

RESIDENTS, DISPUTES = 200, 40


@pytest.fixture
def demo(district, tmp_path):
    """(home, (moments before and after the run)) after `load_demo` with a few residents and disputes."""
    before = timezone.now()
    loader.load_demo(tmp_path, residents=RESIDENTS, disputes=DISPUTES, out=lambda text: None)
    return tmp_path, (before, timezone.now())


def test_demo_disputes(demo):
    check_mediation_setup()
    check_every_state()
    check_agreements()
    check_escalations_and_repeats()
    check_places_and_parties()
    check_rerun_adds_nothing(demo)


def check_mediation_setup():
    district = Division.objects.get(code=loader.DISTRICT)
    rooms = MediationRoom.objects.filter(path__startswith=district.path)
    streets, communities = district.children.count(), Division.objects.filter(parent__parent=district).count()
    assert rooms.filter(kind=RoomKind.STATION).count() == streets == rooms.filter(kind=RoomKind.STREET).count()
    assert rooms.filter(kind=RoomKind.COMMUNITY).count() == communities
    assert rooms.filter(kind=RoomKind.COMPOUND, name__endswith="小区调解室").exists()
    pool = Mediator.objects.filter(in_pool=True, division=district)
    assert {MediatorKind.LAWYER, MediatorKind.JUDGE, MediatorKind.PETITION, MediatorKind.MARKET} <= set(
        pool.values_list("kind", flat=True)
    )
    assert all(m.specialties for m in pool)
    assert pool.exclude(user=None).count() >= 6
    assert all(
        m.user.assignments.filter(role=Role.MEDIATOR, node_code=district.code).exists() for m in pool.exclude(user=None)
    )
    demo = Mediator.objects.get(user__username=Role.MEDIATOR.value)
    assert demo.room.kind == RoomKind.COMMUNITY and demo.room.division.code == loader.COMMUNITY


def check_every_state():
    disputes = Dispute.objects.all()
    assert disputes.count() == DISPUTES
    assert set(disputes.values_list("state", flat=True)) == set(State.values)
    assert disputes.filter(supervision="yellow").exists() and disputes.filter(supervision="red").exists()
    # The run swept at its end: nothing is left to card.
    assert sweep(timezone.now())["red"] == 0
    assert disputes.filter(state=State.CLOSED).count() > DISPUTES / 4
    # Someone with an account leads nearly every dispute; the demo mediator leads some in the demo community.
    assert disputes.filter(lead=None).count() <= DISPUTES // 10
    assert disputes.filter(lead__user__username=Role.MEDIATOR.value, community__code=loader.COMMUNITY).exists()


def check_agreements():
    agreements = Agreement.objects.all()
    assert agreements.exists() and all(a.terms.exists() for a in agreements)
    assert agreements.filter(terms__state=TermState.DONE).exists()
    assert agreements.filter(terms__state=TermState.BREACHED).exists()
    assert agreements.filter(terms__state=TermState.PENDING).exists()
    assert FollowUp.objects.exclude(done_at=None).exists()
    assert Dispute.objects.filter(court_confirmation__answer=CourtAnswer.CONFIRMED).exists()
    # Part of last month's concluded dossiers are reviewed, early this month.
    this_month = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    reviewed = DossierReview.objects.select_related("dispute")
    assert reviewed.exists()
    assert all(this_month - timedelta(days=31) <= r.dispute.concluded_at < this_month for r in reviewed)
    assert all(r.reviewer.username == Role.DISTRICT_ADMIN.value and 0 < r.total <= 100 for r in reviewed)


def check_escalations_and_repeats():
    escalated = Dispute.objects.filter(escalation_count__gt=0)
    assert {d.first_level for d in escalated} >= {Level.ON_SPOT, Level.ROOM, Level.EXPERT}
    assert escalated.filter(level=Level.JOINT).exists()
    assert Dispute.objects.exclude(repeat_of=None).exists()
    assert Dispute.objects.filter(first_level=Level.ON_SPOT).exists()
    # Settled at the scene: accepted, parties told, minutes and agreement at one moment, by the officer.
    at_the_scene = Dispute.objects.filter(settled_level=Level.ON_SPOT, escalation_count=0)
    assert at_the_scene.exists()
    for d in at_the_scene[:5]:
        steps = list(d.events.exclude(action__in=("receive", "assess")).order_by("id")[:4])
        assert [e.action for e in steps] == ["accept", "inform", "session", "agreement"]
        assert len({e.at for e in steps}) == 1 and {e.actor for e in steps} == {d.lead.user}
    assert Dispute.objects.filter(grade="major").exists() and Dispute.objects.exclude(flags=[]).exists()


def check_places_and_parties():
    district = Division.objects.get(code=loader.DISTRICT)
    paths = set(Grid.objects.values_list("path", flat=True)) | set(
        Division.objects.filter(path__startswith=district.path).values_list("path", flat=True)
    )
    assert all(d.path in paths for d in Dispute.objects.all())
    people = Party.objects.exclude(person=None)
    assert people.count() >= DISPUTES
    assert all(p.name == p.person.name for p in people.select_related("person"))


def check_rerun_adds_nothing(demo):
    home, _moments = demo
    counts = (Dispute.objects.count(), MediationRoom.objects.count(), Mediator.objects.count(), User.objects.count())
    loader.load_demo(home, residents=RESIDENTS, disputes=DISPUTES, out=lambda text: None)
    assert (
        Dispute.objects.count(),
        MediationRoom.objects.count(),
        Mediator.objects.count(),
        User.objects.count(),
    ) == counts
