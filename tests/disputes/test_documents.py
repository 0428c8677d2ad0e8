"""The agreement (人民调解协议书) and dossier (卷宗) PDFs: what they print, in which order, in which font."""

import io
import re
import shutil

import pytest
from django.utils import translation
from pypdf import PdfReader

from anju.disputes import checks, documents
from anju.disputes.actions import procedure, records
from tests.disputes.conftest import at

pytestmark = pytest.mark.django_db

PARTIES = [
    {
        "role": "applicant",
        "name": "张三",
        "id_number": "370203198001011239",
        "phone": "13800000001",
        "address": "某小区5号楼202室",
    },
    {
        "role": "respondent",
        "name": "李四",
        "id_number": "370203198506152010",
        "phone": "13800000002",
        "address": "某小区5号楼302室",
    },
    {"role": "third", "name": "某物业服务公司", "representative": "周经理", "phone": "053280000000"},
]
SESSION = {
    "attendees": "张三、李四、物业周经理",
    "minutes": "双方陈述漏水经过，李四承认卫生间防水层老化，同意赔偿。",
    "outcome": "agreement",
}
AGREEMENT = {
    "facts": "302室卫生间漏水致202室天花板发霉脱落。",
    "responsibilities": "李四负全部责任，物业协助维修。",
    "method": "微信转账",
    "deadline": "2026-12-10",
    "court_confirmation": True,
    "terms": [
        {"obligor": "李四", "text": "赔偿张三维修费2500元", "due_on": "2026-11-20"},
        {"obligor": "李四", "text": "修复卫生间防水层", "due_on": "2026-12-10"},
    ],
}


def flat(pdf: bytes) -> str:
    """The PDF's text with all whitespace removed: extraction breaks lines where the layout does."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", "", text)


@pytest.fixture
def mediator(mediation):
    return mediation["people"]["room_mediator"]


@pytest.fixture
def mediating(take_in, mediator):
    """A dispute accepted, informed, investigated and mediated once."""

    def run(parties=PARTIES):
        d = take_in(now=at(2026, 11, 2, 10), parties=parties)
        procedure.transition(mediator, d, "accept", now=at(2026, 11, 2, 11))
        procedure.transition(mediator, d, "inform", now=at(2026, 11, 2, 11))
        procedure.transition(mediator, d, "investigate", note="现场查看，确认302室漏水点。", now=at(2026, 11, 3, 9))
        records.record_session(mediator, d, {**SESSION, "at": at(2026, 11, 4, 9)}, now=at(2026, 11, 4, 12))
        return d

    return run


def test_agreement_pdf_prints_the_agreement_in_chinese(mediating, mediator):
    d = mediating()
    agreement = records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12))
    # The reader's language does not matter: the agreement is a Chinese legal form.
    with translation.override("en"):
        pdf = documents.agreement_pdf(agreement)
    assert pdf.startswith(b"%PDF")
    text = flat(pdf)
    assert text.startswith("人民调解协议书")
    for expected in (
        f"{d.number}（第1版）",
        "调解组织：笑脸调解室",
        "申请人：张三",
        "370203198001011239",
        "被申请人：李四",
        "370203198506152010",
        "第三人：某物业服务公司",
        "法定代表人（负责人）：周经理",
        "302室卫生间漏水致202室天花板发霉脱落。",
        "李四负全部责任，物业协助维修。",
        "李四：赔偿张三维修费2500元（履行期限：2026年11月20日前）",
        "李四：修复卫生间防水层",
        "履行方式：微信转账；履行期限：2026年12月10日前履行完毕",
        "共同向人民法院申请司法确认",
        "人民调解员签字并加盖调解组织印章后生效",
        "具有法律约束力，当事人应当按照约定履行",
        "人民调解员（签名）：王调解",
        "笑脸调解室（印章）",
        "第1页共",
    ):
        assert expected in text, expected


def test_agreement_pdf_embeds_a_cjk_font(mediating, mediator):
    d = mediating()
    pdf = documents.agreement_pdf(records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12)))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("CJK" in name or "Noto" in name for name in fonts), fonts


def test_each_version_prints_its_own_terms(mediating, mediator):
    d = mediating()
    first = records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12))
    second = records.save_agreement(
        mediator,
        d,
        {
            **AGREEMENT,
            "court_confirmation": False,
            "terms": [{"obligor": "李四", "text": "分两期赔偿张三3000元", "due_on": "2026-12-10"}],
        },
        now=at(2026, 11, 6, 12),
    )
    old, new = flat(documents.agreement_pdf(first)), flat(documents.agreement_pdf(second))
    assert "（第1版）" in old and "赔偿张三维修费2500元" in old and "分两期" not in old
    assert "（第2版）" in new and "分两期赔偿张三3000元" in new and "赔偿张三维修费2500元" not in new
    assert "取代此前各版本" in new and "申请司法确认" not in new


def test_user_text_is_printed_as_written(mediating, mediator):
    d = mediating(parties=[{"role": "applicant", "name": "<b>x</b>"}, {"role": "respondent", "name": "李四"}])
    text = flat(documents.agreement_pdf(records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12))))
    assert "申请人：<b>x</b>" in text


def sections(text: str) -> dict[str, str]:
    """The dossier's body cut at its section headings, by anchor; the headings must stand in the filed order."""
    # The table of contents lists every heading first: the body begins after its last entry.
    last = documents.SECTIONS[-1][1]
    body = text[text.index(last) + len(last) :]
    positions = [body.index(heading) for _anchor, heading in documents.SECTIONS]
    assert positions == sorted(positions)
    ends = [*positions[1:], len(body)]
    return {
        anchor: body[start + len(heading) : end]
        for (anchor, heading), start, end in zip(documents.SECTIONS, positions, ends, strict=True)
    }


