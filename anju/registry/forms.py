"""Forms of the registry pages. They lay out the fields; checking is done by `cleaning` in the actions,
whose errors `apply_errors` puts back next to the field they name."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.errors import ActionError, InvalidField
from anju.registry.models import HouseUse, OrganizationKind, PersonKind, Relation, VehicleKind


def attempt(form: forms.Form, action, *args, **kwargs):
    """Run an action for a bound, valid form; its error goes onto the form. Returns the result or None."""
    try:
        return action(*args, **kwargs)
    except InvalidField as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
    except ActionError as exc:
        form.add_error(None, str(exc))
    return None


def date_input() -> forms.DateInput:
    """A date picker; the value must be ISO (yyyy-mm-dd) whatever the page's language."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("Name, ID number, phone, plate or address"), "autofocus": True}),
    )


class PersonForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=PersonKind.choices)
    id_number = forms.CharField(label=_("ID number"), max_length=24, required=False)
    passport_number = forms.CharField(label=_("Passport number"), max_length=20, required=False)
    nationality = forms.CharField(
        label=_("Nationality"), max_length=3, required=False, help_text=_("Foreign nationals: ISO code, e.g. KOR")
    )
    sex = forms.ChoiceField(
        label=_("Sex"), choices=[("", "—"), ("male", _("Male")), ("female", _("Female"))], required=False
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=date_input(),
        help_text=_("Only without an ID number"),
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False)
    hukou_place = forms.CharField(label=_("Household-registration place"), max_length=120, required=False)
    residence_permit = forms.CharField(label=_("Residence permit number"), max_length=30, required=False)

    def person_data(self) -> dict:
        """The filled-in fields, as the actions take them."""
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}


class PersonChangeForm(forms.Form):
    """Phone and permit number are not shown (they are masked): a value typed in replaces them."""

    name = forms.CharField(label=_("Full name"), max_length=64)
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, help_text=_("Leave empty to keep the recorded number.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=PersonKind.choices)
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False)
    hukou_place = forms.CharField(label=_("Household-registration place"), max_length=120, required=False)
    residence_permit = forms.CharField(
        label=_("Residence permit number"),
        max_length=30,
        required=False,
        help_text=_("Leave empty to keep the recorded number."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class UnmaskForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, help_text=_("Recorded in the audit log with your name.")
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CheckInForm(forms.Form):
    id_number = forms.CharField(
        label=_("ID number of a registered person"),
        max_length=24,
        required=False,
        help_text=_("Leave empty and fill in the person below to register someone new."),
    )
    relation = forms.ChoiceField(label=_("Relation"), choices=Relation.choices, initial=Relation.TENANT)
    start = forms.DateField(label=_("Moved in"), widget=date_input())
    reason = forms.CharField(label=_("Reason"), max_length=120, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start"].initial = timezone.localdate()


class CheckOutForm(forms.Form):
    end = forms.DateField(label=_("Moved out"), widget=date_input())
    reason = forms.CharField(label=_("Reason"), max_length=120, required=False)


class AddressFields(forms.Form):
    """A standard address inside a chosen grid."""

    grid = forms.ChoiceField(label=_("Grid"))
    road = forms.CharField(label=_("Road / lane"), max_length=60, required=False)
    door_number = forms.CharField(label=_("Door number"), max_length=20, required=False)
    estate = forms.CharField(label=_("Estate"), max_length=60, required=False)
    building = forms.CharField(label=_("Building"), max_length=20, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    room = forms.CharField(label=_("Room"), max_length=20, required=False)

    def __init__(self, *args, grids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [(g.code, f"{g.community.name} {g.name}") for g in grids]


class HouseForm(AddressFields):
    use = forms.ChoiceField(label=_("Use"), choices=HouseUse.choices, initial=HouseUse.UNKNOWN)
    area_m2 = forms.DecimalField(label=_("Area (m²)"), required=False, max_digits=8, decimal_places=2)
    hazards = forms.CharField(label=_("Hazard notes"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].required = True


class HouseChangeForm(forms.Form):
    use = forms.ChoiceField(label=_("Use"), choices=HouseUse.choices)
    area_m2 = forms.DecimalField(label=_("Area (m²)"), required=False, max_digits=8, decimal_places=2)
    hazards = forms.CharField(label=_("Hazard notes"), max_length=300, required=False)


class ResponsibleForm(forms.Form):
    worker = forms.ChoiceField(label=_("Responsible worker"), required=False)

    def __init__(self, *args, workers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].choices = [("", "—")] + [(str(w.pk), f"{w} ({w.username})") for w in workers]


class OrganizationForm(AddressFields):
    name = forms.CharField(label=_("Name"), max_length=120)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=24, required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=OrganizationKind.choices)
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=64, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    key_unit = forms.BooleanField(label=_("Key unit"), required=False)
    employees = forms.IntegerField(label=_("Employees"), min_value=0, required=False)

    field_order = ["name", "uscc", "kind", "legal_representative", "phone", "key_unit", "employees"]


class VehicleForm(forms.Form):
    prefix = "vehicle"
    plate = forms.CharField(
        label=_("Plate"), max_length=16, widget=forms.TextInput(attrs={"placeholder": _("Plate, e.g. 鲁B12345")})
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("From the plate"))] + list(VehicleKind.choices), required=False
    )
    brand = forms.CharField(
        label=_("Brand and model"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Brand and model")}),
    )
    color = forms.CharField(
        label=_("Colour"), max_length=20, required=False, widget=forms.TextInput(attrs={"placeholder": _("Colour")})
    )
