"""Dispute mediation (矛盾纠纷多元化解) in the shape of the People's Mediation Law.

A dispute is taken in from any source, assessed for risk (grade and civil-to-criminal flags),
routed by grade to a level (on the spot, a mediation room, the expert pool, joint mediation led by
the street), then accepted or declined, the parties informed, the facts investigated, mediated in
sessions with minutes, and concluded by a versioned agreement or a termination. Agreements are
followed to performance, visited again (回访) and, when the parties ask, confirmed by a court.

Like a case, a dispute keeps a copy of its grid's (or division's) path for scoped reads, the deadline
of its 30-day mediation period with its 80 % mark, and a timeline of events.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.cases.models import Supervision
from anju.core.scope import ScopedQuerySet
from anju.core.timeline import TimelineEvent


class Source(models.TextChoices):
    POLICE = "police", _("110 call")
    WALK_IN = "walk_in", _("Walk-in")
    GRID = "grid", _("Grid worker")
    COURT = "court", _("Court referral")
    PETITION = "petition", _("Petition-office referral")
    HOTLINE = "hotline", _("Hotline")
    CASE = "case", _("Reported case")


class Kind(models.TextChoices):
    FAMILY = "family", _("Marriage and family")
    NEIGHBOUR = "neighbour", _("Neighbours")
    PROPERTY = "property", _("Property management")
    TENANCY = "tenancy", _("Tenancy")
    SALE = "sale", _("Sale and consumption")
    LABOUR = "labour", _("Labour and wages")
    TRAFFIC = "traffic", _("Traffic accident")
    LOAN = "loan", _("Loans and debts")
    DAMAGE = "damage", _("Damage and injury")
    OTHER = "other", _("Other")


class MediationType(models.TextChoices):
    """三调对接: who mediates, and so what an agreement is worth."""

    PEOPLES = "peoples", _("People's mediation")
    ADMINISTRATIVE = "administrative", _("Administrative mediation")
    JUDICIAL = "judicial", _("Judicial mediation")


class Grade(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    DIFFICULT = "difficult", _("Difficult")
    MAJOR = "major", _("Major")


GRADES = [Grade.ORDINARY, Grade.DIFFICULT, Grade.MAJOR]


class Flag(models.TextChoices):
    """Signs that a civil dispute may turn criminal (民转刑)."""

    THREATS = "threats", _("Threats")
    PRIOR_VIOLENCE = "prior_violence", _("Prior violence")
    WEAPONS = "weapons", _("Weapons")
    REPEATED_CALLS = "repeated_calls", _("Repeated calls")
    MENTAL_HEALTH = "mental_health", _("Mental-health concerns")


class Level(models.TextChoices):
    """Where a dispute is mediated, lowest first; each can escalate to the next."""

    ON_SPOT = "on_spot", _("On the spot")
    ROOM = "room", _("Mediation room")
    EXPERT = "expert", _("Expert pool")
    JOINT = "joint", _("Joint mediation")


LEVELS = [Level.ON_SPOT, Level.ROOM, Level.EXPERT, Level.JOINT]
# Settled "at the first level": on the spot or in the compound / community room (seed 003's 42 of 46).
FIRST_LEVELS = frozenset({Level.ON_SPOT, Level.ROOM})


class State(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("dispute state", "Received")
    ACCEPTED = "accepted", _("Accepted")
    INFORMED = "informed", _("Parties informed")
    INVESTIGATING = "investigating", _("Investigating")
    MEDIATING = "mediating", _("Mediating")
    AGREED = "agreed", _("Agreement reached")
    TERMINATED = "terminated", _("Mediation terminated")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred elsewhere")
    CLOSED = "closed", pgettext_lazy("dispute state", "Closed")


# Mediation is under way: the 30-day period runs (from acceptance) and the dispute can escalate.
OPEN_STATES = frozenset({State.RECEIVED, State.ACCEPTED, State.INFORMED, State.INVESTIGATING, State.MEDIATING})
TIMED_STATES = OPEN_STATES - {State.RECEIVED}
# Still someone's work: open, or agreed and being performed.
ACTIVE_STATES = OPEN_STATES | {State.AGREED}
FINAL_STATES = frozenset({State.DECLINED, State.REFERRED, State.CLOSED})


class Outcome(models.TextChoices):
    AGREEMENT = "agreement", _("Agreement")
    TERMINATED = "terminated", _("Terminated")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred")


class RoomKind(models.TextChoices):
    COMPOUND = "compound", _("Compound mediation room")
    COMMUNITY = "community", _("Community mediation room")
    STATION = "station", _("Police-station mediation centre")
    STREET = "street", _("Street joint mediation centre")


class MediationRoom(models.Model):
    """A place where disputes are mediated, with its mediators (笑脸调解室, 源缘空间, 联调中心...)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RoomKind.choices)
    division = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path", "kind", "name"]

    def __str__(self):
        return self.name


