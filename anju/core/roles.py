"""Roles, what each may do, and which roles carry a data scope.

System, security and audit administration (等保 三员分立) are separate: their permission sets do
not overlap, they carry no data scope, and no user may hold one of them together with any other role.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District admin")
    STREET_ADMIN = "street_admin", _("Street admin")
    STATION_CHIEF = "station_chief", _("Police-station chief")
    OFFICER = "officer", _("Community officer")
    AUXILIARY = "auxiliary", _("Auxiliary officer")
    GRID_WORKER = "grid_worker", _("Grid worker")
    GRID_HEAD = "grid_head", _("Grid head")
    MEDIATOR = "mediator", _("Mediator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    DEPARTMENT_STAFF = "department_staff", _("Department staff")
    VOLUNTEER = "volunteer", _("Volunteer")
    AUDITOR = "auditor", _("Auditor")
    SECURITY_ADMIN = "security_admin", _("Security admin")
    SYSTEM_ADMIN = "system_admin", _("System admin")


# The three administrators of 三员分立.
ADMIN_TRIO = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})

# Working roles read the data of the node they are assigned to; the trio reads none.
SCOPED_ROLES = frozenset(Role) - ADMIN_TRIO


class Perm:
    """Permission codes. Each names one power; roles are sets of them."""

    GEO_VIEW = "geo.view"  # divisions, grids, teams and the map in scope
    GEO_MANAGE = "geo.manage"  # import or change grids in scope
    AUDIT_VIEW = "audit.view"  # read and verify the audit log
    ACCOUNTS_MANAGE = "accounts.manage"  # create, disable accounts; reset passwords
    ROLES_ASSIGN = "roles.assign"  # grant and revoke roles; unlock accounts; revoke tokens
    REGISTRY_VIEW = "registry.view"  # addresses, houses, people... in scope, masked
    REGISTRY_COLLECT = "registry.collect"  # collect and update records in the field (pending)
    REGISTRY_VERIFY = "registry.verify"  # verify or reject collected records
    REGISTRY_UNMASK = "registry.unmask"  # see a person's full ID number and phone, with a reason
    REGISTRY_MANAGE = "registry.manage"  # standard addresses, buildings, 包保, imports, exports
    CASES_VIEW = "cases.view"  # cases in scope, reporters masked
    CASES_REPORT = "cases.report"  # report a case (field, hotline)
    CASES_DISPATCH = "cases.dispatch"  # accept, register, dispatch, close... at the level the role is held on
    CASES_CHECK = "cases.check"  # check on the spot that a case was handled
    CASES_MANAGE = "cases.manage"  # categories, routing rules, units, the calendar, Open311 clients
    DISPUTES_VIEW = "disputes.view"  # disputes in scope, parties masked
    DISPUTES_RECORD = "disputes.record"  # take in a dispute (110, walk-in, field, hotline)
    DISPUTES_MEDIATE = "disputes.mediate"  # take the mediation steps on disputes in scope
    DISPUTES_MANAGE = "disputes.manage"  # rooms, mediators, assignment, dossier review, the station's reports


# Handling a dispatched case is open to the members of its unit, whatever their role.
_WORKING = {Perm.GEO_VIEW, Perm.CASES_VIEW, Perm.CASES_REPORT}
# Department staff and volunteers work on cases and patrols, not on the population registry.
_REGISTRY = {Perm.REGISTRY_VIEW}
_FIELD = _REGISTRY | {Perm.REGISTRY_COLLECT, Perm.REGISTRY_UNMASK}
_POLICE = _FIELD | {Perm.REGISTRY_VERIFY, Perm.REGISTRY_MANAGE}
_ADMIN = _REGISTRY | {Perm.GEO_MANAGE, Perm.REGISTRY_MANAGE, Perm.CASES_DISPATCH, Perm.CASES_MANAGE}
# Disputes: who takes them in, who mediates (the 110 officer on the spot, the community room, the
# mediators), who runs the station's mediation work and the street's joint mediation.
_DISPUTE_INTAKE = {Perm.DISPUTES_VIEW, Perm.DISPUTES_RECORD}
_MEDIATE = _DISPUTE_INTAKE | {Perm.DISPUTES_MEDIATE}
_DISPUTE_LEAD = _MEDIATE | {Perm.DISPUTES_MANAGE}
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(_WORKING | _ADMIN | _DISPUTE_LEAD),
    Role.STREET_ADMIN: frozenset(_WORKING | _ADMIN | _DISPUTE_LEAD),
    Role.STATION_CHIEF: frozenset(_WORKING | _POLICE | _DISPUTE_LEAD | {Perm.CASES_CHECK}),
    Role.OFFICER: frozenset(_WORKING | _POLICE | _MEDIATE | {Perm.CASES_CHECK}),
    Role.AUXILIARY: frozenset(_WORKING | _FIELD | _DISPUTE_INTAKE | {Perm.CASES_CHECK}),
    Role.GRID_WORKER: frozenset(_WORKING | _FIELD | _DISPUTE_INTAKE | {Perm.CASES_CHECK}),
    # The grid head (often the community's secretary) runs the community's case desk and mediation room.
    Role.GRID_HEAD: frozenset(_WORKING | _REGISTRY | _MEDIATE | {Perm.CASES_DISPATCH, Perm.CASES_CHECK}),
    Role.MEDIATOR: frozenset(_WORKING | _REGISTRY | _MEDIATE),
    # The hotline and command centre: takes calls and dispatches cases.
    Role.DISPATCHER: frozenset(_WORKING | _REGISTRY | _DISPUTE_INTAKE | {Perm.CASES_DISPATCH}),
    Role.DEPARTMENT_STAFF: frozenset(_WORKING),
    Role.VOLUNTEER: frozenset(_WORKING),
    Role.AUDITOR: frozenset({Perm.AUDIT_VIEW}),
    Role.SECURITY_ADMIN: frozenset({Perm.ROLES_ASSIGN}),
    Role.SYSTEM_ADMIN: frozenset({Perm.ACCOUNTS_MANAGE}),
}
