from urllib.parse import urlencode

from django import template

register = template.Library()


@register.inclusion_tag("core/_pager.html", takes_context=True)
def pager(context, page, drop: str = ""):
    """Previous / next links of a list page that keep its tab and filters.

    `drop` names, comma-separated, further parameters the links must not carry (a one-off action
    such as the audit log's chain check).
    """
    dropped = {"page", *filter(None, drop.split(","))}
    kept = urlencode([(k, v) for k, v in context["request"].GET.items() if k not in dropped and v])
    return {"page": page, "kept": kept}
