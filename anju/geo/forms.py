"""Forms of the grid pages; they only read and check input, the actions write."""

import json
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from anju.geo.models import SINGLE_POSTS, Post

MAX_UPLOAD = 20 * 1024 * 1024
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


class GridImportForm(forms.Form):
    file = forms.FileField(label=_("GeoJSON file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise ValidationError(_("The file is larger than 20 MB."))
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationError(_("The file is not valid JSON: %(e)s") % {"e": exc}) from exc


def _person(text: str, where: str) -> dict:
    """'name phone' -> {name, phone}; the phone is optional."""
    parts = text.split()
    phone = parts[-1] if len(parts) > 1 and PHONE.match(parts[-1]) else ""
    name = " ".join(parts[:-1] if phone else parts)
    if not name or len(name) > 64:
        raise ValidationError(_("%(w)s: a name of 1 to 64 characters is needed.") % {"w": where})
    return {"name": name, "phone": phone}


class TeamForm(forms.Form):
    """The "4+N+N" team: one line for each single post, one line per person for the N+N."""

    head = forms.CharField(label=Post.HEAD.label, required=False, max_length=90)
    advisor = forms.CharField(label=Post.ADVISOR.label, required=False, max_length=90)
    officer = forms.CharField(label=Post.OFFICER.label, required=False, max_length=90)
    manager = forms.CharField(label=Post.MANAGER.label, required=False, max_length=90)
    informant = forms.CharField(label=Post.INFORMANT.label, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    volunteer = forms.CharField(label=Post.VOLUNTEER.label, required=False, widget=forms.Textarea(attrs={"rows": 6}))

    @classmethod
    def initial_for(cls, team) -> dict:
        """Form values showing a grid's current team."""
        lines: dict[str, list[str]] = {}
        for m in team:
            lines.setdefault(m.post, []).append(f"{m.name} {m.phone}".strip())
        return {post: "\n".join(values) for post, values in lines.items()}

    def members(self) -> list[dict]:
        """The team as the `set_team` action takes it."""
        members = []
        for post in Post.values:
            text = self.cleaned_data.get(post) or ""
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if post in SINGLE_POSTS and len(lines) > 1:
                raise ValidationError(_("%(p)s is held by one person.") % {"p": Post(post).label})
            for line in lines:
                members.append({"post": post, **_person(line, Post(post).label)})
        return members

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            self.cleaned_members = self.members()
        return cleaned
