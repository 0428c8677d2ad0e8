"""Bulk loading of generated or migrated registry data.

The per-record actions (records.py) take one record at a time, which is right for clerks and far too
slow for a migration of a million people. `load_registry` takes a `Batch` of unsaved records already
built and cleaned by the caller (paths and grids set, links between them as Python objects), writes them
with `bulk_create` in one transaction, files one `Revision` per record and one audit row for the batch.
"""

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import ActionError
from anju.core.roles import Perm
from anju.geo.models import Grid
from anju.registry.actions.records import require
from anju.registry.models import (
    Address,
    Building,
    House,
    Organization,
    Person,
    Residence,
    Revision,
    Vehicle,
    record_type,
)

# Rows per INSERT statement: modest statements on PostgreSQL; SQLite is held to its 32,766 variables.
INSERT_ROWS = 2000
SQLITE_VARIABLES = 32_766
# Values the database driver takes as they are; other fields go through Field.get_db_prep_save.
PLAIN_FIELDS = (models.CharField, models.IntegerField, models.BooleanField, models.FloatField, models.ForeignKey)


@dataclass
class Batch:
    """Unsaved records to load together. Foreign keys may point at other unsaved records of the batch.

    `action` names the revision filed on every record ("import" for migrated data, "collect" for records
    collected elsewhere); `note` goes on those revisions and on the audit row (e.g. the source system).
    """

    addresses: list[Address] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    houses: list[House] = field(default_factory=list)
    residences: list[Residence] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    action: str = "import"
    note: str = ""

    # Insertion order: every record after the ones it points to (houses point at their owner).
    ORDER = ("addresses", "buildings", "people", "houses", "residences", "organizations", "vehicles")
    # Records that carry revisions (addresses and buildings are audited, not revised).
    REVISED = ("people", "houses", "residences", "organizations", "vehicles")

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.ORDER}

    def records(self):
        for name in self.ORDER:
            yield from getattr(self, name)


def _check_places(actor, batch: Batch) -> None:
    """The actor manages the registry wherever the batch writes, and each record's path is its grid's."""
    paths = {r.path for r in batch.records()}
    for path in sorted(paths):
        require(actor, Perm.REGISTRY_MANAGE, path)
    # grid_id, not grid: reading `grid` would fetch it per record when only the id was set.
    grid_paths = dict(
        Grid.objects.filter(pk__in={r.grid_id for r in batch.records() if r.grid_id}).values_list("pk", "path")
    )
    for record in batch.records():
        if record.grid_id and grid_paths.get(record.grid_id) != record.path:
            raise ActionError(
                _("A %(record)s carries the path %(path)s, which is not its grid's.")
                % {"record": record_type(record), "path": record.path}
            )


@transaction.atomic
def load_registry(actor, batch: Batch) -> dict[str, int]:
    """Store a batch of new records (registry.manage wherever they lie; actor None: the command line).

    One transaction: the whole batch or nothing. Unique numbers (ID numbers, plates, credit codes, address
    keys) already registered make it fail with IntegrityError, so a load is never half-merged; the caller
    dedupes or cleans first. Returns the counts stored.
    """
    _check_places(actor, batch)
    for name in batch.ORDER:
        records = getattr(batch, name)
        if records:
            insert(type(records[0]), records)
    username = getattr(actor, "username", "") or "cli"
    insert(
        Revision,
        [
            Revision(
                record_type=record_type(record),
                record_id=record.pk,
                user=actor,
                username=username,
                action=batch.action,
                note=batch.note[:300],
            )
            for name in batch.REVISED
            for record in getattr(batch, name)
        ],
    )
    counts = batch.counts()
    audit.record("registry.bulk_load", user=actor, username="cli", purpose=batch.note[:200], detail=counts)
    return counts


def insert(model, records: list) -> None:
    """INSERT new records and set their primary keys, like `bulk_create` at several times its speed.

    bulk_create spends most of its time preparing each value through several layers (measured: 80% of a
    load on SQLite); here strings, numbers and foreign-key ids go to the driver as they are and only the
    other fields (dates, decimals, JSON, files) are prepared by their field. Links to records inserted
    earlier take those records' new keys; auto_now(_add) fields take the time of the insert. Needs
    INSERT ... RETURNING (PostgreSQL; SQLite 3.35+), which returns the keys in the order of the rows.
    """
    # The connection itself, not the `django.db.connection` proxy, which costs a lookup per attribute.
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    links = [f for f in fields if f.is_relation]
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    plain = [isinstance(f, PLAIN_FIELDS) for f in fields]
    prepared = [{} for _f in fields]
    now = timezone.now()
    rows = []
    for record in records:
        for f in links:
            linked = record._state.fields_cache.get(f.name)
            if linked is not None and getattr(record, f.attname) is None:
                if linked.pk is None:
                    raise ValueError(f"{meta.label}.{f.name} points at a record that is not saved")
                setattr(record, f.attname, linked.pk)
        for f in stamped:
            setattr(record, f.attname, now)
        row = []
        for f, is_plain, memo in zip(fields, plain, prepared, strict=True):
            value = getattr(record, f.attname)
            if is_plain:
                row.append(value)
                continue
            # Dates and times repeat across a batch: each distinct value is prepared once.
            try:
                row.append(memo[value])
            except KeyError:
                row.append(memo.setdefault(value, f.get_db_prep_save(value, connection)))
            except TypeError:  # unhashable: JSON dicts
                row.append(f.get_db_prep_save(value, connection))
        rows.append(row)
    quote = connection.ops.quote_name
    per_statement = INSERT_ROWS
    if connection.vendor == "sqlite":
        per_statement = min(per_statement, SQLITE_VARIABLES // len(fields))
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = head + ", ".join([row_marks] * len(chunk)) + f" RETURNING {quote(meta.pk.column)}"
            cursor.execute(sql, [value for row in chunk for value in row])
            for record, (pk,) in zip(records[start : start + per_statement], cursor.fetchall(), strict=True):
                record.pk = pk
                record._state.adding, record._state.db = False, connection.alias
