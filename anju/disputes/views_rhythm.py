"""Pages of the dispute figures and the station's working rhythm: the figures table, the weekly risk list,
the monthly dossier review, the annual ranking, and their workbooks (each audited as an export)."""

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from anju.cases.indicators import clean_period, presets
from anju.cases.views_indicators import PERIODS, XLSX
from anju.core.errors import InvalidField
from anju.disputes import indicators, rhythm
from anju.geo.models import Division

# The figures shown large above the table.
HEADLINE = ("received", "settled", "success_rate", "performance_rate", "follow_up_rate", "first_level_share")


def _text(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == indicators.RATE:
        return f"{100 * value:.1f}%"
    if kind == indicators.SCORE:
        return f"{value:.1f}"
    return f"{value:,}"


def _cells(figures: dict, definitions) -> list[dict]:
    """A row's figures in display order, as shown."""
    return [
        {"text": _text(figures[f.field], f.kind), "heading": f.heading, "headline": f.field in HEADLINE}
        for f in definitions
    ]


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class FiguresForm(forms.Form):
    """Place, period and grouping; the division is checked against the reader's scope apart (404)."""

    division = forms.ChoiceField(label=_("Division"), required=False)
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    to = forms.DateField(label=_("To (not included)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(
        label=_("Group by"),
        choices=[("", _("Street"))] + [(k, v) for k, v in indicators.GROUPING_LABELS.items()],
        required=False,
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        divisions = Division.objects.restrict(user).order_by("path").values_list("code", "name", "path")
        self.fields["division"].choices = [("", _("Whole scope"))] + [
            (code, "\u3000" * (path.count("/") - 3) + name) for code, name, path in divisions
        ]
        # "from" is a Python keyword: the field is added by name.
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.order_fields(["division", "period", "from", "to", "by"])

    def clean(self):
        data = super().clean()
        period = data.get("period")
        if period and period != "custom":
            data["start"], data["end"] = presets()[period]
        else:
            try:
                data["start"], data["end"] = clean_period(data.get("from"), data.get("to"))
            except InvalidField as exc:
                raise forms.ValidationError({exc.field: str(exc)}) from None
        return data


class QuarterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    quarter = forms.ChoiceField(label=_("Quarter"), choices=[(q, f"Q{q}") for q in range(1, 5)])


def _figures_page(request, form: FiguresForm, quarter_form: QuarterForm | None = None):
    user = request.user
    definitions = indicators.definitions()
    today = timezone.localdate()
    context = {
        "form": form,
        "quarter_form": quarter_form
        or QuarterForm(initial={"year": today.year, "quarter": (today.month - 1) // 3 + 1}),
        "definitions": definitions,
        "meanings": [(f.heading, f.definition) for f in definitions],
    }
    if form.is_valid():
        data = form.cleaned_data
        try:
            report = indicators.figures(user, data["division"], data["start"], data["end"], data["by"])
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            query = {"division": data["division"], "from": data["start"], "to": data["end"], "by": report["by"]}
            context |= {
                "report": report,
                "table": [{**row, "cells": _cells(row, definitions)} for row in report["rows"]],
                "total_cells": _cells(report["total"], definitions),
                "by_label": indicators.GROUPING_LABELS[report["by"]],
                "last_day": data["end"] - timedelta(days=1),
                "xlsx_query": urlencode(query),
                "chart": {
                    "names": [r["name"] for r in report["rows"]],
                    "received": [r["received"] for r in report["rows"]],
                    "settled": [r["settled"] for r in report["rows"]],
                    "labels": {f.field: str(f.heading) for f in definitions if f.field in ("received", "settled")},
                },
            }
    failed = form.errors or (quarter_form is not None and quarter_form.errors)
    return render(request, "disputes/rhythm/figures.html", context, status=400 if failed else 200)


@login_required
def figures_page(request):
    """The figures over a period (default: the last 30 days) in the reader's reach, grouped `by`."""
    indicators.require_view(request.user)
    indicators.place_for(request.user, request.GET.get("division"))
    return _figures_page(request, FiguresForm(request.user, request.GET))


@login_required
def figures_xlsx(request):
    """The figures as XLSX (audited); bad input shows the page again with the fault at its field."""
    indicators.require_view(request.user)
    indicators.place_for(request.user, request.GET.get("division"))
    form = FiguresForm(request.user, request.GET)
    if form.is_valid():
        data = form.cleaned_data
        try:
            content = indicators.workbook(request.user, data["division"], data["start"], data["end"], data["by"])
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            return _xlsx(content, f"dispute-figures-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.xlsx")
    return _figures_page(request, form)


@login_required
def quarter_xlsx(request):
    """The quarterly joint-meeting pack (?year=&quarter=; default: this quarter), audited."""
    indicators.require_view(request.user)
    try:
        period = rhythm.clean_quarter(request.GET.get("year"), request.GET.get("quarter"))
    except InvalidField as exc:
        quarter_form = QuarterForm(request.GET)
        quarter_form.is_valid()
        quarter_form.add_error(exc.field if exc.field in quarter_form.fields else None, str(exc))
        return _figures_page(request, FiguresForm(request.user, {}), quarter_form)
    content = rhythm.quarter_workbook(request.user, period.year, period.quarter)
    return _xlsx(content, f"dispute-joint-meeting-{period.year}-Q{period.quarter}.xlsx")


@login_required
def risk_page(request):
    """The weekly risk list: disputes still being worked, gravest first."""
    return render(request, "disputes/rhythm/risk.html", {"rows": rhythm.risk_list(request.user)})


@login_required
def risk_xlsx(request):
    """The weekly risk list as XLSX, audited."""
    return _xlsx(rhythm.risk_workbook(request.user), f"dispute-risk-list-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
def reviews_page(request):
    """The monthly dossier review (?month=YYYY-MM; default: last month)."""
    indicators.require_view(request.user)
    try:
        review = rhythm.monthly_review(request.user, request.GET.get("month"))
    except InvalidField as exc:
        return render(request, "disputes/rhythm/reviews.html", {"error": str(exc)}, status=400)
    return render(request, "disputes/rhythm/reviews.html", {"review": review})


@login_required
def ranking_page(request):
    """The annual ranking of lead mediators (?year=; default: this year)."""
    indicators.require_view(request.user)
    try:
        ranking = rhythm.ranking(request.user, request.GET.get("year"))
    except InvalidField as exc:
        return render(request, "disputes/rhythm/ranking.html", {"error": str(exc)}, status=400)
    return render(request, "disputes/rhythm/ranking.html", {"ranking": ranking})
