"""Forms of the account pages; they only check input, the actions do the rest."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.core.roles import Role


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[A-Za-z0-9_.-]+$",
        error_messages={"invalid": _("Letters, digits, dot, dash and underscore only.")},
    )
    full_name = forms.CharField(label=_("Full name"), max_length=64)
    phone = forms.RegexField(
        label=_("Phone"),
        regex=r"^1[3-9]\d{9}$",
        required=False,
        error_messages={"invalid": _("An 11-digit mobile number.")},
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    node = forms.RegexField(
        label=_("Division or grid code"),
        regex=r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$",
        error_messages={"invalid": _("A division code (2-12 digits) or a 15-digit grid code.")},
    )
