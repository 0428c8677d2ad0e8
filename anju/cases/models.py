"""The closed loop (GB/T 30428): categories, units, routing rules, cases and what happens to them.

A case moves through the stages accept -> register (立案) -> dispatch -> handle -> report back -> check
-> close -> evaluate. Each stage has a time limit in working time; the case keeps the deadline of the
stage it is in (`due_at`) and the moment it turns yellow (`warn_at`, 80% of the limit), so the
sweeper finds due cases with one indexed query. Every step leaves a `CaseEvent` on the timeline.

A case keeps a copy of its grid's path (or its community's or district's, when it lies in no grid)
so scoped reads filter without a join (DESIGN rule 2).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.core.scope import ScopedQuerySet
from anju.core.timeline import TimelineEvent


class Level(models.TextChoices):
    """The three levels of 三级联动; a case is owned by the centre of one of them."""

    COMMUNITY = "community", _("Community")
    STREET = "street", _("Street")
    DISTRICT = "district", _("District")


LEVELS = [Level.COMMUNITY, Level.STREET, Level.DISTRICT]


class Stage(models.TextChoices):
    ACCEPT = "accept", _("Accept")
    REGISTER = "register", _("Register")
    DISPATCH = "dispatch", _("Dispatch")
    HANDLE = "handle", _("Handle")
    CHECK = "check", _("Check")
    CLOSE = "close", pgettext_lazy("case stage", "Close")


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    REGISTERED = "registered", _("Registered")
    DISPATCHED = "dispatched", _("Dispatched")
    HANDLING = "handling", _("Being handled")
    REPORTED_BACK = "reported_back", _("Reported back")
    CHECKED = "checked", _("Checked")
    CLOSED = "closed", pgettext_lazy("case state", "Closed")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


# The stage whose limit runs while a case is in each state; none in the others.
STAGE_OF = {
    State.REPORTED: Stage.ACCEPT,
    State.ACCEPTED: Stage.REGISTER,
    State.REGISTERED: Stage.DISPATCH,
    State.DISPATCHED: Stage.HANDLE,
    State.HANDLING: Stage.HANDLE,
    State.REPORTED_BACK: Stage.CHECK,
    State.CHECKED: Stage.CLOSE,
}
OPEN_STATES = frozenset(STAGE_OF) | {State.SUSPENDED}
# The same, as plain sorted values (fixed in the partial index's migration).
OPEN_STATE_VALUES = sorted(str(s) for s in OPEN_STATES)
FINAL_STATES = frozenset({State.CLOSED, State.REJECTED})


class Supervision(models.TextChoices):
    NONE = "none", _("None")
    YELLOW = "yellow", _("Yellow card")
    RED = "red", _("Red card")


class Channel(models.TextChoices):
    FIELD = "field", _("Grid worker in the field")
    RESIDENT = "resident", _("Resident")
    HOTLINE = "hotline", _("Hotline")
    POLICE = "police", _("110 transfer")
    DEVICE = "device", _("Device alarm")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311 client")


class Rating(models.TextChoices):
    PENDING = "pending", _("Awaiting rating")
    RATED = "rated", _("Rated")
    NONE = "none", _("No rating")


class Department(models.TextChoices):
    """The district departments cases go to (a district's own names come from its units)."""

    URBAN_MANAGEMENT = "urban_management", _("Urban management and law enforcement")
    HOUSING = "housing", _("Housing and urban-rural development")
    MARKET = "market", _("Market supervision")
    FIRE = "fire", _("Fire and rescue")
    ENVIRONMENT = "environment", _("Ecology and environment")
    POLICE = "police", _("Public security")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")
    HEALTH = "health", _("Health")
    TRANSPORT = "transport", _("Transport")
    HUMAN_RESOURCES = "human_resources", _("Human resources and social security")
    EMERGENCY = "emergency", _("Emergency management")
    WATER = "water", _("Water affairs")


class UnitKind(models.TextChoices):
    COMMUNITY = "community", _("Community committee")
    STREET = "street", _("Street office")
    DISTRICT = "district", _("District centre")
    DEPARTMENT = "department", _("Department")


class Unit(models.Model):
    """Who handles cases: a community committee, a street office, the district centre or a department.

    Centres (community, street, district) belong to their division; departments to the district they serve.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    # For departments: what they do (urban_management, housing, market, fire, environment, police...).
    department = models.CharField(_("department"), max_length=32, choices=Department.choices, blank=True)
    division = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path", "kind", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["division", "department"], condition=models.Q(kind="department"), name="one_department_each"
            ),
            models.UniqueConstraint(
                fields=["division"], condition=~models.Q(kind="department"), name="one_centre_per_division"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def level(self) -> str:
        return (
            Level.COMMUNITY
            if self.kind == UnitKind.COMMUNITY
            else (Level.STREET if self.kind == UnitKind.STREET else Level.DISTRICT)
        )


class UnitMember(models.Model):
    """A user who handles a unit's cases; a lead also supervises them."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="units")
    lead = models.BooleanField(_("lead"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "user"], name="unit_member_once")]
        ordering = ["unit_id", "-lead", "user_id"]

    def __str__(self):
        return f"{self.user} @ {self.unit}"


def default_limits() -> dict:
    return {"accept": "2h", "register": "2h", "dispatch": "2h", "handle": "3d", "check": "1d", "close": "1d"}


