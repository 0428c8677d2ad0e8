"""The append-only, hash-chained audit log: one `record()` to write, one `verify()` to check."""

import contextvars
import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.models import AuditEvent, AuditHead

GENESIS = "0" * 64

# What each action code means, for the audit page; codes stay as they are in the data and the API.
ACTION_LABELS = {
    "login": _("Signed in"),
    "logout": _("Signed out"),
    "login_failed": _("Failed sign-in"),
    "user.create": _("Account opened"),
    "user.set_password": _("Password set"),
    "user.enable": _("Account enabled"),
    "user.disable": _("Account disabled"),
    "user.unlock": _("Account unlocked"),
    "role.assign": _("Role granted"),
    "role.revoke": _("Role revoked"),
    "token.issue": _("API token issued"),
    "token.revoke": _("API token revoked"),
    "divisions.import": _("Divisions imported"),
    "division.set_geometry": _("Division outline set"),
    "grids.import": _("Grids imported"),
    "grids.export": _("Grids exported"),
    "team.set": _("Grid team changed"),
    "audit.view": _("Audit log read"),
    "person.view": _("Person's record opened"),
    "person.unmask": _("Person's ID number and phone shown"),
    "person.collect": _("Person collected"),
    "person.change": _("Person changed"),
    "person.propose": _("Change to a person proposed"),
    "person.verify": _("Person verified"),
    "person.reject": _("Person rejected"),
    "house.collect": _("House collected"),
    "house.change": _("House changed"),
    "house.propose": _("Change to a house proposed"),
    "house.verify": _("House verified"),
    "house.reject": _("House rejected"),
    "house.import": _("House imported"),
    "person.import": _("Person imported"),
    "residence.import": _("Residence imported"),
    "residence.reject": _("Residence rejected"),
    "organization.verify": _("Organization verified"),
    "organization.reject": _("Organization rejected"),
    "organization.change": _("Organization changed"),
    "organization.import": _("Organization imported"),
    "vehicle.verify": _("Vehicle verified"),
    "vehicle.reject": _("Vehicle rejected"),
    "residence.check_in": _("Checked in"),
    "residence.check_out": _("Checked out"),
    "residence.declare": _("Tenant self-declaration"),
    "residence.confirm": _("Self-declaration taken up"),
    "person.confirm": _("Self-declared person taken up"),
    "residence.verify": _("Residence verified"),
    "organization.collect": _("Organization collected"),
    "vehicle.collect": _("Vehicle collected"),
    "address.create": _("Standard address added"),
    "building.create": _("Building added"),
    "building.update": _("Building facts changed"),
    "building.set_responsible": _("Responsible worker set"),
    "registry.import": _("Registry records imported"),
    "registry.bulk_load": _("Registry records loaded in bulk"),
    "registry.export": _("Registry records exported"),
    "registry.quarterly_export": _("Registry quarterly report exported"),
    "audit.verify": _("Audit chain verified"),
    "case.report": _("Case reported"),
    "case.accept": _("Case accepted"),
    "case.register": _("Case registered"),
    "case.reject": _("Case rejected"),
    "case.dispatch": _("Case dispatched"),
    "case.handle": _("Case taken up for handling"),
    "case.report_back": _("Case reported back"),
    "case.check": _("Case checked"),
    "case.rework": _("Case sent back for rework"),
    "case.close": _("Case closed"),
    "case.suspend": _("Case suspended"),
    "case.resume": _("Case resumed"),
    "case.extend": _("More time asked for a case"),
    "case.approve_extension": _("Extension decided"),
    "case.reroute": _("Case re-routed"),
    "case.reopen": _("Case reopened"),
    "case.escalate": _("Case escalated"),
    "case.yellow": _("Case yellow-carded"),
    "case.red": _("Case red-carded"),
    "case.summon": _("Departments summoned"),
    "case.report_in": _("Department reported in"),
    "case.summons_done": _("Department finished its part"),
    "case.summons_red": _("Missed report-in red-carded"),
    "case.rate": _("Case rated"),
    "case.no_rating": _("Case left unrated"),
    "case.original_closed": _("Original of a duplicate closed"),
    "case_category.save": _("Case category saved"),
    "unit.save": _("Unit saved"),
    "unit.members": _("Unit staff changed"),
    "routing_rule.save": _("Routing rule saved"),
    "routing_rule.delete": _("Routing rule removed"),
    "calendar.set": _("Working calendar changed"),
    "open311.issue": _("Open311 key issued"),
    "open311.revoke": _("Open311 key revoked"),
    "cases.bulk_load": _("Cases loaded in bulk"),
    "cases.indicators_export": _("Case indicators exported"),
    "dispute.receive": _("Dispute taken in"),
    "dispute.accept": _("Dispute accepted"),
    "dispute.decline": _("Dispute declined"),
    "dispute.inform": _("Dispute parties informed"),
    "dispute.investigate": _("Dispute investigated"),
    "dispute.escalate": _("Dispute escalated"),
    "dispute.refer": _("Dispute referred elsewhere"),
    "dispute.terminate": _("Dispute mediation terminated"),
    "dispute.close": _("Dispute closed"),
    "dispute.assign": _("Dispute mediators assigned"),
    "dispute.session": _("Mediation session recorded"),
    "dispute.assess": _("Dispute risk assessed"),
    "dispute.agreement": _("Mediation agreement recorded"),
    "dispute.term": _("Agreement term performance recorded"),
    "dispute.follow_up": _("Follow-up visit recorded"),
    "dispute.follow_up_planned": _("Follow-up visit scheduled"),
    "dispute.court_applied": _("Court confirmation applied for"),
    "dispute.court_answer": _("Court's answer recorded"),
    "dispute.review": _("Dispute dossier reviewed"),
    "dispute.yellow": _("Dispute yellow-carded"),
    "dispute.red": _("Dispute red-carded"),
    "dispute.agreement_pdf": _("Mediation agreement downloaded"),
    "dispute.dossier_pdf": _("Dispute dossier downloaded"),
    "mediator.save": _("Mediator saved"),
    "mediation_room.save": _("Mediation room saved"),
    "disputes.figures_export": _("Dispute figures exported"),
    "disputes.risk_export": _("Dispute risk list exported"),
    "disputes.quarter_export": _("Quarterly mediation pack exported"),
}


