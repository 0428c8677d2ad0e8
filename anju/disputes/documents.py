"""The papers of a dispute as PDF: the mediation agreement (人民调解协议书) and the whole dossier (卷宗).

Both are filed with the justice bureau in Chinese whatever language the reader uses: the templates hold the
fixed legal wording in Chinese, and the labels of states and kinds render under zh-hans. User text goes
through Django's autoescape, so a name like "<b>x</b>" is printed as written, never read as markup.

Nothing here checks who asks. The papers carry the parties' full ID numbers: callers serve them only to
those who may mediate the dispute (`procedure.may_mediate`).
"""

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy

from anju.disputes.actions import procedure, records, reviews
from anju.disputes.models import Agreement, Dispute, Flag, Outcome, State

LANGUAGE = "zh-hans"

# Timeline steps taken outside `procedure.transition` (intake, records, reviews, the sweeper's cards).
ASSESSMENT_CONTEXTS = {
    "intake": gettext_lazy("At intake"),
    "session": gettext_lazy("At a session"),
    "review": gettext_lazy("On review"),
}
# The documents of a dossier in the order they are filed: (anchor, heading). The headings are the legal
# form's own Chinese wording, which no translation changes.
SECTIONS = (
    ("intake", "一、申请及受理登记"),
    ("rights", "二、权利义务告知"),
    ("investigation", "三、调查记录"),
    ("minutes", "四、调解笔录"),
    ("outcome", "五、调解协议书或告知书"),
    ("performance", "六、履行情况记录"),
    ("follow_up", "七、回访记录"),
    ("court", "八、司法确认"),
    ("risk", "九、风险评估"),
    ("timeline", "十、办理过程"),
    ("reviews", "十一、卷宗评查"),
)
# Which notice the dossier files in place of an agreement, by outcome.
NOTICES = {Outcome.TERMINATED: "terminated", Outcome.DECLINED: "declined", Outcome.REFERRED: "referred"}


def agreement_pdf(agreement: Agreement) -> bytes:
    """The 人民调解协议书 of one version of an agreement, on A4, in Chinese."""
    with translation.override(LANGUAGE):
        html = render_to_string("disputes/pdf/agreement.html", {"paper": agreement_paper(agreement)})
    return _pdf(html)


def dossier_pdf(dispute: Dispute) -> bytes:
    """The whole dossier of a dispute as one PDF, its documents in the order they are filed.

    A document the dispute does not have is listed as 无 so that every dossier keeps the same order.
    """
    agreement = records.current_agreement(dispute)
    events = list(dispute.events.select_related("actor"))
    with translation.override(LANGUAGE):
        assessments = [_assessment(a) for a in dispute.assessments.select_related("by")]
        context = {
            "dispute": dispute,
            "sections": SECTIONS,
            "titles": dict(SECTIONS),
            "parties": list(dispute.parties.all()),
            "mediators": mediators(dispute),
            "organisation": organisation(dispute),
            "intake": next((a for a in assessments if a["item"].context == "intake"), None),
            "informed": [e for e in events if e.action == "inform"],
            "investigations": [e for e in events if e.action == "investigate"],
            "sessions": list(dispute.sessions.all()),
            "paper": agreement_paper(agreement) if agreement else None,
            "versions": list(dispute.agreements.all()),
            "notice": NOTICES.get(dispute.outcome),
            "follow_ups": list(dispute.follow_ups.select_related("by")),
            "court": getattr(dispute, "court_confirmation", None),
            "assessments": assessments,
            "events": [_event(e) for e in events],
            "reviews": [_review(r) for r in dispute.reviews.select_related("reviewer")],
        }
        html = render_to_string("disputes/pdf/dossier.html", context)
    return _pdf(html)


def agreement_paper(agreement: Agreement) -> dict:
    """What the agreement's body shows: the version, its dispute, parties, terms, mediators and organisation."""
    dispute = agreement.dispute
    return {
        "agreement": agreement,
        "dispute": dispute,
        "parties": list(dispute.parties.select_related("organization")),
        "terms": list(agreement.terms.all()),
        "mediators": mediators(dispute),
        "organisation": organisation(dispute),
    }


def mediators(dispute: Dispute) -> list:
    """The lead first, then the co-mediators, each once."""
    people = [dispute.lead] if dispute.lead_id else []
    people += [m for m in dispute.mediators.all() if m.pk != dispute.lead_id]
    return people


def organisation(dispute: Dispute) -> str:
    """The mediation organisation that seals the papers: the room, else the lead's own organisation."""
    if dispute.room_id:
        return dispute.room.name
    return dispute.lead.organization if dispute.lead_id else ""


def _assessment(a) -> dict:
    return {
        "item": a,
        "context": ASSESSMENT_CONTEXTS.get(a.context, a.context),
        "flags": [Flag(f).label if f in Flag.values else f for f in a.flags],
    }


def _event(e) -> dict:
    return {
        "item": e,
        "action": procedure.EVENT_LABELS.get(e.action, e.action),
        "from": _state(e.from_state),
        "to": _state(e.to_state),
    }


def _state(value: str) -> str:
    return State(value).label if value in State.values else value


def _review(r) -> dict:
    return {
        "item": r,
        "scores": [(label, r.scores.get(code, 0), points) for code, label, points in reviews.CHECKLIST],
    }


def _pdf(html: str) -> bytes:
    # Imported here: loading WeasyPrint takes about a second, which every process importing the views would pay.
    from weasyprint import HTML

    # No base URL: the papers load nothing from outside (fonts come from fontconfig, styles are inline).
    return HTML(string=html).write_pdf()