class MediatorKind(models.TextChoices):
    PEOPLES = "peoples", _("People's mediator")
    POLICE = "police", _("Police officer")
    LAWYER = "lawyer", _("Lawyer")
    JUDGE = "judge", _("Judge")
    PETITION = "petition", _("Petition-office staff")
    MARKET = "market", _("Market-supervision staff")
    COUNSELLOR = "counsellor", _("Psychological counsellor")
    OTHER = "other", _("Other expert")


# Who may lead each kind of mediation; anyone may sit in beside the lead.
LEAD_KINDS = {
    MediationType.PEOPLES: frozenset(
        {MediatorKind.PEOPLES, MediatorKind.LAWYER, MediatorKind.COUNSELLOR, MediatorKind.OTHER, MediatorKind.POLICE}
    ),
    MediationType.ADMINISTRATIVE: frozenset({MediatorKind.POLICE, MediatorKind.PETITION, MediatorKind.MARKET}),
    MediationType.JUDICIAL: frozenset({MediatorKind.JUDGE}),
}


class Mediator(models.Model):
    """A mediator of a room, or a member of the expert pool (智库), with specialties and a load limit.

    Experts from outside (lawyers, judges) may be listed without an account; only mediators with an
    account can lead a dispute in the system.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mediator"
    )
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=MediatorKind.choices)
    organization = models.CharField(_("organization"), max_length=100, blank=True)
    # Dispute kinds (Kind values) the mediator is good at.
    specialties = models.JSONField(_("specialties"), default=list, blank=True)
    room = models.ForeignKey(MediationRoom, null=True, blank=True, on_delete=models.SET_NULL, related_name="mediators")
    in_pool = models.BooleanField(_("expert pool member"), default=False)
    division = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120, db_index=True)
    capacity = models.PositiveSmallIntegerField(_("open disputes at most"), default=8)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path", "name", "id"]

    def __str__(self):
        return self.name


class Dispute(models.Model):
    """One dispute, from intake to closing."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    mediation_type = models.CharField(
        _("kind of mediation"), max_length=16, choices=MediationType.choices, default=MediationType.PEOPLES
    )
    summary = models.CharField(_("summary"), max_length=200)
    facts = models.TextField(_("facts"))
    claims = models.TextField(_("claims"), blank=True)
    # Amount in dispute, yuan (wages, loans, damages), when there is one.
    amount = models.DecimalField(_("amount in dispute"), max_digits=12, decimal_places=2, null=True, blank=True)

    # Risk, from the latest assessment.
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices, default=Grade.ORDINARY)
    flags = models.JSONField(_("risk flags"), default=list, blank=True)
    petition_pending = models.BooleanField(_("also before the petition office"), default=False)
    court_pending = models.BooleanField(_("also before a court"), default=False)

    # Where.
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey("geo.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120)

    # Who mediates.
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    first_level = models.CharField(max_length=16, choices=Level.choices)
    room = models.ForeignKey(MediationRoom, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    lead = models.ForeignKey(
        Mediator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_disputes",
        verbose_name=pgettext_lazy("dispute", "lead"),
    )
    mediators = models.ManyToManyField(Mediator, blank=True, related_name="disputes")

    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    # Why declined, terminated or referred, and which other routes the parties were told of.
    outcome_reason = models.TextField(_("reason for the outcome"), blank=True)
    other_routes = models.CharField(_("other routes"), max_length=300, blank=True)
    referred_to = models.CharField(_("referred to"), max_length=100, blank=True)

    # Links: cases of the closed loop, the 110 incident number, an earlier dispute of the same parties.
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="disputes")
    incident_number = models.CharField(_("110 incident number"), max_length=30, blank=True)
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats", verbose_name=_("repeat of")
    )

    received_at = models.DateTimeField(_("received at"), db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    # The 30-day period from acceptance: its 80 % mark and its end.
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    supervision = models.CharField(
        _("supervision"), max_length=8, choices=Supervision.choices, default=Supervision.NONE
    )
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    concluded_late = models.BooleanField(null=True)
    settled_level = models.CharField(max_length=16, choices=Level.choices, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["path"], name="dispute_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["path", "received_at"]),
            models.Index(fields=["state", "warn_at"]),
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["lead", "state"]),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("dispute_detail", args=[self.number])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def red_flag(self) -> bool:
        return bool(self.flags)


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    RESPONDENT = "respondent", _("Respondent")
    THIRD = "third", _("Third party")


class Party(models.Model):
    """A party to a dispute: a person (from the registry or recorded here) or an organization."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("role"), max_length=16, choices=PartyRole.choices)
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="dispute_parties"
    )
    organization = models.ForeignKey(
        "registry.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="dispute_parties"
    )
    name = models.CharField(_("name"), max_length=120)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    # For an organization: who speaks for it.
    representative = models.CharField(_("representative"), max_length=64, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dispute_id", "order", "id"]
        verbose_name_plural = "parties"

    def __str__(self):
        return self.name


class RiskAssessment(models.Model):
    """One assessment of a dispute's risk: at intake, at each session, or whenever someone re-assesses."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="assessments")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    context = models.CharField(max_length=16)  # intake / session / review
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices)
    flags = models.JSONField(_("risk flags"), default=list, blank=True)
    petition_pending = models.BooleanField(_("also before the petition office"), default=False)
    court_pending = models.BooleanField(_("also before a court"), default=False)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.dispute_id} {self.grade}"


