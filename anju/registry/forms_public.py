"""The tenant's self-declaration form. Each field is checked with the registry's own cleaning, so every
wrong field gets its message at once; `declarations.declare` checks everything again when it writes."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.errors import InvalidField
from anju.core.uploads import clean_photo
from anju.registry import cleaning
from anju.registry.actions import declarations


def _checked(field: str, check, value):
    try:
        return check(value)
    except InvalidField as exc:
        raise forms.ValidationError(str(exc), code=exc.field) from exc


class DeclarationForm(forms.Form):
    """Name, ID number, phone, move-in date, optional contract photo; the room for a building's code."""

    room = forms.CharField(label=_("Room"), max_length=40, required=False)
    name = forms.CharField(label=_("Full name"), max_length=64)
    id_number = forms.CharField(label=_("ID number"), max_length=24, required=False)
    passport_number = forms.CharField(label=_("Passport number"), max_length=20, required=False)
    nationality = forms.CharField(label=_("Nationality (ISO code, e.g. KOR)"), max_length=3, required=False)
    sex = forms.ChoiceField(
        label=_("Sex"), choices=[("", "—"), ("male", _("Male")), ("female", _("Female"))], required=False
    )
    birth_date = forms.CharField(label=_("Birth date"), max_length=10, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    start = forms.CharField(label=_("Moved in on"), max_length=10)
    contract_photo = forms.FileField(label=_("Rental contract photo (optional)"), required=False)

    def __init__(self, *args, building=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.building = building
        if building is None:
            del self.fields["room"]
        else:
            self.fields["room"].required = True
        today = timezone.localdate()
        self.fields["start"].initial = today.isoformat()
        self.min_start = (today - timedelta(days=declarations.MAX_DAYS_BACK)).isoformat()
        self.max_start = today.isoformat()

    def clean_room(self):
        return _checked("room", lambda v: declarations.find_room(self.building, v), self.cleaned_data["room"])

    def clean_name(self):
        return _checked("name", cleaning.clean_name, self.cleaned_data["name"])

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        if not value:
            return ""
        return _checked(
            "id_number", lambda v: cleaning.clean_person({"id_number": v}, partial=True)["id_number"], value
        )

    def clean(self):
        """A citizen ID number, or for a foreign national a passport number with the nationality."""
        data = super().clean()
        if self.errors.get("id_number") or data.get("id_number"):
            return data
        if not data.get("passport_number"):
            self.add_error("id_number", _("Give your ID number (foreign nationals: the passport number below)."))
            return data
        try:
            cleaning.clean_person({"name": data.get("name") or "", "kind": "foreign", **declarations.identity_of(data)})
        except InvalidField as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return data

    def clean_phone(self):
        return _checked("phone", lambda v: cleaning.clean_phone(v, required=True), self.cleaned_data["phone"])

    def clean_start(self):
        return _checked("start", declarations.clean_start, self.cleaned_data["start"])

    def clean_contract_photo(self):
        return _checked("contract_photo", clean_photo, self.cleaned_data["contract_photo"])

    def declaration(self) -> dict:
        """What `declare` takes, from the cleaned form (the room as the tenant gave it)."""
        data = {key: self.cleaned_data[key] for key in ("name", "phone", "start")}
        data.update(declarations.identity_of(self.cleaned_data))
        if self.building is not None:
            data["room"] = self.data.get("room", "")
        return data
