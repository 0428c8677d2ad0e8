"""Pages for registry files: the spreadsheet import with its error report, templates, the XLSX export."""

import base64
import csv
import io
import tempfile

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core import scope
from anju.core.errors import InvalidField
from anju.core.roles import Perm
from anju.registry.actions import imports
from anju.registry.api_files import XLSX
from anju.registry.exports import export_xlsx
from anju.registry.spreadsheets import read_upload

# The refusal page lists this many faults; the CSV report has them all.
SHOWN_ERRORS = 500

IMPORT_KINDS = [
    ("people", gettext_lazy("People")),
    ("houses", gettext_lazy("Houses")),
    ("residences", gettext_lazy("Residences")),
    ("organizations", gettext_lazy("Organizations")),
]
EXPORT_KINDS = [*IMPORT_KINDS, ("vehicles", gettext_lazy("Vehicles"))]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=IMPORT_KINDS)
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Records"), choices=EXPORT_KINDS)
    under = forms.RegexField(
        label=gettext_lazy("Division or grid code"),
        regex=r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$",
        required=False,
        help_text=gettext_lazy("Empty: everywhere you manage the registry."),
        error_messages={"invalid": gettext_lazy("A division code (2-12 digits) or a 15-digit grid code.")},
    )


def _manager(request):
    """The user, if they may import and export somewhere: 404 without the registry, 403 without manage."""
    if not scope.has_perm(request.user, Perm.REGISTRY_VIEW):
        raise Http404
    if not scope.has_perm(request.user, Perm.REGISTRY_MANAGE):
        raise PermissionDenied
    return request.user


def _errors_csv(errors: list[dict]) -> str:
    """The faults as a CSV a clerk opens in Excel (UTF-8 with BOM), as a data: link for the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Problem")])
    for e in errors:
        writer.writerow([e["row"], e["column"], e["message"]])
    data = base64.b64encode(("\ufeff" + out.getvalue()).encode()).decode()
    return "data:text/csv;charset=utf-8;base64," + data


@login_required
def registry_import(request):
    """Upload a spreadsheet; all or nothing, with every fault listed by row and column."""
    user = _manager(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    result, errors, errors_csv = None, [], ""
    if request.method == "POST" and form.is_valid():
        kind, upload = form.cleaned_data["kind"], form.cleaned_data["file"]
        try:
            result = imports.import_file(user, kind, upload.name, read_upload(upload))
        except InvalidField as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            errors = [{**e, "column": imports.column_label(kind, e["field"])} for e in result.errors]
            errors_csv = _errors_csv(errors) if errors else ""
    return render(
        request,
        "registry/import.html",
        {
            "form": form,
            "result": result,
            "errors": errors[:SHOWN_ERRORS],
            "errors_hidden": max(0, len(errors) - SHOWN_ERRORS),
            "errors_csv": errors_csv,
            "kinds": IMPORT_KINDS,
        },
    )


@login_required
def registry_import_template(request, kind: str):
    """An empty XLSX with the Chinese headers of one kind of import."""
    _manager(request)
    if kind not in imports.KINDS:
        raise Http404
    out = tempfile.TemporaryFile()
    imports.write_template(kind, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{kind}.xlsx", content_type=XLSX)


@login_required
def registry_export(request):
    """Choose records and a place; the answer is the masked, audited XLSX."""
    user = _manager(request)
    form = ExportForm(request.GET if "kind" in request.GET else None)
    if form.is_bound and form.is_valid():
        kind, under = form.cleaned_data["kind"], form.cleaned_data["under"] or None
        out = tempfile.TemporaryFile()
        export_xlsx(user, kind, under, out)
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=f"{kind}-{under or 'all'}.xlsx", content_type=XLSX)
    return render(request, "registry/export.html", {"form": form})
