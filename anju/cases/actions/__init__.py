"""Every write of the cases app: reporting, the life-cycle steps, summonses, ratings, and set-up."""

from anju.cases.actions.intake import possible_duplicates, report_case
from anju.cases.actions.lifecycle import ACTION_LABELS, STEPS, allowed_actions, transition
from anju.cases.actions.ratings import confirm, expire_ratings, rate
from anju.cases.actions.setup import (
    add_department,
    delete_rule,
    issue_open311_key,
    open311_client_for,
    revoke_open311_key,
    save_category,
    save_rule,
    set_calendar_day,
    set_members,
)
from anju.cases.actions.summons import get_summons, report_in, summon, summons_done

__all__ = [
    "ACTION_LABELS",
    "STEPS",
    "add_department",
    "allowed_actions",
    "confirm",
    "delete_rule",
    "expire_ratings",
    "get_summons",
    "issue_open311_key",
    "open311_client_for",
    "possible_duplicates",
    "rate",
    "report_case",
    "report_in",
    "revoke_open311_key",
    "save_category",
    "save_rule",
    "set_calendar_day",
    "set_members",
    "summon",
    "summons_done",
    "transition",
]
