"""The case indicators page (table, composite-score bar chart, reported-vs-closed line chart) and its XLSX."""

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from anju.cases import indicators
from anju.core import scope
from anju.core.errors import InvalidField
from anju.geo import queries as geo_queries
from anju.geo.models import Division

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIODS = [
    ("", _("Last 30 days")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_quarter", _("This quarter")),
    ("this_year", _("This year")),
    ("custom", _("Custom")),
]
# Rows of these groupings are places: their name leads to the indicators there.
DRILL_DOWN = ("street", "community", "grid")
# The figures shown large above the table.
HEADLINE = ("reported", "closed", "handling_rate", "handle_on_time_rate", "satisfaction_rate", "composite")
STEP_LABELS = {"day": _("per day"), "week": _("per week"), "month": _("per month")}


def _text(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == indicators.RATE:
        return f"{100 * value:.1f}%"
    if kind == indicators.COUNT:
        return f"{value:,}"
    return f"{value:.1f}"


def _cells(figures: dict, definitions) -> list[dict]:
    """A row's figures in display order: the text shown and the value it sorts by ("" for none)."""
    return [
        {
            "text": _text(figures[f.field], f.kind),
            "sort": "" if figures[f.field] is None else figures[f.field],
            "heading": f.heading,
            "headline": f.field in HEADLINE,
        }
        for f in definitions
    ]


class IndicatorsForm(forms.Form):
    """Period and grouping; the division is checked against the reader's scope apart (404)."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    to = forms.DateField(label=_("To (not included)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(
        label=_("Group by"),
        choices=[("", _("Level below"))] + [(k, v) for k, v in indicators.GROUPING_LABELS.items()],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the field is added by name.
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.order_fields(["period", "from", "to", "by"])

    def clean(self):
        data = super().clean()
        period = data.get("period")
        if period and period != "custom":
            data["start"], data["end"] = indicators.presets()[period]
        else:
            # Custom, or dates given without naming a period; none given: the last 30 days.
            try:
                data["start"], data["end"] = indicators.clean_period(data.get("from"), data.get("to"))
            except InvalidField as exc:
                raise forms.ValidationError({exc.field: str(exc)}) from None
        return data


def _choices(user, place) -> list[tuple[str, str]]:
    """The places a reader may pick: the divisions of their scope, and the grids of the community at hand."""
    divisions = Division.objects.restrict(user).order_by("path").values_list("code", "name", "path")
    options = [(code, "\u3000" * (path.count("/") - 3) + name) for code, name, path in divisions]
    community = place.path.split("/")[4] if place.path.count("/") >= 5 else None
    if community:
        grids = geo_queries.grids_in_scope(user).filter(community_id=community).order_by("code")
        options += [(code, f"{name} ({code})") for code, name in grids.values_list("code", "name")]
    if place.code not in {code for code, _label in options}:
        options.insert(0, (place.code, place.name))
    return options


def _render(request, place, form: IndicatorsForm):
    user = request.user
    definitions = indicators.definitions()
    context = {
        "place": place,
        "form": form,
        "choices": _choices(user, place),
        "trail": geo_queries.visible_divisions(user).filter(path__in=scope.ancestors(place.path)).order_by("path"),
        "definitions": definitions,
        "meanings": [(f.heading, f.definition) for f in definitions],
    }
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        try:
            selection = indicators.select(user, place.code, start, end)
            by = indicators.clean_by(form.cleaned_data["by"], place.level)
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            report = indicators.report(selection, by)
            # Best first; rows without a score (nothing dispatched) last.
            report["rows"].sort(key=lambda r: (r["composite"] is None, -(r["composite"] or 0)))
            period = {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}
            chart_series = indicators.series(selection)
            context |= {
                "report": report,
                "table": [{**row, "cells": _cells(row, definitions)} for row in report["rows"]],
                "total_cells": _cells(report["total"], definitions),
                "by_label": indicators.GROUPING_LABELS[by],
                "step_label": STEP_LABELS[chart_series["step"]],
                "last_day": end - timedelta(days=1),
                "period_query": urlencode(period),
                "xlsx_query": urlencode({"division": place.code, **period, "by": by}),
                "xlsx_all_query": urlencode(
                    {"division": place.code, **period, "by": list(indicators.GROUPINGS)}, doseq=True
                ),
                "drill_down": by in DRILL_DOWN,
                "chart": {
                    "names": [r["name"] for r in report["rows"]],
                    "composite": [r["composite"] for r in report["rows"]],
                    "series": chart_series,
                    "labels": {
                        "composite": str(_("Composite score")),
                        "reported": pgettext("case figure", "Reported"),
                        "closed": pgettext("case figure", "Closed"),
                    },
                },
            }
    return render(request, "cases/indicators.html", context, status=400 if form.errors else 200)


@login_required
def case_indicators(request):
    """Indicators at `?division=` (default: the top of the reader's scope) over a period, grouped `by`."""
    place = indicators.place_for(request.user, request.GET.get("division", ""))
    return _render(request, place, IndicatorsForm(request.GET))


@login_required
def case_indicators_xlsx(request):
    """The indicators as XLSX, one sheet per `by` asked for (repeatable); audited as an export. Bad input
    shows the page again with the fault at its field."""
    # Scope first: a place outside it is 404 whatever the rest of the input.
    place = indicators.place_for(request.user, request.GET.get("division", ""))
    form = IndicatorsForm(request.GET)
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        try:
            content = indicators.workbook(request.user, place.code, start, end, request.GET.getlist("by"))
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            response = HttpResponse(content, content_type=XLSX)
            name = f"case-indicators-{place.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    return _render(request, place, form)
