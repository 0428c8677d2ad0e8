"""一标三实: standard addresses, buildings, houses, people, residences, organizations, vehicles.

Records collected in the field are "pending" until a community officer verifies them; a change to a
verified record waits in `pending` (field -> new value) until it is verified too. Every change leaves a
`Revision` (who, when, old and new values), shown on the record's page.

Each record keeps a copy of its grid's `path` (or its community's, when it lies in no grid) so scoped
reads filter without a join (DESIGN rule 2).
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.core.scope import ScopedQuerySet

# Hotel-style rental: a tenant must be registered within this many days of moving in.
RENTAL_REGISTRATION_DAYS = 3
# A foreign national staying outside a hotel is registered within 24 hours of arriving.
FOREIGN_REGISTRATION_DAYS = 1


def new_qr_token() -> str:
    """The unguessable part of a house's or building's QR code address."""
    return secrets.token_urlsafe(12)


class Status(models.TextChoices):
    PENDING = "pending", _("Pending verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class Channel(models.TextChoices):
    FIELD = "field", _("Field collection")
    SELF = "self", _("Self-declaration (QR)")
    IMPORT = "import", _("Import")


class Collected(models.Model):
    """What every collected record carries: scope, collection and verification state."""

    path = models.CharField(max_length=120)
    grid = models.ForeignKey("geo.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.FIELD)
    # Proposed changes to a verified record, field -> new value, applied when verified.
    pending = models.JSONField(default=dict, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse(f"registry_{record_type(self)}", args=[self.pk])

    @property
    def awaiting_verification(self) -> bool:
        return self.status == Status.PENDING or bool(self.pending)


class Address(models.Model):
    """A standard address (标准地址): community > road > door number > estate > building > unit > floor > room.

    `key` is the canonical form (community code and the normalised parts); two addresses with the same
    key are the same address, so a second one is refused.
    """

    community = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("geo.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120)
    road = models.CharField(_("road / lane"), max_length=60, blank=True)
    door_number = models.CharField(_("door number"), max_length=20, blank=True)
    estate = models.CharField(_("estate"), max_length=60, blank=True)
    building = models.CharField(_("building"), max_length=20, blank=True)
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    floor = models.CharField(_("floor"), max_length=10, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    key = models.CharField(max_length=250, unique=True)
    label = models.CharField(_("address"), max_length=250)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        indexes = [
            models.Index(fields=["path"]),
            models.Index(fields=["community", "road", "door_number"]),
            models.Index(fields=["community", "estate", "building"]),
            # Free-text search matches on road or estate (prefix) with the building; the pattern
            # operator class lets PostgreSQL use the index for LIKE 'x%' under any collation.
            models.Index(fields=["road", "building"]),
            models.Index(
                fields=["estate", "building"],
                name="address_estate_prefix",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return self.label

    PARTS = ("road", "door_number", "estate", "building", "unit", "floor", "room")

    def as_fields(self) -> dict:
        """The parts in the address parser's field names, for scoring."""
        return {name: getattr(self, name) or None for name in self.PARTS}