class Category(models.Model):
    """One node of the case taxonomy, with its routing defaults and time limits."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.CharField(_("description"), max_length=300, blank=True)
    # The level whose centre receives a new case of this kind, and the department that handles it
    # at district level (Unit.department); the community and street handle through their own centre.
    start_level = models.CharField(_("starting level"), max_length=16, choices=Level.choices, default=Level.COMMUNITY)
    department = models.CharField(
        _("department at district level"), max_length=32, choices=Department.choices, blank=True
    )
    # Stage -> limit in working time: "2h", "3d".
    limits = models.JSONField(_("time limits"), default=default_limits)
    reporter_confirms = models.BooleanField(_("reporter confirms the result"), default=False)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class RoutingRule(models.Model):
    """Cases of a category (and its sub-categories) in a division go first to this unit.

    The most specific division wins, then the most specific category."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules")
    division = models.ForeignKey("geo.Division", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=120, db_index=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="rules")
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "division"], name="one_rule_per_place")]
        ordering = ["path", "category__code"]

    def __str__(self):
        return f"{self.category} @ {self.division} -> {self.unit}"


def new_public_token() -> str:
    return secrets.token_urlsafe(16)


class Case(models.Model):
    """A reported problem or request, from any channel, through its whole life."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    description = models.TextField(_("description"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.REPORTED)
    # The state a suspended case returns to.
    resume_state = models.CharField(max_length=16, blank=True)

    # Where: a point (WGS-84) and what it lies in.
    lng = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    grid = models.ForeignKey("geo.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120)

    # Who must act: the level that owns the case, the unit it is with, and (once taken) the person.
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )

    # Who reported it. Name and phone are personal data: shown masked (DESIGN rule 4).
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_cases"
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=20, blank=True)
    reporter_email = models.CharField(_("reporter's e-mail"), max_length=120, blank=True)
    open311_client = models.ForeignKey(
        "cases.Open311Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    # The reporter's link: follow the case, confirm the result, rate it. Not guessable.
    public_token = models.CharField(max_length=32, unique=True, default=new_public_token)

    # Time limits of the current stage.
    stage_started_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    # The whole case, from registration to closing (extensions add to it).
    close_due_at = models.DateTimeField(_("closing deadline"), null=True, blank=True)
    supervision = models.CharField(
        _("supervision"), max_length=8, choices=Supervision.choices, default=Supervision.NONE
    )

    # Milestones, kept for the indicators.
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    dispatch_late = models.BooleanField(null=True)
    handle_late = models.BooleanField(null=True)
    close_late = models.BooleanField(null=True)
    rework_count = models.PositiveIntegerField(default=0)
    extension_count = models.PositiveIntegerField(default=0)
    escalation_count = models.PositiveIntegerField(default=0)
    # An extension asked for and not yet decided: working time, e.g. "2d".
    extension_requested = models.CharField(max_length=8, blank=True)
    extension_reason = models.CharField(max_length=300, blank=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    rating = models.CharField(_("rating"), max_length=8, choices=Rating.choices, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    # A low rating (or a failed reporter check) asks a supervisor to look again.
    flagged = models.BooleanField(_("flagged for review"), default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [
            # Scoped reads filter on a path prefix: the pattern operator class lets PostgreSQL use
            # the index for LIKE 'x%' under any collation.
            models.Index(fields=["path"], name="case_path_prefix", opclasses=["varchar_pattern_ops"]),
            # The inbox counts open cases under a path: a partial index holds only those.
            models.Index(
                fields=["path"],
                name="case_open_path",
                opclasses=["varchar_pattern_ops"],
                condition=Q(state__in=OPEN_STATE_VALUES),
            ),
            models.Index(fields=["path", "reported_at"]),
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["state", "warn_at"]),
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["category", "reported_at"]),
            models.Index(fields=["rating", "closed_at"]),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("case_detail", args=[self.number])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def stage(self) -> str | None:
        return STAGE_OF.get(self.state)


class CaseEvent(TimelineEvent):
    """One step on a case's timeline: who did what, when, from which state to which, and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self):
        return f"{self.case_id} {self.action}"


def photo_path(instance, filename: str) -> str:
    return f"cases/{instance.case.reported_at:%Y/%m}/{filename}"


class CasePhoto(models.Model):
    """A photo of the scene or of the result, attached to the step it was taken at."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.file.name


class SummonsState(models.TextChoices):
    SUMMONED = "summoned", _("Summoned")
    REPORTED_IN = "reported_in", _("Reported in")
    DONE = "done", _("Done")


class Summons(models.Model):
    """吹哨报到: a department called onto a case; it must report in by `due_at`, then act."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="summonses")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="summonses")
    state = models.CharField(max_length=16, choices=SummonsState.choices, default=SummonsState.SUMMONED)
    summoned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    summoned_at = models.DateTimeField()
    due_at = models.DateTimeField(_("report in by"))
    reported_in_at = models.DateTimeField(null=True, blank=True)
    reported_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Red-carded: the report-in came late or not at all.
    red = models.BooleanField(default=False)

    class Meta:
        ordering = ["summoned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "unit"], condition=~models.Q(state="done"), name="one_open_summons_per_unit"
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return f"{self.case_id} -> {self.unit}"


class Open311Client(models.Model):
    """An outside application allowed to post requests through Open311. Only the key's SHA-256 is kept."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name