class SessionOutcome(models.TextChoices):
    CONTINUE = "continue", _("To be continued")
    AGREEMENT = "agreement", _("Agreement reached")
    FAILED = "failed", _("No agreement")


class Session(models.Model):
    """A mediation session and its minutes (调解笔录)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    mediators = models.CharField(_("mediators"), max_length=300)
    attendees = models.TextField(_("attended"))
    minutes = models.TextField(_("minutes"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=SessionOutcome.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["dispute_id", "number"]
        constraints = [models.UniqueConstraint(fields=["dispute", "number"], name="session_number_once")]

    def __str__(self):
        return f"{self.dispute_id} #{self.number}"


class Agreement(models.Model):
    """One version of the mediation agreement (调解协议书); the highest version is the one in force."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="agreements")
    version = models.PositiveSmallIntegerField()
    made_at = models.DateTimeField(_("made at"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    facts = models.TextField(_("facts and the dispute"))
    responsibilities = models.TextField(_("responsibilities"))
    method = models.CharField(_("method of performance"), max_length=200)
    deadline = models.DateField(_("perform by"))
    # The parties mean to ask a court to confirm it (司法确认).
    court_confirmation = models.BooleanField(_("parties will apply for court confirmation"), default=False)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)

    class Meta:
        ordering = ["dispute_id", "version"]
        constraints = [models.UniqueConstraint(fields=["dispute", "version"], name="agreement_version_once")]

    def __str__(self):
        return f"{self.dispute_id} v{self.version}"


class TermState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("agreement term", "Pending")
    DONE = "done", _("Performed")
    BREACHED = "breached", _("Not performed")


class Term(models.Model):
    """One obligation of an agreement: who does what by when, tracked to done."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="terms")
    order = models.PositiveSmallIntegerField()
    obligor = models.CharField(_("who performs"), max_length=120)
    text = models.TextField(_("term"))
    due_on = models.DateField(_("due on"))
    state = models.CharField(_("state"), max_length=16, choices=TermState.choices, default=TermState.PENDING)
    settled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["agreement_id", "order"]

    def __str__(self):
        return f"{self.agreement} #{self.order}"


class FollowUpMethod(models.TextChoices):
    VISIT = "visit", _("Home visit")
    PHONE = "phone", _("Phone call")


class FollowUp(models.Model):
    """A follow-up visit (回访): scheduled after the agreement, then recorded."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="follow_ups")
    due_on = models.DateField(_("due on"))
    method = models.CharField(_("method"), max_length=8, choices=FollowUpMethod.choices, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    performed = models.BooleanField(_("agreement performed"), null=True)
    satisfied = models.BooleanField(_("parties satisfied"), null=True)
    flare_up = models.BooleanField(_("signs of flare-up"), null=True)
    note = models.TextField(_("note"), blank=True)
    reminded = models.BooleanField(default=False)

    class Meta:
        ordering = ["dispute_id", "due_on", "id"]
        indexes = [models.Index(fields=["done_at", "due_on"])]

    def __str__(self):
        return f"{self.dispute_id} {self.due_on}"


class CourtAnswer(models.TextChoices):
    PENDING = "pending", _("Awaiting the court")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Not confirmed")


class CourtConfirmation(models.Model):
    """司法确认: the parties' joint application (within 30 days of the agreement) and the court's answer.

    `referral_number` is the court's reference of the online hand-off (诉调对接)."""

    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, related_name="court_confirmation")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    court = models.CharField(_("court"), max_length=100)
    applied_on = models.DateField(_("applied on"))
    referral_number = models.CharField(_("court's referral number"), max_length=60, blank=True)
    answer = models.CharField(_("answer"), max_length=16, choices=CourtAnswer.choices, default=CourtAnswer.PENDING)
    answered_on = models.DateField(_("answered on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"{self.dispute_id} {self.court}"


class DossierReview(models.Model):
    """卷宗评查: a reviewer scores a concluded dossier against the checklist (`reviews.CHECKLIST`)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField()
    # Checklist item -> points given.
    scores = models.JSONField(default=dict)
    total = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(pgettext_lazy("dossier review", "comment"), blank=True)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["dispute", "reviewer"], name="one_review_per_reviewer")]
        indexes = [models.Index(fields=["reviewed_at"])]

    def __str__(self):
        return f"{self.dispute_id} {self.total}"


class DisputeEvent(TimelineEvent):
    """One step on a dispute's timeline."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["dispute", "at"])]