def _natural(text: str) -> tuple:
    """Digits compare as numbers: 2 before 10, 201 before 1001."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or ""))


def room_order(address) -> tuple:
    """How rooms are listed: by unit, floor and room, numbers as numbers."""
    return (_natural(address.unit), _natural(address.floor), _natural(address.room))


class Building(models.Model):
    """A building (楼栋) with its facts and the one grid worker who answers for it (包保)."""

    address = models.OneToOneField(Address, on_delete=models.PROTECT, related_name="building_record")
    grid = models.ForeignKey("geo.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=120, db_index=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    units = models.PositiveSmallIntegerField(_("units"), null=True, blank=True)
    property_company = models.CharField(_("property company"), max_length=100, blank=True)
    steward_name = models.CharField(_("building steward"), max_length=40, blank=True)
    steward_phone = models.CharField(_("steward's phone"), max_length=20, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
        verbose_name=_("responsible worker"),
    )
    qr_token = models.CharField(max_length=24, unique=True, default=new_qr_token)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["address__key"]

    def __str__(self):
        return self.address.label

    def get_absolute_url(self) -> str:
        return reverse("registry_building", args=[self.pk])


class HouseUse(models.TextChoices):
    SELF = "self", _("Self-occupied")
    RENTED = "rented", _("Rented")
    VACANT = "vacant", _("Vacant")
    BUSINESS = "business", _("Business")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class House(Collected):
    """A house (实有房屋): one room-level standard address and what it is used for."""

    address = models.OneToOneField(Address, on_delete=models.PROTECT, related_name="house")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT, related_name="houses")
    use = models.CharField(_("use"), max_length=16, choices=HouseUse.choices, default=HouseUse.UNKNOWN)
    owner = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="houses_owned", verbose_name=_("owner")
    )
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    hazards = models.CharField(_("hazard notes"), max_length=300, blank=True)
    qr_token = models.CharField(max_length=24, unique=True, default=new_qr_token)

    class Meta:
        ordering = ["address__key"]
        indexes = [models.Index(fields=["path", "status"]), models.Index(fields=["path", "use"])]

    def __str__(self):
        return self.address.label

    EDITABLE = ("use", "owner_id", "area_m2", "hazards")


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class PersonKind(models.TextChoices):
    REGISTERED = "registered", _("Registered resident")
    FLOATING = "floating", _("Floating population")
    FOREIGN = "foreign", _("Foreign national")


class Person(Collected):
    """A person (实有人口). One record however many times they move; `path` follows where they live."""

    name = models.CharField(_("name"), max_length=64)
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True, unique=True)
    passport_number = models.CharField(_("passport number"), max_length=20, blank=True)
    nationality = models.CharField(_("nationality"), max_length=3, blank=True, help_text=_("ISO 3166 code"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    hukou_place = models.CharField(_("household-registration place"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=PersonKind.choices)
    residence_permit = models.CharField(_("residence permit number"), max_length=30, blank=True)
    residence_permit_until = models.DateField(_("residence permit valid until"), null=True, blank=True)

    class Meta:
        ordering = ["path", "name", "id"]
        indexes = [
            models.Index(fields=["path", "status"]),
            models.Index(fields=["name"], name="person_name_prefix", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["nationality", "passport_number"],
                condition=~Q(passport_number=""),
                name="person_passport_unique",
            ),
            models.CheckConstraint(condition=~Q(id_number=None) | ~Q(passport_number=""), name="person_has_document"),
        ]

    def __str__(self):
        return self.name

    EDITABLE = (
        "name",
        "phone",
        "ethnicity",
        "hukou_place",
        "kind",
        "residence_permit",
        "residence_permit_until",
        "passport_number",
        "nationality",
    )


class Relation(models.TextChoices):
    OWNER = "owner", pgettext_lazy("residence relation", "Owner")
    FAMILY = "family", _("Family member")
    TENANT = "tenant", _("Tenant")
    DORMITORY = "dormitory", _("Employee dormitory")
    RELATIVE = "relative", _("Relative or friend staying")
    OTHER = "other", _("Other")


class Residence(Collected):
    """Who lives in which house (实有人口 <-> 实有房屋): from, to, relation.

    Moving out retires the residence (核销): `end` is set, the row stays. A tenant's registration is
    due `RENTAL_REGISTRATION_DAYS` after moving in; it is complete once verified.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="residences")
    house = models.ForeignKey(House, on_delete=models.PROTECT, related_name="residences")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    start = models.DateField(_("moved in"))
    end = models.DateField(_("moved out"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=120, blank=True)
    end_reason = models.CharField(_("reason for leaving"), max_length=120, blank=True)
    registration_due = models.DateField(_("registration due"), null=True, blank=True)
    contract_photo = models.FileField(_("contract photo"), upload_to="contracts/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["path", "status", "registration_due"]),
            models.Index(fields=["house", "end"]),
            models.Index(fields=["person", "end"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "house"], condition=Q(end=None), name="one_open_residence_per_house"
            )
        ]

    def __str__(self):
        return f"{self.person} @ {self.house}"

    @property
    def overdue(self) -> bool:
        from django.utils import timezone

        return (
            self.end is None
            and self.status == Status.PENDING
            and self.registration_due is not None
            and self.registration_due < timezone.localdate()
        )

    EDITABLE = ("relation", "start", "reason")

    @staticmethod
    def due_for(relation: str, start, foreign: bool = False):
        """The registration deadline of a residence: a foreign national's stay is registered within
        24 hours (Exit and Entry Administration Law, art. 39), so by the next day; a tenant's within
        RENTAL_REGISTRATION_DAYS (hotel-style rental); others have none."""
        if foreign:
            return start + timedelta(days=FOREIGN_REGISTRATION_DAYS)
        return start + timedelta(days=RENTAL_REGISTRATION_DAYS) if relation == Relation.TENANT else None


class OrganizationKind(models.TextChoices):
    SHOP = "shop", _("Shop")
    HOTEL = "hotel", _("Hotel")
    RESTAURANT = "restaurant", _("Restaurant")
    VENUE = "venue", _("Entertainment venue")
    SCHOOL = "school", _("School or kindergarten")
    EMPLOYER = "employer", _("Company or employer")
    MARKET = "market", _("Market")
    HOSPITAL = "hospital", _("Clinic or hospital")
    GOVERNMENT = "government", _("Public body")
    OTHER = "other", _("Other")


class Organization(Collected):
    """An organization (实有单位): shops, hotels, venues, schools, employers, markets."""

    name = models.CharField(_("name"), max_length=120)
    uscc = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True, unique=True)
    kind = models.CharField(_("type"), max_length=16, choices=OrganizationKind.choices)
    legal_representative = models.CharField(_("legal representative"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="organizations")
    key_unit = models.BooleanField(_("key unit"), default=False)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)

    class Meta:
        ordering = ["path", "name"]
        indexes = [models.Index(fields=["path", "status"]), models.Index(fields=["name"])]

    def __str__(self):
        return self.name

    EDITABLE = ("name", "kind", "legal_representative", "phone", "key_unit", "employees")


