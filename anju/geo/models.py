"""Divisions (province > city > county > street > community), grids and their teams ("4+N+N")."""

import json

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anju.core.scope import ScopedQuerySet


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("District / county")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")


# National statistics codes: the level follows from the length.
LEVEL_BY_LENGTH = {2: Level.PROVINCE, 4: Level.CITY, 6: Level.COUNTY, 9: Level.STREET, 12: Level.COMMUNITY}


class Division(models.Model):
    """An administrative division with its national statistics code."""

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=120, unique=True)
    # GeoJSON geometry (WGS-84); `geometry_generated` marks shapes the demo made up.
    geometry = models.TextField(blank=True)
    geometry_generated = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self):
        return self.name

    @property
    def geojson(self) -> dict | None:
        return json.loads(self.geometry) if self.geometry else None


class GridKind(models.TextChoices):
    GENERAL = "general", _("General grid")
    DEDICATED = "dedicated", _("Dedicated grid")


class Grid(models.Model):
    """The smallest management unit: 300-500 households under one community, with a polygon."""

    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=GridKind.choices, default=GridKind.GENERAL)
    households = models.PositiveIntegerField(_("households"), default=0)
    community = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="grids")
    path = models.CharField(max_length=120, unique=True)
    geometry = models.TextField()
    # Bounding box, so a map or a point query can skip far grids without parsing polygons.
    min_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lng = models.FloatField()
    max_lat = models.FloatField()
    area_m2 = models.FloatField(default=0)
    generated = models.BooleanField(_("generated shape"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def geojson(self) -> dict:
        return json.loads(self.geometry)


class Post(models.TextChoices):
    """The "4+N+N" of a grid: four named posts, then informants and volunteers."""

    HEAD = "head", _("Grid head")
    ADVISOR = "advisor", _("Grid advisor")
    OFFICER = "officer", _("Grid officer")
    MANAGER = "manager", _("Grid manager")
    INFORMANT = "informant", _("Informant")
    VOLUNTEER = "volunteer", pgettext_lazy("grid post", "Volunteer")


SINGLE_POSTS = (Post.HEAD, Post.ADVISOR, Post.OFFICER, Post.MANAGER)


class TeamMember(models.Model):
    """A person holding a post on a grid's team; linked to an account when they sign in."""

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="team")
    post = models.CharField(_("post"), max_length=16, choices=Post.choices)
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    user = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL)
    path = models.CharField(max_length=120, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["grid_id", "post", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "post"],
                condition=models.Q(post__in=["head", "advisor", "officer", "manager"]),
                name="one_holder_per_single_post",
            )
        ]

    def __str__(self):
        return f"{self.get_post_display()} {self.name}"
