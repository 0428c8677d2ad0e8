"""Forms of the dispute pages. They lay out the fields and read the simple types; the actions check the
values, and their refusals come back as a message on the page, next to the field they name where there is one.

Repeating blocks (the parties of a new dispute, the terms of an agreement) are a few prefixed row forms;
rows left empty are ignored, and a refusal naming "parties[i].field" goes back to the i-th filled row."""

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.disputes.actions.procedure import ACTION_LABELS
from anju.disputes.actions.reviews import CHECKLIST
from anju.disputes.models import (
    CourtAnswer,
    Flag,
    FollowUpMethod,
    Grade,
    Kind,
    Level,
    MediationType,
    MediatorKind,
    PartyRole,
    RoomKind,
    SessionOutcome,
    Source,
    State,
)
from anju.registry.forms import date_input

PARTY_ROWS = 4
TERM_ROWS = 5
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def blank(choices) -> list:
    return [("", "—"), *choices]


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def datetime_input() -> forms.DateTimeInput:
    """A date-and-time picker; the value is ISO whatever the page's language."""
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def yes_no_field(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=YES_NO, coerce=lambda value: value == "yes", widget=forms.RadioSelect
    )


class RiskFields(forms.Form):
    """Grade, red flags and parallel routes: the risk of a dispute, as taken in or re-assessed."""

    grade = forms.ChoiceField(
        label=_("Grade"),
        choices=Grade.choices,
        initial=Grade.ORDINARY,
        help_text=_("Red flags raise the grade by themselves."),
    )
    flags = forms.MultipleChoiceField(
        label=_("Red flags (civil turning criminal)"),
        choices=Flag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    petition_pending = forms.BooleanField(label=_("Also before the petition office"), required=False)
    court_pending = forms.BooleanField(label=_("Also before a court"), required=False)

    def risk(self) -> dict:
        """The assessment as the actions take it."""
        return {k: self.cleaned_data[k] for k in ("grade", "flags", "petition_pending", "court_pending")}

    @staticmethod
    def initial_of(dispute) -> dict:
        """The dispute's present risk, to start a re-assessment from."""
        return {
            "grade": dispute.grade,
            "flags": list(dispute.flags),
            "petition_pending": dispute.petition_pending,
            "court_pending": dispute.court_pending,
        }


# --- The list ----------------------------------------------------------------------------------------


class DisputeFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=blank([("open", _("Any open state")), *State.choices])
    )
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=blank(Grade.choices))
    level = forms.ChoiceField(label=_("Level"), required=False, choices=blank(Level.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=blank(Kind.choices))
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Number, summary, address or 110 number")}),
    )


# --- Intake --------------------------------------------------------------------------------------------


