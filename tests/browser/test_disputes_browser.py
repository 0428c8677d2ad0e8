"""The dispute pages in a real browser: a grid worker takes a dispute in with a point tapped on the map; the
room's mediator takes it through the steps to an agreement and its PDF; a refused step says why; the page in
both languages.

Every wait is on a condition of the page (a URL, an element, `data-state` of the map), never on a fixed delay.
The interface is Chinese until the user picks English (see conftest.py), so expected texts go through `zh`.
"""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py explains; CI (ANJU_REQUIRE_BROWSER=1) must not skip
    if os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from anju.disputes.actions.procedure import ACTION_LABELS
from anju.disputes.models import Dispute, State
from tests.browser.test_cases_browser import wait_for_case_map
from tests.browser.test_pages import path_is, sign_in, sign_out, zh
from tests.disputes.conftest import TO_AGREEMENT, _quick_passwords, mediation, take_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def zh_state(state: State) -> str:
    """A dispute state's label as the Chinese interface shows it (some labels carry a context)."""
    with translation.override("zh-hans"):
        return str(state.label)


def open_dispute(page, dispute: Dispute) -> None:
    page.goto(dispute.get_absolute_url())
    expect(page.locator("#dispute-title code")).to_have_text(dispute.number)


def take_step(page, action: str, **fields: str) -> None:
    """Open the step's form, fill its fields (by name), press its button and see it done."""
    form = page.locator(f"#act-{action}")
    form.locator("summary").click()
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator(f"button[data-action={action}]").click()
    done = zh("Done: %(action)s.") % {"action": zh(str(ACTION_LABELS[action]))}
    expect(page.locator(".alert-ok").first).to_have_text(done)


def test_grid_worker_takes_a_dispute_in_on_the_map(page, mediation, js_errors):  # noqa: F811
    worker = mediation["people"]["grid_worker"]
    sign_in(page, worker)
    page.goto("/disputes/")
    page.locator("#new-link").click()
    expect(page).to_have_url(path_is("/disputes/new/"))
    wait_for_case_map(page)
    expect(page.locator("#case-map")).to_have_attribute("data-drawn", "1")  # the worker's own grid
    page.select_option("#id_kind", "neighbour")
    page.fill("#id_summary", "楼上漏水致楼下天花板受损")
    page.fill("#id_facts", "302室卫生间漏水，202室天花板发霉脱落。")
    # The map is fitted to the worker's grid: its middle lies in the grid, and so in the community's room.
    box = page.locator("#case-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#case-map")).to_have_attribute("data-picked", re.compile(r"^120\.30\d+,36\.05\d+$"))
    page.fill("#id_party0-name", "张三")
    page.fill("#id_party0-phone", "13800000001")
    page.fill("#id_party1-name", "李四")
    page.fill("#id_party1-phone", "13800000002")
    page.locator("#intake-submit").click()

    expect(page).to_have_url(re.compile(r"/disputes/JF\d+/$"))
    dispute = Dispute.objects.get()
    expect(page).to_have_url(path_is(dispute.get_absolute_url()))
    expect(page.locator(".alert-ok").first).to_have_text(
        zh("Dispute %(number)s taken in.") % {"number": dispute.number}
    )
    expect(page.locator("#dispute-state")).to_have_attribute("data-state", State.RECEIVED)
    expect(page.locator("#dispute-state")).to_have_text(zh_state(State.RECEIVED))
    expect(page.locator("#dispute-lead")).to_contain_text(mediation["mediators"]["room_mediator"].name)
    expect(page.locator("#parties tr[data-party]")).to_have_count(2)
    assert (dispute.source, dispute.kind, dispute.room, dispute.received_by) == (
        "grid",
        "neighbour",
        mediation["rooms"]["community"],
        worker,
    )
    assert {p.name for p in dispute.parties.all()} == {"张三", "李四"}

    page.goto("/disputes/")
    row = page.locator(f"#disputes tr[data-number='{dispute.number}']")
    expect(row).to_contain_text("楼上漏水致楼下天花板受损")
    expect(row).to_contain_text(mediation["mediators"]["room_mediator"].name)
    assert js_errors == []