class VehicleKind(models.TextChoices):
    CAR = "car", _("Car")
    NEW_ENERGY = "new_energy", _("New-energy car")
    EBIKE = "ebike", _("E-bike")


class Vehicle(Collected):
    """A vehicle (实有车辆): car plates (GA 36, 8-character new-energy plates) and e-bike plates."""

    plate = models.CharField(_("plate"), max_length=12, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=VehicleKind.choices)
    owner = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="vehicles")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="vehicles"
    )
    brand = models.CharField(_("brand and model"), max_length=60, blank=True)
    color = models.CharField(_("colour"), max_length=20, blank=True)

    class Meta:
        ordering = ["plate"]
        indexes = [models.Index(fields=["path", "status"])]

    def __str__(self):
        return self.plate

    EDITABLE = ("brand", "color", "owner_id", "organization_id")


class Revision(models.Model):
    """One change to a registry record: who, when, what (collect, change, verify, reject...), old -> new."""

    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30)
    # field -> [old, new]
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id", "at"]), models.Index(fields=["action", "at"])]

    def __str__(self):
        return f"{self.record_type}#{self.record_id} {self.action}"

    @property
    def code(self) -> str:
        """The audit action code of this change ("person.verify"), for its readable label."""
        return f"{self.record_type}.{self.action}"


RECORD_TYPES = {
    "person": Person,
    "house": House,
    "residence": Residence,
    "organization": Organization,
    "vehicle": Vehicle,
}


def record_type(record) -> str:
    """The short name a record's revisions are filed under."""
    return type(record)._meta.model_name