def test_dossier_files_every_document_in_order(mediating, mediator):
    d = mediating()
    records.save_agreement(mediator, d, AGREEMENT, now=at(2026, 11, 4, 12))
    for order in (1, 2):
        records.settle_term(mediator, d, order, "done", note="已转账" if order == 1 else "", now=at(2026, 11, 20, 9))
    records.follow_up(
        mediator,
        d,
        {"performed": True, "satisfied": True, "flare_up": False, "note": "双方关系缓和。"},
        now=at(2026, 12, 4, 9),
    )
    procedure.transition(mediator, d, "close", now=at(2026, 12, 5, 9))
    text = flat(documents.dossier_pdf(d))
    assert text.startswith("人民调解卷宗") and "目录" in text
    assert f"卷宗号{d.number}" in text and "立卷日期2026年12月5日" in text
    found = sections(text)
    for anchor, expected in (
        ("intake", "楼上漏水致楼下天花板受损"),
        ("rights", "告知时间"),
        ("investigation", "现场查看，确认302室漏水点。"),
        ("minutes", "李四承认卫生间防水层老化，同意赔偿。"),
        ("outcome", "人民调解协议书"),
        ("performance", "已转账"),
        ("follow_up", "双方关系缓和。"),
        ("risk", "2026年11月2日"),
        ("timeline", "2026年12月5日"),
    ):
        assert expected in found[anchor], anchor
    # No court application and no review: their places read 无.
    assert found["court"].startswith("无") and found["reviews"].startswith("无")


def test_terminated_dossier_files_the_termination_notice(mediating, mediator):
    d = mediating()
    procedure.transition(
        mediator,
        d,
        "terminate",
        reason="李四拒绝赔偿，调解无法继续。",
        other_routes="向人民法院起诉",
        now=at(2026, 11, 5, 9),
    )
    outcome = sections(flat(documents.dossier_pdf(d)))["outcome"]
    assert outcome.startswith("终止人民调解告知书") and "人民调解协议书" not in outcome
    assert "理由：李四拒绝赔偿，调解无法继续。" in outcome and "其他解决途径：向人民法院起诉" in outcome


def test_dossier_of_a_dispute_just_received_keeps_the_order(take_in):
    found = sections(flat(documents.dossier_pdf(take_in(now=at(2026, 11, 2, 10)))))
    for anchor in ("rights", "investigation", "minutes", "outcome", "performance", "follow_up", "court", "reviews"):
        assert found[anchor].startswith("无"), anchor


def test_font_check_is_quiet_when_a_chinese_font_is_installed():
    assert checks.chinese_fonts()
    assert checks.chinese_font(None) == []


def test_font_check_warns_without_fontconfig(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    [warning] = checks.chinese_font(None)
    assert warning.id == "anju.disputes.W001" and "fonts-noto-cjk" in warning.hint
