"""The audited, masked XLSX export of registry records under a division or grid.

Masking is the reading pages' (DESIGN rule 4, `queries`): a person's fields as `queries.person_fields`
gives them masked; other people's names (house owners, residents, vehicle owners, legal
representatives) as `queries.shown_name`; every phone masked. An export is never unmasked.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from anju.core import audit, masking, scope
from anju.core.roles import Perm
from anju.registry import queries
from anju.registry.actions.imports import check_kind
from anju.registry.models import House, Organization, Person, Residence, Vehicle
from anju.registry.spreadsheets import write_xlsx

KINDS = ("people", "houses", "residences", "organizations", "vehicles")
CHUNK = 2000


def _person_row(user, p: Person) -> list:
    f = queries.person_fields(user, p)
    return [
        f["name"],
        f["id_number"],
        f["passport_number"],
        f["nationality"],
        p.get_sex_display(),
        f["birth_year"],
        f["ethnicity"],
        f["phone"],
        f["hukou_place"],
        p.get_kind_display(),
        f["residence_permit"],
        f["residence_permit_until"],
        f["grid"] or "",
        p.get_status_display(),
    ]


def _house_row(user, h: House) -> list:
    return [
        h.address.label,
        h.address.community_id,
        h.grid.code if h.grid_id else "",
        h.get_use_display(),
        h.area_m2,
        h.hazards,
        queries.shown_name(user, h.owner) if h.owner_id else "",
        h.get_status_display(),
    ]


def _residence_row(user, r: Residence) -> list:
    person = queries.person_fields(user, r.person)
    return [
        person["name"],
        person["id_number"] or person["passport_number"],
        r.house.address.label,
        r.get_relation_display(),
        r.start,
        r.end,
        r.registration_due,
        r.get_status_display(),
    ]


def _organization_row(user, o: Organization) -> list:
    return [
        o.name,
        o.uscc or "",
        o.get_kind_display(),
        queries.shown_name(user, o, o.legal_representative),
        masking.mask_phone(o.phone),
        _("yes") if o.key_unit else "",
        o.employees,
        o.address.label,
        o.get_status_display(),
    ]


def _vehicle_row(user, v: Vehicle) -> list:
    holder = queries.shown_name(user, v.owner) if v.owner_id else (v.organization.name if v.organization_id else "")
    return [v.plate, v.get_kind_display(), holder, v.brand, v.color, v.get_status_display()]


# kind -> (model, related rows to read with it, Chinese headers, row maker). The headers match the import
# templates where the column is the same.
SHEETS = {
    "people": (
        Person,
        ("grid",),
        [
            "姓名",
            "身份证号",
            "护照号",
            "国籍",
            "性别",
            "出生年份",
            "民族",
            "联系电话",
            "户籍地",
            "人员类别",
            "居住证号",
            "居住证有效期",
            "网格编码",
            "状态",
        ],
        _person_row,
    ),
    "houses": (
        House,
        ("address", "grid", "owner"),
        ["地址", "社区编码", "网格编码", "房屋用途", "面积", "隐患", "房主", "状态"],
        _house_row,
    ),
    "residences": (
        Residence,
        ("person__grid", "house__address"),
        ["姓名", "证件号码", "地址", "关系", "入住日期", "迁出日期", "登记期限", "状态"],
        _residence_row,
    ),
    "organizations": (
        Organization,
        ("address",),
        ["单位名称", "统一社会信用代码", "单位类型", "法定代表人", "联系电话", "重点单位", "从业人数", "地址", "状态"],
        _organization_row,
    ),
    "vehicles": (
        Vehicle,
        ("owner", "organization"),
        ["号牌", "车辆类型", "车主", "品牌型号", "颜色", "状态"],
        _vehicle_row,
    ),
}


def export_roots(actor, under: str | None) -> list[str]:
    """The scope paths an export covers: the node `under` (a division or grid code) or, without it,
    every node where the actor may manage the registry. 404 outside the actor's scope, 403 without
    registry.manage there."""
    if actor is not None and not scope.has_perm(actor, Perm.REGISTRY_VIEW):
        raise Http404
    if under:
        node = scope.node_lookup(str(under).strip())
        if node is None or (actor is not None and not scope.in_scope(actor, node.path)):
            raise Http404
        if actor is not None and not scope.has_perm(actor, Perm.REGISTRY_MANAGE, node.path):
            raise PermissionDenied
        return [node.path]
    if actor is None:
        return [""]
    roots = sorted({a.path for a in scope.assignments(actor) if scope.has_perm(actor, Perm.REGISTRY_MANAGE, a.path)})
    if not roots:
        raise PermissionDenied
    return roots


def export_xlsx(actor, kind: str, under: str | None, out) -> int:
    """Write the `kind` records in the actor's scope under `under` to `out` as a masked XLSX sheet.

    Returns the number of rows; audited as "registry.export" with it. Needs registry.manage there.
    """
    check_kind(kind, KINDS)
    roots = export_roots(actor, under)
    model, related, headers, row = SHEETS[kind]
    records = model.objects.all() if actor is None else model.objects.restrict(actor)
    where = Q()
    for root in roots:
        where |= Q(path__startswith=root)
    records = records.filter(where).select_related(*related).order_by("path", "pk")
    count = write_xlsx(out, kind, headers, _rows(actor, records, row))
    audit.record(
        "registry.export",
        user=actor,
        username="cli",
        object_type="registry." + kind,
        object_id=under or "",
        detail={"kind": kind, "under": under or "", "rows": count},
    )
    return count


def _rows(actor, records, row) -> Iterable[list]:
    for record in records.iterator(chunk_size=CHUNK):
        yield row(actor, record)
