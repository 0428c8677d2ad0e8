"""Reading and checking division files and grid GeoJSON before anything is written.

Both readers return everything they found wrong at once, with the place of each fault, so a clerk
can fix a file in one pass; the actions write only when the list is empty.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import shapely
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from anju.geo.geometry import parse_polygon
from anju.geo.models import LEVEL_BY_LENGTH, GridKind

# (file, column holding the parent's code) in the national statistics layout, top level first.
DIVISION_FILES = [
    ("provinces.csv", None),
    ("cities.csv", "provinceCode"),
    ("areas.csv", "cityCode"),
    ("streets.csv", "areaCode"),
    ("villages.csv", "streetCode"),
]
PREFIX_LENGTHS = [2, 4, 6, 9, 12]


class ImportFailed(Exception):
    """A file had faults; `errors` lists each with its place. Nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def division_path(code: str) -> str:
    """ "370203005" -> "37/3702/370203/370203005/"."""
    return "".join(code[:n] + "/" for n in PREFIX_LENGTHS if n <= len(code))


@dataclass
class DivisionRow:
    code: str
    name: str
    parent: str | None


def read_divisions(folder: Path, under: str | None = None) -> list[DivisionRow]:
    """Rows of the five files in `folder`, top level first, optionally only the subtree `under`
    and its ancestors. Raises ImportFailed listing every fault."""
    folder = Path(folder)
    errors: list[str] = []
    rows: list[DivisionRow] = []
    seen: set[str] = set()
    if under is not None and (not under.isdigit() or len(under) not in LEVEL_BY_LENGTH):
        raise ImportFailed([_("--under must be a division code of 2, 4, 6, 9 or 12 digits: %(c)s") % {"c": under}])
    for level, (filename, parent_col) in enumerate(DIVISION_FILES):
        length = PREFIX_LENGTHS[level]
        path = folder / filename
        if not path.exists():
            errors.append(_("%(f)s: file is missing") % {"f": path})
            continue
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"code", "name", *([parent_col] if parent_col else [])} - set(reader.fieldnames or [])
            if missing:
                errors.append(_("%(f)s: missing columns %(c)s") % {"f": filename, "c": ", ".join(sorted(missing))})
                continue
            for lineno, rec in enumerate(reader, start=2):
                code = (rec["code"] or "").strip()
                if under and not (code.startswith(under) or under.startswith(code)):
                    continue
                where = f"{filename}:{lineno}"
                name = (rec["name"] or "").strip()
                parent = (rec[parent_col] or "").strip() if parent_col else None
                if not (code.isascii() and code.isdigit() and len(code) == length):
                    errors.append(
                        _("%(w)s: code %(c)s should have %(n)d digits") % {"w": where, "c": code, "n": length}
                    )
                    continue
                if not name:
                    errors.append(_("%(w)s: name is empty") % {"w": where})
                if parent_col and (parent != code[: PREFIX_LENGTHS[level - 1]]):
                    errors.append(
                        _("%(w)s: parent %(p)s is not the start of code %(c)s") % {"w": where, "p": parent, "c": code}
                    )
                if code in seen:
                    errors.append(_("%(w)s: code %(c)s appears twice") % {"w": where, "c": code})
                seen.add(code)
                rows.append(DivisionRow(code, name, parent))
    if errors:
        raise ImportFailed(errors)
    return rows


@dataclass
class GridSpec:
    code: str
    name: str
    kind: str
    households: int
    community: str
    geom: BaseGeometry
    generated: bool = False


def read_grid_features(data) -> tuple[list[GridSpec], list[str]]:
    """Grid specs from a GeoJSON FeatureCollection, and the faults of each feature."""
    errors: list[str] = []
    specs: list[GridSpec] = []
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        return [], [_("the file is not a GeoJSON FeatureCollection")]
    seen: set[str] = set()
    for i, feature in enumerate(data["features"], start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            errors.append(_("feature %(i)d: not a GeoJSON Feature with properties") % {"i": i})
            continue
        code = str(props.get("code") or "").strip()
        where = _("feature %(i)d (%(c)s)") % {"i": i, "c": code or "?"}
        if not re.fullmatch(r"\d{15}", code):
            errors.append(_("%(w)s: code must be 15 digits (community code + 3-digit number)") % {"w": where})
            continue
        community = str(props.get("community") or code[:12]).strip()
        if not code.startswith(community):
            errors.append(
                _("%(w)s: code does not start with its community's code %(m)s") % {"w": where, "m": community}
            )
            continue
        if code in seen:
            errors.append(_("%(w)s: code appears twice in the file") % {"w": where})
            continue
        seen.add(code)
        name = str(props.get("name") or "").strip()
        if not name:
            errors.append(_("%(w)s: name is empty") % {"w": where})
        kind = props.get("kind") or GridKind.GENERAL
        if kind not in GridKind.values:
            errors.append(_("%(w)s: kind must be general or dedicated") % {"w": where})
        households = props.get("households", 0)
        if not isinstance(households, int) or isinstance(households, bool) or households < 0:
            errors.append(_("%(w)s: households must be a whole number of 0 or more") % {"w": where})
            households = 0
        try:
            geom = parse_polygon(feature.get("geometry"))
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        specs.append(GridSpec(code, name, kind, households, community, geom, props.get("generated") is True))
    return specs, errors


def overlap_errors(new: list[GridSpec], existing: dict[str, BaseGeometry], limit: float = 0.01) -> list[str]:
    """Faults where a new grid overlaps a sibling (same community) by more than `limit` of its area.

    `existing` maps the codes of grids already stored in the communities concerned to their shapes;
    a new grid replaces a stored one of the same code.
    """
    errors: list[str] = []
    shapes = {code: geom for code, geom in existing.items()}
    shapes.update({s.code: s.geom for s in new})
    codes = list(shapes)
    tree = shapely.STRtree([shapes[c] for c in codes])
    reported: set[tuple[str, str]] = set()
    for spec in new:
        for j in tree.query(spec.geom, predicate="intersects"):
            other = codes[j]
            if other == spec.code or other[:12] != spec.code[:12]:
                continue
            shared = spec.geom.intersection(shapes[other]).area
            share = max(shared / spec.geom.area, shared / shapes[other].area)
            pair = tuple(sorted((spec.code, other)))
            # A hair of tolerance: an overlap of exactly 1% must not fail on float noise.
            if share > limit + 1e-9 and pair not in reported:
                reported.add(pair)
                errors.append(
                    _("grid %(a)s overlaps grid %(b)s by %(p).1f%% of its area (at most 1%% is allowed)")
                    % {"a": spec.code, "b": other, "p": share * 100}
                )
    return errors
