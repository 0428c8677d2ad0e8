from django import template

from anju.core.audit import action_label as _action_label

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    """The readable name of an audit action code."""
    return _action_label(code)
