"""Bulk loading of cases with their whole history: a migration from another system, or a generated year.

The life-cycle actions take one step at a time, each in its own transaction with its audit row and its
notifications: right for people at work, far too slow for a district's year of cases. Here a `History`
replays one case's steps in memory and sets every field the actions would set (milestones, lateness,
stage clocks from the category's limits, counts, level and unit, summonses, ratings). Between steps it
does what the supervision sweep would have done on time: yellow and red cards, escalating red cases one
level up, red cards for missed report-ins, "no rating" three days after closing. `load_cases` writes a
batch of histories in one transaction with one audit row.

Steps must come in time order. A step the case's state does not allow raises Conflict, as the action does.
"""

import secrets
from datetime import UTC, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.cases import routing
from anju.cases.actions import lifecycle
from anju.cases.actions.ratings import LOW_SCORE, RATING_DAYS
from anju.cases.actions.summons import REPORT_IN_LIMIT
from anju.cases.models import (
    FINAL_STATES,
    STAGE_OF,
    Case,
    CaseEvent,
    Level,
    Rating,
    RoutingRule,
    State,
    Summons,
    SummonsState,
    Supervision,
    Unit,
    UnitMember,
)
from anju.core import audit, timeline, workcalendar
from anju.core.errors import ActionError, Conflict, InvalidField
from anju.core.roles import Perm
from anju.geo.models import Grid
from anju.registry.actions.bulk import PLAIN_FIELDS, insert
from anju.registry.actions.records import require

# Cases per UPDATE when the numbers are set.
NUMBER_ROWS = 500
# Events are many: built positionally, which skips most of Model.__init__'s work.
EVENT_FIELDS = [f.attname for f in CaseEvent._meta.concrete_fields]


def case_number(case: Case) -> str:
    """The number intake gives: the local date of reporting and the row's id."""
    return f"{timezone.localtime(case.reported_at):%Y%m%d}{case.pk:06d}"


class Numbered:
    """Text naming a case whose number is known only once that case is stored (a duplicate's original)."""

    __slots__ = ("case", "template")

    def __init__(self, template: str, case: Case):
        self.template, self.case = template, case

    def __str__(self) -> str:
        return self.template % {"number": self.case.number}


class Places:
    """Routing answers, centres, departments, unit members and time limits, each looked up once for a load."""

    def __init__(self):
        self._routes: dict = {}
        self._units: dict = {}
        self._members: set | None = None
        self._limits: dict = {}
        self._ruled: bool | None = None

    def limit(self, case: Case, stage: str) -> float:
        """Working minutes of the case's category's limit for a stage."""
        key = (case.category_id, stage)
        if key not in self._limits:
            self._limits[key] = lifecycle.limit_minutes(case, stage)
        return self._limits[key]

    def route(self, case: Case) -> tuple[Unit, str]:
        """`routing.route`; where no routing rule exists, its default: the unit of the category's starting
        level, looked up once per place and department rather than once per place and category."""
        if self._ruled is None:
            self._ruled = RoutingRule.objects.exists()
        if not self._ruled:
            level = routing.level_of(routing.division_at(case, case.category.start_level))
            return self.default_unit(case, level), level
        key = (case.community_id, case.street_id, case.district_id, case.category_id)
        if key not in self._routes:
            self._routes[key] = routing.route(case)
        return self._routes[key]

    def default_unit(self, case: Case, level: str) -> Unit:
        place = routing.division_at(case, level)
        # Only at district level does the category's department decide.
        key = (place.pk, case.category.department if routing.level_of(place) == Level.DISTRICT else "")
        if key not in self._units:
            self._units[key] = routing.default_unit(case, level)
        return self._units[key]

    def is_member(self, user, unit: Unit) -> bool:
        if self._members is None:
            self._members = set(UnitMember.objects.values_list("unit_id", "user_id"))
        return (unit.pk, user.pk) in self._members


