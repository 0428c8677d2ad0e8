"""The registry quality page (per street, community, grid) and the quarterly report download."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core import scope
from anju.core.errors import InvalidField
from anju.geo import queries as geo_queries
from anju.geo.models import Level
from anju.registry import reports
from anju.registry.api_reports import XLSX


class QuarterlyForm(forms.Form):
    """Which quarter to download; the division comes from the page."""

    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=gettext_lazy("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)]
    )


def _level_label(level: str) -> str:
    return _("Grid") if level == "grid" else str(Level(level).label) if level else ""


def _page(request, code: str, form: QuarterlyForm, status: int = 200):
    user = request.user
    report = reports.quality(user, code)
    place = report["division"]
    trail = geo_queries.visible_divisions(user).filter(path__in=scope.ancestors(place["path"])).order_by("path")
    for row in report["rows"]:
        row["level_label"] = _level_label(row["level"])
    context = {
        "report": report,
        "place": place,
        "level_label": _level_label(place["level"]),
        "trail": trail,
        "form": form,
        "definitions": reports.quality_definitions(),
    }
    return render(request, "registry/quality.html", context, status=status)


@login_required
def quality(request):
    """Registry quality at `?division=CODE` (default: the top of the reader's scope), with drill-down."""
    code = request.GET.get("division") or reports.default_code(request.user)
    today = timezone.localdate()
    form = QuarterlyForm(initial={"year": today.year, "quarter": (today.month - 1) // 3 + 1})
    return _page(request, code, form)


@login_required
def quarterly(request):
    """Download the quarterly report of `?division=` for `year` and `quarter`; audited as an export.
    Bad input shows the quality page again with the fault at its field."""
    code = request.GET.get("division") or reports.default_code(request.user)
    # Scope first: a place outside it is 404 whatever the rest of the input.
    reports.place_for(request.user, code)
    form = QuarterlyForm(request.GET)
    if form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
        try:
            content = reports.quarterly_xlsx(request.user, code, year, quarter)
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            response = HttpResponse(content, content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="registry-{code}-{year}Q{quarter}.xlsx"'
            return response
    return _page(request, code, form, status=400)