class IntakeForm(RiskFields):
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=blank(Kind.choices))
    mediation_type = forms.ChoiceField(
        label=_("Kind of mediation"), choices=MediationType.choices, initial=MediationType.PEOPLES
    )
    summary = forms.CharField(label=_("Summary"), max_length=200)
    facts = forms.CharField(label=_("Facts as told"), max_length=4000, widget=textarea(4))
    claims = forms.CharField(label=_("Claims"), max_length=4000, required=False, widget=textarea(2))
    amount = forms.DecimalField(
        label=_("Amount in dispute (yuan)"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    lng = forms.CharField(label=_("Longitude"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    lat = forms.CharField(label=_("Latitude"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(
        label=_("Address"),
        max_length=200,
        required=False,
        help_text=_("Without a point on the map, the address places the dispute."),
    )
    risk_note = forms.CharField(label=_("Risk note"), max_length=2000, required=False)
    on_spot = forms.BooleanField(
        label=_("Settle it on the spot myself"),
        required=False,
        help_text=_("For a mediating officer at the scene, and an ordinary dispute only."),
    )
    cases = forms.CharField(
        label=_("Related case numbers"),
        max_length=300,
        required=False,
        help_text=_("Separated by commas or spaces."),
    )
    incident_number = forms.CharField(label=_("110 incident number"), max_length=30, required=False)

    field_order = ["source", "kind", "mediation_type", "summary", "facts", "claims", "amount"]

    def dispute_data(self, parties: list[dict]) -> dict:
        """What `record_dispute` takes."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "cases"}
        data["cases"] = self.cleaned_data["cases"].replace(",", " ").replace("，", " ").split()
        data["parties"] = parties
        return data


class PartyForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=PartyRole.choices)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    def is_empty(self) -> bool:
        """A row without a name or any other detail is left out."""
        return not any(self.cleaned_data.get(k) for k in ("name", "id_number", "phone", "address"))


def party_forms(data=None) -> list[PartyForm]:
    """The party rows of the intake form: an applicant, a respondent, then free rows."""
    roles = [PartyRole.APPLICANT, PartyRole.RESPONDENT] + [PartyRole.THIRD] * (PARTY_ROWS - 2)
    return [PartyForm(data, prefix=f"party{i}", initial={"role": role}) for i, role in enumerate(roles)]


# --- A dispute's steps -----------------------------------------------------------------------------------


class StepForm(forms.Form):
    """One step of the procedure: the fields that step takes, no more."""

    action = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, action: str, mediators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.step = action
        self.label = ACTION_LABELS.get(action, action)
        self.fields["action"].initial = action
        if action in ("decline", "terminate"):
            self.fields["reason"] = forms.CharField(label=_("Reason"), max_length=2000, widget=textarea(2))
            self.fields["other_routes"] = forms.CharField(
                label=_("Other routes the parties were told of"),
                max_length=300,
                help_text=_("E.g. a lawsuit at the people's court, labour arbitration."),
            )
        if action == "refer":
            self.fields["to"] = forms.CharField(label=_("Referred to"), max_length=100)
        if action == "assign":
            choices = [(str(m.pk), mediator_label(m)) for m in mediators]
            self.fields["lead"] = forms.ChoiceField(label=_("Lead mediator"), choices=blank(choices))
            self.fields["mediators"] = forms.MultipleChoiceField(
                label=_("Co-mediators"), choices=choices, required=False, widget=forms.CheckboxSelectMultiple
            )
        note_label = {"escalate": _("Reason"), "refer": _("Why it is referred"), "investigate": _("Findings")}
        self.fields["note"] = forms.CharField(
            label=note_label.get(action, _("Note")),
            max_length=2000,
            required=action in note_label,
            widget=textarea(2),
        )

    def params(self) -> dict:
        """The step's keyword arguments for `transition`."""
        return {k: v for k, v in self.cleaned_data.items() if k != "action"}


def mediator_label(mediator) -> str:
    """A mediator with their kind, room and load, for a select."""
    parts = [mediator.name, str(mediator.get_kind_display())]
    if mediator.room_id:
        parts.append(mediator.room.name)
    if hasattr(mediator, "load"):
        parts.append(f"{mediator.load}/{mediator.capacity}")
    return " · ".join(parts)


class SessionForm(RiskFields):
    """The minutes of a session, with the risk re-assessed at its end."""

    at = forms.DateTimeField(label=_("Held at"), widget=datetime_input())
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    mediators = forms.CharField(
        label=_("Mediators"), max_length=300, required=False, help_text=_("Left empty: the dispute's mediators.")
    )
    attendees = forms.CharField(label=_("Attended"), max_length=4000, widget=textarea(2))
    minutes = forms.CharField(label=_("Minutes"), max_length=20000, widget=textarea(6))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=SessionOutcome.choices)
    risk_note = forms.CharField(label=_("Risk note"), max_length=2000, required=False)

    field_order = ["at", "place", "mediators", "attendees", "minutes", "outcome"]

    def payload(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("at", "place", "mediators", "attendees", "minutes", "outcome")}
        return {**data, "risk": {**self.risk(), "note": self.cleaned_data["risk_note"]}}


class OnSpotSessionForm(SessionForm):
    """The session held at the scene: its outcome is the agreement recorded with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["outcome"]

    def clean(self):
        return {**super().clean(), "outcome": SessionOutcome.AGREEMENT}


class RiskForm(RiskFields):
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=textarea(2))

    def payload(self) -> dict:
        return {**self.risk(), "note": self.cleaned_data["note"]}


class AgreementForm(forms.Form):
    facts = forms.CharField(label=_("Facts and the dispute"), max_length=4000, widget=textarea(3))
    responsibilities = forms.CharField(label=_("Responsibilities"), max_length=4000, widget=textarea(3))
    method = forms.CharField(label=_("Method of performance"), max_length=200)
    deadline = forms.DateField(label=_("Perform by"), widget=date_input())
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=date_input())
    court_confirmation = forms.BooleanField(label=_("The parties will apply for court confirmation"), required=False)


class TermForm(forms.Form):
    obligor = forms.CharField(label=_("Who performs"), max_length=120, required=False)
    text = forms.CharField(label=_("Term"), max_length=4000, required=False)
    due_on = forms.DateField(
        label=_("Due on"), required=False, widget=date_input(), help_text=_("Left empty: the agreement's deadline.")
    )

    def is_empty(self) -> bool:
        return not (self.cleaned_data.get("obligor") or self.cleaned_data.get("text"))


def term_forms(data=None, agreement=None) -> list[TermForm]:
    """The term rows of the agreement form, filled with the terms in force when revising."""
    terms = list(agreement.terms.all()) if agreement is not None else []
    rows = max(TERM_ROWS, len(terms) + 1)
    initial = [{"obligor": t.obligor, "text": t.text, "due_on": t.due_on} for t in terms]
    initial += [{}] * (rows - len(initial))
    return [TermForm(data, prefix=f"term{i}", initial=row) for i, row in enumerate(initial)]


class PostedAgreement:
    """The agreement form and its term rows as posted; empty rows are not terms."""

    def __init__(self, data):
        self.form = AgreementForm(data, prefix="agreement")
        self.rows = term_forms(data)

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), *(r.is_valid() for r in self.rows)])

    def filled(self) -> list[TermForm]:
        """The rows that hold a term, in order: a refusal's `terms[i]` counts these."""
        return [r for r in self.rows if not r.is_empty()]

    def payload(self) -> dict:
        return {**self.form.cleaned_data, "terms": [r.cleaned_data for r in self.filled()]}


class TermStateForm(forms.Form):
    order = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    state = forms.ChoiceField(choices=[("done", _("Performed")), ("breached", _("Not performed"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FollowUpPlanForm(forms.Form):
    due_on = forms.DateField(label=_("Visit on"), widget=date_input())

    def payload(self) -> dict:
        return {"due_on": self.cleaned_data["due_on"]}


class FollowUpForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=FollowUpMethod.choices, widget=forms.RadioSelect)
    performed = yes_no_field(_("Agreement performed"))
    satisfied = yes_no_field(_("Parties satisfied"))
    flare_up = yes_no_field(_("Signs of flare-up"))
    note = forms.CharField(label=_("Note"), max_length=4000, required=False, widget=textarea(2))

    def payload(self) -> dict:
        return dict(self.cleaned_data)


class CourtApplyForm(forms.Form):
    court = forms.CharField(label=_("Court"), max_length=100)
    applied_on = forms.DateField(label=_("Applied on"), widget=date_input())
    referral_number = forms.CharField(label=_("Court's referral number"), max_length=60, required=False)

    def payload(self) -> dict:
        return dict(self.cleaned_data)


class CourtAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Answer"),
        choices=[
            (CourtAnswer.CONFIRMED, CourtAnswer.CONFIRMED.label),
            (CourtAnswer.REJECTED, CourtAnswer.REJECTED.label),
        ],
        widget=forms.RadioSelect,
    )
    answered_on = forms.DateField(label=_("Answered on"), widget=date_input())
    note = forms.CharField(label=_("Note"), max_length=4000, required=False, widget=textarea(2))

    def payload(self) -> dict:
        return dict(self.cleaned_data)


class ReviewForm(forms.Form):
    """卷宗评查: points for each item of the checklist."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label, points in CHECKLIST:
            self.fields[code] = forms.IntegerField(
                label=f"{label} (0–{points})", min_value=0, max_value=points, initial=points
            )
        self.fields["comment"] = forms.CharField(
            label=_("Comment"), max_length=2000, required=False, widget=textarea(2)
        )

    def scores(self) -> dict:
        return {code: self.cleaned_data[code] for code, _label, _points in CHECKLIST}


# --- Set-up -----------------------------------------------------------------------------------------------


class RoomForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=RoomKind.choices)
    division = forms.ChoiceField(label=_("Division"))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, divisions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [(d.code, f"{d.code} {d.name}") for d in divisions]


class MediatorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=MediatorKind.choices)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    organization = forms.CharField(label=_("Organization"), max_length=100, required=False)
    specialties = forms.MultipleChoiceField(
        label=_("Specialties"), choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    division = forms.ChoiceField(label=_("Division"))
    room = forms.ChoiceField(label=_("Room"), required=False)
    in_pool = forms.BooleanField(label=_("Expert pool member"), required=False)
    capacity = forms.IntegerField(label=_("Open disputes at most"), min_value=1, max_value=100, initial=8)
    username = forms.CharField(
        label=_("Account (username)"),
        max_length=150,
        required=False,
        help_text=_("Only a mediator with an account can lead a dispute."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, divisions=(), rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [(d.code, f"{d.code} {d.name}") for d in divisions]
        self.fields["room"].choices = blank([(str(r.pk), r.name) for r in rooms])
