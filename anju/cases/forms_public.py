"""The residents' forms: reporting a problem, confirming the result, rating the handling.

Each field is checked with the same cleaning the actions use, so every wrong field gets its message at
once; the actions check everything again when they write.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.cases.actions import intake
from anju.cases.forms import PhotosField
from anju.core.errors import InvalidField
from anju.registry import cleaning


def checked(check, *args):
    """The value `check` returns; its InvalidField becomes the form field's error."""
    try:
        return check(*args)
    except InvalidField as exc:
        raise forms.ValidationError(str(exc), code=exc.field) from exc


class ReportForm(forms.Form):
    """What a resident says about a problem: what, where, photos, and how to reach them."""

    category = forms.CharField(label=_("What kind of problem"), max_length=16)
    description = forms.CharField(
        label=_("Describe the problem"), max_length=intake.MAX_DESCRIPTION, widget=forms.Textarea
    )
    lng = forms.CharField(required=False, widget=forms.HiddenInput)
    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=_("Address or landmark"), max_length=200, required=False)
    photos = PhotosField(label=_("Photos (optional)"))
    reporter_name = forms.CharField(label=_("Your name"), max_length=64)
    reporter_phone = forms.CharField(label=_("Mobile phone (optional)"), max_length=20, required=False)

    def clean_category(self):
        return checked(intake.clean_category, self.cleaned_data["category"]).code

    def clean_reporter_phone(self):
        return checked(cleaning.clean_phone, self.cleaned_data["reporter_phone"], "reporter_phone")

    def clean(self):
        data = super().clean()
        try:
            intake.clean_point(data.get("lng"), data.get("lat"))
        except InvalidField as exc:
            self.add_error(exc.field, str(exc))
        return data

    @property
    def place_errors(self) -> list[str]:
        """The errors about the place, wherever it was given (point or address), shown together."""
        return [*self["lng"].errors, *self["lat"].errors, *self["address"].errors]

    def report(self) -> dict:
        """The data `report_case` takes."""
        keys = ("category", "description", "lng", "lat", "address", "reporter_name", "reporter_phone")
        return {key: self.cleaned_data[key] for key in keys}


class ConfirmForm(forms.Form):
    """Is the problem solved? A "no" says what is still wrong."""

    solved = forms.ChoiceField(choices=[("yes", _("Yes, it is solved")), ("no", _("No, it is not solved"))])
    note = forms.CharField(label=_("What is still wrong?"), max_length=1000, required=False, widget=forms.Textarea)


class RatingForm(forms.Form):
    """1 to 5 stars and an optional comment."""

    # Checked by the `rate` action, which names the field at fault.
    score = forms.CharField(label=_("Your rating"), max_length=1, required=False)
    comment = forms.CharField(label=_("Comment (optional)"), required=False, widget=forms.Textarea)