def action_label(code: str) -> str:
    """The readable name of an action code (the code itself when it has none)."""
    return str(ACTION_LABELS.get(code, code))


# Where the current request or command comes from; set by middleware or the CLI.
current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("anju_ip", default="")


def _canonical(event: AuditEvent) -> bytes:
    fields = [
        event.id,
        event.at.isoformat(),
        event.user_id_ref,
        event.username,
        event.role,
        event.scope,
        event.action,
        event.object_type,
        event.object_id,
        event.result,
        event.ip,
        event.purpose,
        event.detail,
        event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(event: AuditEvent) -> str:
    """SHA-256 of the row's fields, the previous hash included."""
    return hashlib.sha256(_canonical(event)).hexdigest()


def describe_roles(user) -> tuple[str, str]:
    """The user's roles and the nodes they hold them on, as stored on an audit row."""
    if user is None or not getattr(user, "pk", None):
        return "", ""
    rows = list(user.assignments.values_list("role", "node_code"))
    return ",".join(sorted({r for r, _ in rows})), ",".join(sorted({f"{r}@{c}" for r, c in rows}))


def record(
    action: str,
    *,
    user=None,
    username: str = "",
    obj=None,
    object_type: str = "",
    object_id: str = "",
    result: str = "ok",
    purpose: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit row in the caller's transaction (or its own), chained to the last one."""
    role, scope = describe_roles(user)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "code", None) or obj.pk)
    with transaction.atomic():
        # Locking the head row serialises writers, so ids stay dense and the chain unbroken.
        head = AuditHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            id=head.last_id + 1,
            at=timezone.now(),
            user_id_ref=getattr(user, "pk", None),
            username=getattr(user, "username", "") or username,
            role=role,
            scope=scope,
            action=action,
            object_type=object_type,
            object_id=object_id,
            result=result,
            ip=current_ip.get(),
            purpose=purpose,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else "",
            prev_hash=head.last_hash,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        AuditHead.objects.filter(pk=1).update(last_id=event.id, last_hash=event.hash)
    return event


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    bad_id: int | None = None


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain from the first row; report the first row altered or removed."""
    expected_id, prev_hash, checked = 1, GENESIS, 0
    last_seen = 0
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_seen).order_by("id")[:batch])
        if not rows:
            break
        for event in rows:
            if event.id != expected_id:
                return VerifyResult(False, checked, f"row {expected_id} was removed", expected_id)
            if event.prev_hash != prev_hash:
                return VerifyResult(False, checked, f"row {event.id} does not follow row {event.id - 1}", event.id)
            if compute_hash(event) != event.hash:
                return VerifyResult(False, checked, f"row {event.id} was altered", event.id)
            prev_hash, expected_id, checked = event.hash, event.id + 1, checked + 1
        last_seen = rows[-1].id
    head = AuditHead.objects.get(pk=1)
    if head.last_id != expected_id - 1:
        return VerifyResult(False, checked, f"row {expected_id} was removed", expected_id)
    if head.last_hash != prev_hash:
        return VerifyResult(False, checked, f"row {head.last_id} was altered", head.last_id)
    return VerifyResult(True, checked)