class History:
    """One case's life, replayed in memory: the case's fields, its timeline events and its summonses.

    `case` is an unsaved Case with what intake cleans (category, description, channel, point, grid and
    divisions, path, reporter's contact) and `reported_at`; `actor` (a signed-in reporter) or `client`
    (an Open311 client) or neither (the public form) files it, as in `report_case`.
    """

    def __init__(self, case: Case, actor=None, client=None, places: Places | None = None):
        self.case, self.places = case, places or Places()
        self.events: list[CaseEvent] = []
        self.summonses: list[Summons] = []
        self.at = case.reported_at
        case.reporter, case.open311_client = actor, client
        if actor is not None:
            case.reporter_name = case.reporter_name or actor.full_name or actor.username
            case.reporter_phone = case.reporter_phone or actor.phone
        case.state = State.REPORTED
        case.unit, case.level = self.places.route(case)
        self._start(self.at)
        by = client.name if client is not None else "public"
        self._event("report", "", self.at, actor, by, data={"channel": case.channel})

    # --- The timeline ------------------------------------------------------------------------------

    def _event(self, action, from_state, at, actor, by="", note="", data=None) -> CaseEvent:
        username = timeline.actor_name(actor, by or "system")
        return self._record(action, from_state, at, getattr(actor, "pk", None), username, note, data)

    def _record(self, action, from_state, at, actor_id, username, note, data) -> CaseEvent:
        values = {
            "id": None,
            "case_id": None,  # set when the case is stored
            "at": at,
            "actor_id": actor_id,
            "username": username,
            "action": action,
            "from_state": from_state,
            "to_state": self.case.state,
            "note": note,
            "data": data or {},
        }
        event = CaseEvent(*(values[name] for name in EVENT_FIELDS))
        self.events.append(event)
        return event

    def _move(self, action, to_state, at, actor, by="", note="", data=None, restart=True) -> None:
        from_state = self.case.state
        self.case.state = to_state
        if restart:
            self._start(at)
        self._event(action, from_state, at, actor, by, note, data)

    def _start(self, at, minutes: float | None = None) -> None:
        """`lifecycle.start_stage`, with the category's limits read once per load."""
        stage = STAGE_OF.get(self.case.state)
        if minutes is None and stage is not None:
            minutes = self.places.limit(self.case, stage)
        lifecycle.start_stage(self.case, at, minutes)

    def _late(self, at) -> bool:
        return self.case.due_at is not None and at > self.case.due_at

    def _begin(self, at) -> None:
        """Let the sweep catch up to `at`, then move the case's clock there."""
        if at < self.at:
            raise ValueError(f"a step at {at} comes before the case's last one at {self.at}")
        self.catch_up(at)
        self.at = at

    # --- What the sweep does on its own ------------------------------------------------------------

    def catch_up(self, until) -> None:
        """Everything the sweep would have done by `until`."""
        while self.advance(until):
            pass

    def advance(self, until) -> bool:
        """Give the cards, escalations, summons red cards and expired ratings due by `until`, in time
        order, as the sweep would have. Stops after an escalation and returns True: the new level's desk
        may act before the sweep's next deadline there."""
        while True:
            due = self._next_sweep(until)
            if due is None:
                return False
            at, what, summons = due
            self.at = max(self.at, at)
            c = self.case
            if what == Supervision.RED:
                c.supervision = Supervision.RED
                self._event("red", c.state, at, None, data={"due_at": _utc(c.due_at)})
                if routing.level_above(c.level) is not None:
                    self._escalate(at, None, "", _("Past its time limit: escalated by the supervision sweep."))
                    return True
            elif what == Supervision.YELLOW:
                c.supervision = Supervision.YELLOW
                self._event("yellow", c.state, at, None, data={"due_at": _utc(c.due_at)})
            elif what == "summons_red":
                summons.red = True
                self._event("summons_red", c.state, at, None, data={"unit": summons.unit.code})
            else:
                c.rating = Rating.NONE
                self._event("no_rating", c.state, at, None)

    def _next_sweep(self, until):
        """(moment, what, summons) of the earliest thing the sweep would do by `until`, or None."""
        c = self.case
        found = []
        if c.state in STAGE_OF and c.due_at is not None:
            if c.supervision == Supervision.NONE and c.warn_at < c.due_at:
                found.append((c.warn_at, Supervision.YELLOW, None))
            if c.supervision != Supervision.RED:
                found.append((c.due_at, Supervision.RED, None))
        for s in self.summonses:
            if s.state == SummonsState.SUMMONED and not s.red:
                found.append((s.due_at, "summons_red", s))
        if c.state == State.CLOSED and c.rating == Rating.PENDING:
            found.append((c.closed_at + timedelta(days=RATING_DAYS), "no_rating", None))
        found = [f for f in found if f[0] <= until]
        return min(found, key=lambda f: f[0]) if found else None

    # --- The steps ---------------------------------------------------------------------------------

    def step(self, action: str, at, actor=None, by: str = "", note: str = "", **params) -> None:
        """Take one life-cycle step (an action of `lifecycle.STEPS`) at `at`."""
        if action not in lifecycle.STEPS:
            raise InvalidField("action", _("Unknown action."))
        self._begin(at)
        if self.case.state not in lifecycle.FROM[action]:
            raise Conflict(f"{action} is not possible while the case is {self.case.state}")
        getattr(self, "_" + action)(at, actor, by, note, **params)

    def _accept(self, at, actor, by, note):
        self.case.accepted_at = at
        self._move("accept", State.ACCEPTED, at, actor, by, note)

    def _register(self, at, actor, by, note):
        c = self.case
        c.registered_at = at
        stages = ("dispatch", "handle", "check", "close")
        c.close_due_at = workcalendar.add_working(at, sum(self.places.limit(c, s) for s in stages))
        self._move("register", State.REGISTERED, at, actor, by, note)

    def _reject(self, at, actor, by, note, reason="invalid", duplicate_of=None):
        if reason not in lifecycle.REJECT_REASONS:
            raise InvalidField("reason", _("Choose invalid, duplicate or not_ours."))
        data = {"reason": reason}
        original_history = duplicate_of if isinstance(duplicate_of, History) else None
        if reason == "duplicate":
            original = duplicate_of.case if original_history else duplicate_of
            if original is None:
                raise InvalidField("duplicate_of", _("Name the case this one repeats."))
            # Followed to the first report of the chain, as the live step does.
            seen = set()
            while original.duplicate_of is not None and id(original) not in seen:
                seen.add(id(original))
                original, original_history = original.duplicate_of, None
            if original is self.case:
                raise InvalidField("duplicate_of", _("That case repeats this one."))
            self.case.duplicate_of = original
            data["duplicate_of"] = Numbered("%(number)s", original)
            note = note or Numbered(_("Same as case %(number)s."), original)
        if not note:
            raise InvalidField("note", _("Say why."))
        self._move("reject", State.REJECTED, at, actor, by, note, data)
        if original_history is not None:
            # Closing the original marks its rejected duplicates; here the original's life is known already.
            for e in original_history.events:
                if e.action == "close" and e.at > at:
                    number = Numbered("%(number)s", original)
                    self._record("original_closed", State.REJECTED, e.at, e.actor_id, e.username, number, {})

    def _dispatch(self, at, actor, by, note, unit=None, assignee=None):
        c = self.case
        if unit is not None:
            c.unit = unit
        if assignee is not None:
            if not self.places.is_member(assignee, c.unit):
                raise InvalidField("assignee", _("The assignee must be a member of the unit."))
            c.assignee = assignee
        c.dispatched_at = at
        c.dispatch_late = self._late(at)
        self._move("dispatch", State.DISPATCHED, at, actor, by, note, {"unit": c.unit.code})

    def _handle(self, at, actor, by, note):
        if self.case.assignee_id is None and actor is not None:
            self.case.assignee = actor
        self._move("handle", State.HANDLING, at, actor, by, note, restart=False)

    def _report_back(self, at, actor, by, note):
        c = self.case
        c.handled_at = at
        c.handle_late = self._late(at)
        c.extension_requested = c.extension_reason = ""
        self._move("report_back", State.REPORTED_BACK, at, actor, by, _required(note))

    def _check(self, at, actor, by, note):
        if self.case.category.reporter_confirms and by != "public":
            note = _required(note)
        self.case.checked_at = at
        self._move("check", State.CHECKED, at, actor, by, note)

    def _rework(self, at, actor, by, note):
        self.case.rework_count += 1
        self.case.handled_at = None
        self._move("rework", State.HANDLING, at, actor, by, _required(note))

    def _close(self, at, actor, by, note):
        c = self.case
        c.closed_at = at
        c.close_late = c.close_due_at is not None and at > c.close_due_at
        c.rating, c.score, c.rating_comment, c.rated_at = Rating.PENDING, None, "", None
        self._move("close", State.CLOSED, at, actor, by, note)

    def _suspend(self, at, actor, by, note):
        c = self.case
        remaining = workcalendar.working_minutes(at, c.due_at) if c.due_at else 0
        c.resume_state = c.state
        self._move("suspend", State.SUSPENDED, at, actor, by, _required(note), {"remaining": remaining})

    def _resume(self, at, actor, by, note):
        c = self.case
        paused = next((e for e in reversed(self.events) if e.action == "suspend"), None)
        remaining = (paused.data or {}).get("remaining") if paused else None
        from_state = c.state
        c.state, c.resume_state = c.resume_state or State.REGISTERED, ""
        self._start(at, max(float(remaining), 60.0) if remaining is not None else None)
        self._event("resume", from_state, at, actor, by, note)

    def _extend(self, at, actor, by, note, limit=""):
        c = self.case
        if c.extension_requested:
            raise Conflict(_("An extension is already waiting for a decision."))
        c.extension_requested, c.extension_reason = lifecycle.clean_extension(limit), _required(note)[:300]
        self._move("extend", c.state, at, actor, by, note, {"limit": c.extension_requested}, restart=False)

    def _approve_extension(self, at, actor, by, note, approve=True):
        c = self.case
        if not c.extension_requested:
            raise Conflict(_("No extension was asked for."))
        data = {"limit": c.extension_requested, "approved": bool(approve)}
        if approve:
            extra = workcalendar.parse_limit(c.extension_requested)
            base = max(c.due_at or at, at)
            c.due_at = workcalendar.add_working(base, extra)
            c.warn_at = workcalendar.add_working(base, extra * 0.8)
            c.supervision = Supervision.NONE
            if c.close_due_at:
                c.close_due_at = workcalendar.add_working(max(c.close_due_at, at), extra)
            c.extension_count += 1
        c.extension_requested = c.extension_reason = ""
        self._move("approve_extension", c.state, at, actor, by, note, data, restart=False)

    def _reroute(self, at, actor, by, note, unit=None):
        c = self.case
        if unit is None or unit.pk == c.unit_id:
            raise Conflict(_("The case is with this unit already."))
        old = c.unit
        c.unit, c.assignee = unit, None
        to_state = State.DISPATCHED if c.state == State.HANDLING else c.state
        data = {"from": old.code, "to": unit.code}
        self._move("reroute", to_state, at, actor, by, _required(note), data, restart=to_state != c.state)

    def _reopen(self, at, actor, by, note):
        c = self.case
        if c.closed_at and at - c.closed_at > timedelta(days=lifecycle.REOPEN_DAYS):
            raise Conflict(_("A case can be reopened within 7 days of closing."))
        c.closed_at, c.close_late, c.checked_at, c.handled_at = None, None, None, None
        c.rating, c.score, c.rating_comment, c.rated_at = "", None, "", None
        self._move("reopen", State.DISPATCHED, at, actor, by, _required(note))

    def _escalate(self, at, actor, by, note):
        c = self.case
        above = routing.level_above(c.level)
        if above is None:
            raise Conflict(_("The case is at district level already."))
        old_unit, old_level = c.unit, c.level
        c.level = above
        c.unit, c.assignee = self.places.default_unit(c, above), None
        c.escalation_count += 1
        to_state = State.REGISTERED if c.state in lifecycle.REDISPATCH_ON_ESCALATION else c.state
        data = {"from_level": old_level, "to_level": above, "from": old_unit.code, "to": c.unit.code}
        self._move("escalate", to_state, at, actor, by, _required(note), data)

    def confirm(self, at, passed: bool, note: str = "") -> None:
        """The reporter, through their link, says whether the problem is solved (as `ratings.confirm`)."""
        if self.case.state != State.REPORTED_BACK:
            raise Conflict(_("This case is not waiting for your confirmation."))
        if not passed and not (note or "").strip():
            raise InvalidField("note", _("Say what is still wrong."))
        self.step("check" if passed else "rework", at, None, "public", note)
        if not passed:
            self.case.flagged = True

    # --- Summonses and ratings ----------------------------------------------------------------------

    def summon(self, at, actor, units: list[Unit], note: str = "", within: str = REPORT_IN_LIMIT, by: str = ""):
        """Call departments onto the case (as `summons.summon`); returns the new summonses."""
        self._begin(at)
        if self.case.state in FINAL_STATES:
            raise Conflict(_("A closed or rejected case cannot summon anyone."))
        busy = {s.unit_id for s in self.summonses if s.state != SummonsState.DONE}
        if not units or busy & {u.pk for u in units}:
            raise Conflict(_("That department is already summoned on this case."))
        due = workcalendar.add_working(at, workcalendar.parse_limit(within))
        made = [
            Summons(unit=u, state=SummonsState.SUMMONED, summoned_by=actor, summoned_at=at, due_at=due, note=note)
            for u in units
        ]
        self.summonses += made
        data = {"units": [u.code for u in units], "due_at": due.isoformat()}
        self._event("summon", self.case.state, at, actor, by, note, data)
        return made

    def report_in(self, at, summons: Summons, actor, note: str = "", by: str = "") -> None:
        """The department reports in (as `summons.report_in`); a late one is red."""
        self._begin(at)
        if summons.state != SummonsState.SUMMONED:
            raise Conflict(_("This department has reported in already."))
        summons.state, summons.reported_in_at, summons.reported_in_by = SummonsState.REPORTED_IN, at, actor
        summons.red = summons.red or at > summons.due_at
        data = {"unit": summons.unit.code, "late": summons.red}
        self._event("report_in", self.case.state, at, actor, by, note, data)

    def summons_done(self, at, summons: Summons, actor, note: str, by: str = "") -> None:
        """The department says what it did (as `summons.summons_done`)."""
        self._begin(at)
        if summons.state != SummonsState.REPORTED_IN:
            raise Conflict(_("Report in before saying the work is done."))
        summons.state, summons.done_at, summons.note = SummonsState.DONE, at, _required(note)
        self._event("summons_done", self.case.state, at, actor, by, note, {"unit": summons.unit.code})

    def rate(self, at, score: int, comment: str = "", actor=None, by: str = "public") -> None:
        """The reporter's rating (as `ratings.rate`); a low one flags the case."""
        self._begin(at)
        c = self.case
        if c.state != State.CLOSED or c.rating != Rating.PENDING:
            raise Conflict(_("This case is not waiting for a rating."))
        if at - c.closed_at > timedelta(days=RATING_DAYS):
            raise Conflict(_("Ratings are taken within 3 days of closing."))
        if not 1 <= score <= 5:
            raise InvalidField("score", _("Give a score from 1 to 5."))
        c.rating, c.score, c.rating_comment, c.rated_at = Rating.RATED, score, comment, at
        c.flagged = score <= LOW_SCORE
        self._event("rate", c.state, at, actor, by, comment, {"score": score})


