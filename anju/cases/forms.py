"""Forms of the case pages. They lay out the fields and read the simple types; the actions check the
values, and their refusals come back next to the field they name or as a message on the page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.cases.actions.intake import MAX_PHOTOS
from anju.cases.actions.lifecycle import ACTION_LABELS, REJECT_REASONS
from anju.cases.models import Channel, State, Supervision
from anju.core.errors import InvalidField
from anju.core.uploads import clean_photo

# The channels staff report through on the report page.
STAFF_CHANNELS = [Channel.FIELD, Channel.HOTLINE, Channel.POLICE]
# Steps whose action refuses an empty note (and so the form asks for one).
NOTE_REQUIRED = frozenset({"report_back", "rework", "suspend", "reroute", "reopen", "escalate", "extend"})
# Steps that may carry photos of the result or of the check.
PHOTO_ACTIONS = frozenset({"report_back", "check", "rework"})
REJECT_LABELS = {
    "invalid": _("Not a valid case"),
    "duplicate": _("Repeats another case"),
    "not_ours": _("Not for us to handle"),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several JPEG or PNG photos from one input; on phones it opens the camera."""

    def __init__(self, **kwargs):
        attrs = {"accept": "image/jpeg,image/png", "capture": "environment"}
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Up to 6 JPEG or PNG photos, 5 MB each."))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("At most 6 photos."))
        try:
            return [clean_photo(forms.FileField.clean(self, f, initial), "photos") for f in files]
        except InvalidField as exc:
            raise forms.ValidationError(str(exc)) from None


def category_groups(categories) -> list[tuple[str, list]]:
    """[(parent name, [(code, name), ...]), ...] of leaf categories, in display order."""
    groups: dict = {}
    for c in categories:
        groups.setdefault(c.parent.name if c.parent_id else "", []).append((c.code, c.name))
    return list(groups.items())


def category_choices(categories) -> list:
    """Leaf categories as select choices, grouped under their parent's name."""
    choices = [("", "—")]
    for parent, options in category_groups(categories):
        choices.extend(options if not parent else [(parent, options)])
    return choices


class ReportForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"))
    description = forms.CharField(
        label=_("What is the problem?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    lng = forms.CharField(label=_("Longitude"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    lat = forms.CharField(label=_("Latitude"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(
        label=_("Address"),
        max_length=200,
        required=False,
        help_text=_("Without a point on the map, the address places the case."),
    )
    photos = PhotosField(label=_("Photos"))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[(c.value, c.label) for c in STAFF_CHANNELS], widget=forms.RadioSelect
    )
    reporter_name = forms.CharField(
        label=_("Reporter's name"),
        max_length=64,
        required=False,
        help_text=_("For a call or a walk-in; left empty, the case is filed under your name."),
    )
    reporter_phone = forms.CharField(
        label=_("Reporter's phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(categories)

    def report_data(self) -> dict:
        """What `report_case` takes, besides the channel and the photos."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("channel", "photos")}


class CaseFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    under = forms.CharField(
        label=_("Place"),
        max_length=15,
        required=False,
        widget=forms.TextInput(attrs={"list": "places", "placeholder": _("Street, community or grid code")}),
    )
    unit = forms.ChoiceField(label=_("Handling unit"), required=False)
    supervision = forms.ChoiceField(
        label=_("Supervision"),
        required=False,
        choices=[("", "—"), (Supervision.YELLOW, Supervision.YELLOW.label), (Supervision.RED, Supervision.RED.label)],
    )

    def __init__(self, *args, categories=(), units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "—"), ("open", _("Any open state"))] + list(State.choices)
        self.fields["category"].choices = [("", "—")] + [(c["code"], c["name"]) for c in categories]
        self.fields["unit"].choices = [("", "—")] + [(u.code, u.name) for u in units]


class ActionForm(forms.Form):
    """One step on a case: the fields that step takes, no more."""

    action = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, action: str, case, units=(), members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.step = action
        self.label = ACTION_LABELS.get(action, action)
        self.fields["action"].initial = action
        # The reporter must agree with a check: staff checking for them say how they asked.
        self.fields["note"].required = action in NOTE_REQUIRED or (
            action == "check" and case.category.reporter_confirms
        )
        if action in PHOTO_ACTIONS:
            self.fields["photos"] = PhotosField(label=_("Photos"))
        if action in ("dispatch", "reroute"):
            # Dispatching keeps the case's unit unless another is picked, whether or not it is in reach.
            choices = [(u.code, u.name) for u in units if u.pk != case.unit_id]
            first = (case.unit.code, case.unit.name) if action == "dispatch" else ("", "—")
            self.fields["unit"] = forms.ChoiceField(
                label=_("Handling unit"), choices=[first, *choices], required=action == "reroute"
            )
        if action == "dispatch":
            self.fields["assignee"] = forms.ChoiceField(
                label=_("Assignee"),
                required=False,
                choices=[("", _("Whoever of the unit takes it"))] + [(u.username, str(u)) for u in members],
                help_text=_("Members of the case's present unit."),
            )
        if action == "reject":
            self.fields["reason"] = forms.ChoiceField(
                label=_("Reason"), choices=[(r, REJECT_LABELS[r]) for r in REJECT_REASONS]
            )
            self.fields["duplicate_of"] = forms.CharField(
                label=_("Number of the case it repeats"), max_length=20, required=False
            )
        if action == "extend":
            self.fields["limit"] = forms.CharField(
                label=_("More working time"),
                max_length=8,
                widget=forms.TextInput(attrs={"placeholder": "2d"}),
                help_text=_("Working hours or days, e.g. 8h or 2d."),
            )
        if action == "approve_extension":
            self.fields["approve"] = forms.TypedChoiceField(
                label=_("Decision"),
                choices=[("yes", _("Approve")), ("no", _("Refuse"))],
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
                initial="yes",
            )

        # The step's own fields first, the note last, next to the button.
        self.order_fields([name for name in self.fields if name != "note"] + ["note"])

    def params(self) -> dict:
        """The step's keyword arguments for `transition`."""
        # An empty unit or assignee leaves the case's own (`dispatch` takes None as "unchanged").
        return {k: v or None if k in ("unit", "assignee") else v for k, v in self.cleaned_data.items() if k != "action"}


class SummonForm(forms.Form):
    units = forms.MultipleChoiceField(label=_("Departments"), widget=forms.CheckboxSelectMultiple)
    within = forms.CharField(
        label=_("Report in within"),
        max_length=8,
        initial="2h",
        help_text=_("Working hours or days, e.g. 2h or 1d."),
    )
    note = forms.CharField(label=_("What they are needed for"), max_length=2000, required=False)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].choices = [(u.code, u.name) for u in departments]


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].required = required


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score"),
        choices=[(str(n), str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("5 is very satisfied, 1 very dissatisfied."),
    )
    comment = forms.CharField(label=_("Comment"), max_length=500, required=False)


def error_text(form: forms.Form) -> str:
    """A form's errors in one line, each after its field's label, for a message on the page."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.extend(f"{label}: {e}" if label else str(e) for e in errors)
    return " ".join(parts)