def test_room_mediator_mediates_to_an_agreement_and_its_pdf(page, mediation, take_in, js_errors):  # noqa: F811
    dispute = take_in()
    sign_in(page, mediation["people"]["room_mediator"])
    open_dispute(page, dispute)
    state = page.locator("#dispute-state")

    take_step(page, "accept")
    expect(state).to_have_attribute("data-state", State.ACCEPTED)
    take_step(page, "inform")
    take_step(page, "investigate", note="现场查看，确认漏水点在302室卫生间。")
    expect(state).to_have_attribute("data-state", State.INVESTIGATING)
    expect(page.locator("#timeline li[data-action=investigate]")).to_contain_text("确认漏水点")

    session = page.locator("#rec-session")
    session.locator("summary").click()
    session.locator("[name=session-attendees]").fill("张三、李四")
    session.locator("[name=session-minutes]").fill("双方陈述，李四同意赔偿维修费。")
    session.locator("[name=session-outcome]").select_option("agreement")
    session.locator("button[data-record=session]").click()
    expect(page.locator(".alert-ok").first).to_have_text(zh("The session was recorded."))
    expect(state).to_have_attribute("data-state", State.MEDIATING)
    expect(page.locator("#sessions")).to_contain_text("双方陈述")

    deadline = (timezone.localdate() + timedelta(days=20)).isoformat()
    agreement = page.locator("#rec-agreement")
    agreement.locator("summary").click()
    agreement.locator("[name=agreement-facts]").fill("302室漏水致202室天花板受损。")
    agreement.locator("[name=agreement-responsibilities]").fill("李四负主要责任。")
    agreement.locator("[name=agreement-method]").fill("现金一次性支付")
    agreement.locator("[name=agreement-deadline]").fill(deadline)
    agreement.locator("[name=term0-obligor]").fill("李四")
    agreement.locator("[name=term0-text]").fill("赔偿张三维修费2500元")
    agreement.locator("button[data-record=agreement]").click()
    expect(page.locator(".alert-ok").first).to_have_text(zh("The agreement was recorded."))
    expect(state).to_have_attribute("data-state", State.AGREED)
    expect(state).to_have_text(zh_state(State.AGREED))
    term = page.locator("#terms tr[data-term='1']")
    expect(term).to_have_attribute("data-state", "pending")
    expect(term).to_contain_text("赔偿张三维修费2500元")
    expect(term).to_contain_text(deadline)

    link = page.locator("#agreement-pdf")
    expect(link).to_have_text(zh("Agreement (PDF)"))
    response = page.request.get(link.get_attribute("href"))  # the page's cookies: the mediator's session
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome) == (State.AGREED, "agreement")
    assert list(dispute.events.values_list("action", flat=True)) == TO_AGREEMENT
    assert js_errors == []


def test_officer_records_a_dispute_settled_at_the_scene(page, mediation, take_in, js_errors):  # noqa: F811
    officer = mediation["people"]["officer"]
    dispute = take_in(actor=officer, source="police", incident_number="110-20261123-0042", on_spot=True)
    sign_in(page, officer)
    open_dispute(page, dispute)
    form = page.locator("#rec-on_spot")
    form.locator("summary").click()
    form.locator("[name=session-place]").fill("事发楼道")
    form.locator("[name=session-attendees]").fill("张三、李四")
    form.locator("[name=session-minutes]").fill("民警现场调解，李四同意赔偿。")
    form.locator("[name=agreement-facts]").fill("302室漏水致202室天花板受损。")
    form.locator("[name=agreement-responsibilities]").fill("李四负主要责任。")
    form.locator("[name=agreement-method]").fill("现场支付")
    form.locator("[name=agreement-deadline]").fill((timezone.localdate() + timedelta(days=3)).isoformat())
    form.locator("[name=term0-obligor]").fill("李四")
    form.locator("[name=term0-text]").fill("当场赔偿张三维修费800元")
    form.locator("button[data-record=on_spot]").click()
    expect(page.locator(".alert-ok").first).to_have_text(zh("The dispute was recorded as settled at the scene."))
    expect(page.locator("#dispute-state")).to_have_attribute("data-state", State.AGREED)
    expect(page.locator("#terms tr[data-term='1']")).to_contain_text("当场赔偿张三维修费800元")
    expect(page.locator("#rec-on_spot")).to_have_count(0)
    for action in ("accept", "inform", "session", "agreement"):
        expect(page.locator(f"#timeline li[data-action={action}]")).to_have_count(1)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.settled_level) == (State.AGREED, "on_spot")
    assert js_errors == []


def test_a_refused_step_says_why_and_changes_nothing(page, mediation, take_in, js_errors):  # noqa: F811
    dispute = take_in()
    sign_in(page, mediation["people"]["room_mediator"])
    open_dispute(page, dispute)
    decline = page.locator("#act-decline")
    decline.locator("summary").click()
    decline.locator("[name=reason]").fill("双方已向人民法院起诉")
    # Blanks pass the browser's `required` check; the server reads them as nothing.
    decline.locator("[name=other_routes]").fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        decline.locator("button[data-action=decline]").click()
    assert answer.value.status == 422

    missing = zh("Other routes the parties were told of") + ": " + zh("This field is required.")
    expect(page.locator(".alert-error").first).to_have_text(missing)
    expect(decline).to_have_attribute("open", "")  # the form comes back with what was typed
    expect(decline.locator("[name=reason]")).to_have_value("双方已向人民法院起诉")
    expect(page.locator("#dispute-state")).to_have_attribute("data-state", State.RECEIVED)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.events.count()) == (State.RECEIVED, 1)
    assert js_errors == []


def test_the_dispute_page_in_english_and_back_in_chinese(page, mediation, take_in, js_errors):  # noqa: F811
    dispute = take_in()
    sign_in(page, mediation["people"]["room_mediator"])
    open_dispute(page, dispute)
    html, switch = page.locator("html"), page.locator(".lang-switch button")
    heading, state = page.locator("#parties h2").first, page.locator("#dispute-state")

    switch.click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(path_is(dispute.get_absolute_url()))
    expect(heading).to_have_text("Parties")
    expect(state).to_have_text("Received")

    switch.click()
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(heading).to_have_text("当事人")
    expect(state).to_have_text("已登记")
    take_step(page, "accept")
    expect(state).to_have_text("已受理")
    expect(page.locator("#timeline li[data-action=accept]")).to_contain_text("已登记 → 已受理")
    sign_out(page)
    assert js_errors == []