def _utc(moment) -> str:
    """A deadline as the sweep writes it: read back from the database, in UTC."""
    return moment.astimezone(UTC).isoformat()


def _required(note) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidField("note", _("Say why."))
    return note


def _check_places(actor, cases: list[Case]) -> None:
    """The actor manages cases wherever the batch lies, and each case's path is its grid's."""
    for path in sorted({c.path for c in cases}):
        require(actor, Perm.CASES_MANAGE, path)
    grid_paths = dict(Grid.objects.filter(pk__in={c.grid_id for c in cases if c.grid_id}).values_list("pk", "path"))
    for c in cases:
        if c.grid_id and grid_paths.get(c.grid_id) != c.path:
            raise ActionError(_("A case carries the path %(path)s, which is not its grid's.") % {"path": c.path})


def append(model, records: list) -> None:
    """Store records whose ids nobody needs back: with COPY on PostgreSQL, with `insert` elsewhere.

    A long multi-row INSERT has its placeholders parsed in Python by the driver, one by one: for ten
    million timeline events that took longer than everything else of a load together.
    """
    if connection.vendor != "postgresql":
        insert(model, records)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # Strings, numbers and ids go as they are; dates and JSON are prepared by their field.
    prepare = [None if isinstance(f, PLAIN_FIELDS) else f.get_db_prep_save for f in fields]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for record in records:
            row = []
            for f, prep in zip(fields, prepare, strict=True):
                value = getattr(record, f.attname)
                row.append(value if prep is None else prep(value, connection))
            copy.write_row(row)


