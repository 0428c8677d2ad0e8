"""Forms of the set-up pages. They lay out the fields; the set-up actions check the values, and their
errors go back next to the field they name (a category's limits are named "limits.<stage>" on both sides)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.cases.models import Category, Department, Level, Stage
from anju.core.models import User
from anju.registry.forms import date_input


def category_rows() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before their children, in display order."""
    by_parent: dict = {}
    for c in Category.objects.order_by("order", "code"):
        by_parent.setdefault(c.parent_id, []).append(c)
    out = []

    def walk(parent_id, depth):
        for c in by_parent.get(parent_id, []):
            out.append((c, depth))
            walk(c.pk, depth + 1)

    walk(None, 0)
    return out


def category_choices(exclude: Category | None = None) -> list[tuple[str, str]]:
    """Every category, indented under its parent; without `exclude` and what lies under it."""
    out, skip_below = [], None
    for c, depth in category_rows():
        if skip_below is not None and depth > skip_below:
            continue
        skip_below = None
        if exclude is not None and c.pk == exclude.pk:
            skip_below = depth
            continue
        out.append((c.code, "\u3000" * depth + f"{c.code} {c.name}"))
    return out


class CategoryForm(forms.Form):
    """A category: where its cases start, who handles them at district level, and each stage's limit."""

    code = forms.CharField(label=_("Code"), max_length=16)
    name = forms.CharField(label=_("Name"), max_length=64)
    parent = forms.ChoiceField(label=_("Under"), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    start_level = forms.ChoiceField(label=_("Starting level"), choices=Level.choices)
    department = forms.ChoiceField(
        label=_("Department at district level"), choices=[("", "—"), *Department.choices], required=False
    )
    reporter_confirms = forms.BooleanField(label=_("The reporter confirms the result"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    order = forms.IntegerField(label=_("Order"), min_value=0, required=False, initial=0)

    def __init__(self, *args, category: Category | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "—"), *category_choices(exclude=category)]
        for stage in Stage:
            self.fields[f"limits.{stage.value}"] = forms.CharField(
                label=_("Limit: %(stage)s") % {"stage": stage.label},
                max_length=8,
                help_text=_("Working hours or days, e.g. 4h or 3d"),
            )

    @staticmethod
    def initial_for(category: Category | None) -> dict:
        """The form's values for an existing category, or the defaults of a new one."""
        category = category or Category()
        fields = ("code", "name", "description", "start_level", "department", "reporter_confirms", "active", "order")
        initial = {f: getattr(category, f) for f in fields}
        initial["parent"] = category.parent.code if category.parent_id else ""
        initial.update({f"limits.{stage}": limit for stage, limit in category.limits.items()})
        return initial

    def main_fields(self) -> list:
        return [field for field in self if not field.name.startswith("limits.")]

    def limit_fields(self) -> list:
        return [self[f"limits.{stage}"] for stage in Stage.values]

    def category_data(self) -> dict:
        """What `save_category` takes."""
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("limits.")}
        data["limits"] = {stage: self.cleaned_data[f"limits.{stage}"] for stage in Stage.values}
        return data


class DepartmentForm(forms.Form):
    """Open one of a district's departments."""

    district = forms.ChoiceField(label=_("District"))
    department = forms.ChoiceField(label=_("Department"), choices=Department.choices)

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(d.code, f"{d.name} {d.code}") for d in districts]


class MemberForm(forms.Form):
    """One person of a unit: an active account, picked by username."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"}),
    )
    lead = forms.BooleanField(label=_("Lead"), required=False)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        if name and not User.objects.filter(username=name, is_active=True).exists():
            raise forms.ValidationError(_("No active account has this username."))
        return name


class BaseMemberFormSet(forms.BaseFormSet):
    """A unit's whole staff; each person once."""

    def clean(self):
        seen = set()
        for form in self.forms:
            name = form.cleaned_data.get("username") if form.is_valid() else ""
            if name and name in seen:
                form.add_error("username", _("This person is listed twice."))
            seen.add(name)

    def members(self) -> list[tuple[User, bool]]:
        """(user, lead) pairs as `set_members` takes them; empty rows are left out."""
        rows = [
            (f.cleaned_data["username"], f.cleaned_data["lead"]) for f in self.forms if f.cleaned_data.get("username")
        ]
        users = {u.username: u for u in User.objects.filter(username__in=[name for name, _lead in rows])}
        return [(users[name], lead) for name, lead in rows]


MemberFormSet = forms.formset_factory(MemberForm, formset=BaseMemberFormSet, extra=3, max_num=200, validate_max=True)


class RuleForm(forms.Form):
    """Cases of a category in a community, street or district go to a unit."""

    category = forms.ChoiceField(label=_("Category"))
    division = forms.CharField(
        label=_("Community, street or district code"), max_length=12, help_text=_("Its sub-places follow the rule too")
    )
    unit = forms.ChoiceField(label=_("Goes to"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["unit"].choices = [(u.code, f"{u.name} ({u.code})") for u in units]


class CalendarDayForm(forms.Form):
    """A public holiday on a weekday, or a weekend day worked in exchange."""

    date = forms.DateField(label=_("Date"), widget=date_input())
    working = forms.TypedChoiceField(
        label=_("Kind"),
        choices=[("no", _("Holiday (no work)")), ("yes", _("Working day"))],
        coerce=lambda value: value == "yes",
    )
    name = forms.CharField(label=_("Name"), max_length=64, required=False)


class Open311ClientForm(forms.Form):
    """An outside application asking for a key."""

    name = forms.CharField(label=_("Application"), max_length=100)
    contact = forms.CharField(label=_("Contact"), max_length=200, required=False)
