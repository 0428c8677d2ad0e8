"""The case pages in a real browser: a grid worker reports a case with a point tapped on the map and a
photo; the community desk accepts, registers and dispatches it back to the worker.

Every wait is on a condition of the page (a URL, an element, `data-state` of the map), never on a fixed
delay. Screenshots of each page, on a desktop and a phone, are kept in /tmp/cases-shots/.
"""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py explains; CI (ANJU_REQUIRE_BROWSER=1) must not skip
    if os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from anju.cases import actions, routing
from anju.cases.models import Case, State
from anju.core.roles import Role
from anju.geo.models import Division
from tests.browser.test_pages import path_is, sign_in, sign_out, zh
from tests.cases.conftest import OWN_COMMUNITY
from tests.cases.test_pages import png
from tests.conftest import OWN_GRID

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/cases-shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    """A full-page screenshot on the desktop and on a phone's width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def wait_for_case_map(page) -> None:
    the_map = page.locator("#case-map")
    expect(the_map).to_have_attribute("data-state", re.compile("^(ready|error)$"), timeout=15_000)
    assert the_map.get_attribute("data-state") == "ready", page.locator(".alert-error").all_inner_texts()


def test_worker_reports_on_the_map_and_the_desk_dispatches(page, district, make_user, media, tmp_path, js_errors):
    desk = make_user(Role.GRID_HEAD, OWN_COMMUNITY)
    worker = make_user(Role.GRID_WORKER, OWN_GRID)
    centre = routing.centre(Division.objects.get(code=OWN_COMMUNITY))
    actions.set_members(None, centre, [(desk, True), (worker, False)])
    picture = tmp_path / "scene.png"
    picture.write_bytes(png((180, 60, 40)))

    # The grid worker, in the field.
    sign_in(page, worker)
    page.locator("nav.nav a[href='/cases/']").click()
    expect(page).to_have_url(path_is("/cases/"))
    page.locator("#report-link").click()
    expect(page).to_have_url(path_is("/cases/new/"))
    wait_for_case_map(page)
    expect(page.locator("#case-map")).to_have_attribute("data-drawn", "1")  # the worker's own grid
    page.select_option("#id_category", "0601")
    page.fill("#id_description", "小区北门垃圾堆放三天无人清运")
    # The map is fitted to the grid (120.30-120.31, 36.05-36.06): its middle is the grid's middle.
    box = page.locator("#case-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#case-map")).to_have_attribute("data-picked", re.compile(r"^120\.30\d+,36\.05\d+$"))
    lng, lat = float(page.input_value("#id_lng")), float(page.input_value("#id_lat"))
    assert abs(lng - 120.305) < 0.002 and abs(lat - 36.055) < 0.002
    page.set_input_files("#id_photos", str(picture))
    shoot(page, "01-report")
    page.locator("#report-submit").click()

    case = Case.objects.get()
    expect(page).to_have_url(path_is(reverse("case_detail", args=[case.number])))
    expect(page.locator(".alert-ok").first).to_have_text(zh("Case %(number)s reported.") % {"number": case.number})
    assert (case.grid.code, case.channel, case.reporter) == (OWN_GRID, "field", worker)
    wait_for_case_map(page)
    photo = page.locator("#photos img")
    expect(photo).to_have_count(1)
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") == 1  # served, and a real image
    expect(page.locator("#actions")).to_have_count(0)  # nothing for the reporter to do yet
    shoot(page, "02-case-reported")
    sign_out(page)

    # The community desk.
    sign_in(page, desk)
    page.goto("/cases/")
    row = page.locator(f"#cases tr[data-number='{case.number}']")
    expect(row).to_contain_text("垃圾堆放或清运不及时")
    shoot(page, "03-desk-inbox")
    row.locator("a").first.click()
    expect(page).to_have_url(path_is(case.get_absolute_url()))
    for step, label in (("accept", "Accept"), ("register", "Register")):
        page.locator(f"#act-{step} button[data-action={step}]").click()
        expect(page.locator(".alert-ok").first).to_have_text(zh("Done: %(action)s.") % {"action": zh(label)})
    expect(page.locator("#case-state")).to_have_attribute("data-state", "registered")
    dispatch = page.locator("#act-dispatch")
    expect(dispatch).to_have_attribute("open", "")
    dispatch.locator("select[name=assignee]").select_option(worker.username)
    dispatch.locator("textarea[name=note]").fill("请今天清运")
    shoot(page, "04-desk-dispatch-form")
    dispatch.locator("button[data-action=dispatch]").click()
    expect(page.locator("#case-state")).to_have_attribute("data-state", "dispatched")
    expect(page.locator("#case-assignee")).to_have_text(str(worker))
    expect(page.locator("#timeline li")).to_have_count(4)
    expect(page.locator("#timeline li[data-action=dispatch]")).to_contain_text("请今天清运")
    shoot(page, "05-case-dispatched")

    case.refresh_from_db()
    assert (case.state, case.assignee, case.unit) == (State.DISPATCHED, worker, centre)
    page.locator("nav.nav a[href='/cases/supervision/']").click()
    expect(page.locator("#count-red")).to_have_text("0")
    shoot(page, "06-supervision")
    assert js_errors == []