def _set_numbers(cases: list[Case]) -> None:
    """Store the cases' numbers: an UPDATE with one CASE per NUMBER_ROWS cases. (`bulk_update` builds and
    compiles an expression per row, which took longer than inserting the cases.)"""
    quote = connection.ops.quote_name
    table, pk, number = quote(Case._meta.db_table), quote(Case._meta.pk.column), quote("number")
    with connection.cursor() as cursor:
        for start in range(0, len(cases), NUMBER_ROWS):
            chunk = cases[start : start + NUMBER_ROWS]
            whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
            marks = ", ".join(["%s"] * len(chunk))
            params = [value for c in chunk for value in (c.pk, c.number)] + [c.pk for c in chunk]
            cursor.execute(f"UPDATE {table} SET {number} = CASE {pk} {whens} END WHERE {pk} IN ({marks})", params)


@transaction.atomic
def load_cases(actor, histories: list[History], note: str = "") -> dict[str, int]:
    """Store a batch of replayed cases with their events and summonses (cases.manage wherever they lie;
    actor None: the command line). One transaction and one audit row; returns the counts stored.

    Numbers are given as intake gives them, from the stored row's id, so they never collide with the
    numbers of cases reported later.
    """
    cases = [h.case for h in histories]
    _check_places(actor, cases)
    # A duplicate of a case of the same batch is linked once both rows exist.
    later = [(c, c.duplicate_of) for c in cases if c.duplicate_of is not None and c.duplicate_of.pk is None]
    for c, _original in later:
        c.duplicate_of = None
    for c in cases:
        c.number = "T" + secrets.token_hex(8)  # unique until the row has its id
    insert(Case, cases)
    for c in cases:
        c.number = case_number(c)
    _set_numbers(cases)
    for c, original in later:
        c.duplicate_of = original
    Case.objects.bulk_update([c for c, _o in later], ["duplicate_of"], batch_size=NUMBER_ROWS)
    events, summonses = [], []
    for h in histories:
        for e in h.events:
            e.case_id = h.case.pk
            if isinstance(e.note, Numbered):
                e.note = str(e.note)
            for key, value in e.data.items():
                if isinstance(value, Numbered):
                    e.data[key] = str(value)
        for s in h.summonses:
            s.case_id = h.case.pk
        events += h.events
        summonses += h.summonses
    append(CaseEvent, events)
    append(Summons, summonses)
    counts = {"cases": len(cases), "events": len(events), "summonses": len(summonses)}
    audit.record("cases.bulk_load", user=actor, username="cli", purpose=note[:200], detail=counts)
    return counts
