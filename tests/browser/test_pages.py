"""The server-rendered pages in a real browser: sign-in, counts, language, tree, maps, audit, tokens.

Every wait is on a condition of the page (a URL, an element, `data-state="ready"` on the map),
never on a fixed delay. Each test leaves a screenshot in its tmp_path (see conftest.py).
"""

import os
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import translation

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py explains; CI (ANJU_REQUIRE_BROWSER=1) must not skip
    if os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from anju.core.models import ApiToken, AuditEvent
from tests.conftest import COMMUNITIES, OTHER_GRID, OWN_GRID, PASSWORD, grid_features

pytestmark = pytest.mark.browser

MO_FILE = Path(__file__).resolve().parents[2] / "anju" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
HOME = re.compile(r"^https?://[^/]+/$")
STREET = "370203005"
TEAM = {"王伟": "13812345678", "李娜": "13912345678", "张强": "13712345678"}


def zh(message: str) -> str:
    """`message` as the Chinese UI shows it (the msgid itself while it is untranslated)."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


def path_is(path: str) -> re.Pattern:
    """A URL pattern for `path` (query string allowed) on the live server."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def sign_in(page, user, password: str = PASSWORD) -> None:
    """Sign in through the login page, as a person would."""
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    # The login form's own button; the top bar's language switch is a submit button too.
    page.locator(".login-box button[type=submit]").click()
    expect(page).to_have_url(HOME)


def sign_out(page) -> None:
    page.locator(".topbar form[action='/logout/'] button").click()
    expect(page).to_have_url(path_is("/login/"))


def wait_for_map(page, drawn: int) -> None:
    """The map script finished (`ready`, not `error`) and drew `drawn` grids."""
    the_map = page.locator("#map")
    expect(the_map).to_have_attribute("data-state", re.compile("^(ready|error)$"), timeout=15_000)
    alerts = page.locator(".alert-error").all_inner_texts()
    assert the_map.get_attribute("data-state") == "ready", f"map failed: {alerts}"
    expect(the_map).to_have_attribute("data-drawn", str(drawn))


def api_status(base_url: str, path: str, token: str) -> int:
    """The status of an API GET made with a bearer token only (no browser cookies)."""
    request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# 1 -------------------------------------------------------------------------------------------------


def test_login_is_chinese_by_default_and_rejects_a_wrong_password(page, district, make_user):
    user = make_user("grid_worker", OWN_GRID)

    page.goto("/login/")
    # Chinese although the browser asks for English (Accept-Language: en-US, see conftest.py).
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    button = page.locator(".login-box button[type=submit]")
    if MO_FILE.exists():
        expect(button).to_contain_text("登录")
    expect(page.locator(".lang-switch button")).to_have_text("English")

    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD + "x")
    button.click()
    alert = page.locator(".login-box .alert-error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_have_text(
        zh("Wrong username or password, or the account is locked for a while after repeated failures.")
    )
    expect(page).to_have_url(path_is("/login/"))
    expect(page.locator("nav.nav")).to_have_count(0)  # not signed in

    page.fill("#id_password", PASSWORD)
    button.click()
    expect(page).to_have_url(HOME)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".topbar .user")).to_contain_text(str(user))
    expect(page.locator("#stat-grids")).to_have_text("1")


# 2 -------------------------------------------------------------------------------------------------


def test_home_of_a_street_admin_shows_the_counts_of_the_street(page, district, make_user):
    # What the shared fixture holds under the street, computed from its own data.
    communities = {code for code, (street, _name) in COMMUNITIES.items() if street == STREET}
    grids = [f["properties"] for f in grid_features() if f["properties"]["community"] in communities]
    expected = {
        "streets": 1,
        "communities": len(communities),
        "grids": len(grids),
        "households": sum(g["households"] for g in grids),
        "team": len(TEAM) if OWN_GRID.startswith(STREET) else 0,
    }
    assert expected == {"streets": 1, "communities": 2, "grids": 4, "households": 1602, "team": 3}

    sign_in(page, make_user("street_admin", STREET))
    for name, value in expected.items():
        shown = page.locator(f"#stat-{name}").inner_text()
        # Households go through |intcomma: no separator in Chinese, "1,602" in English.
        assert re.sub(r"[,\s]", "", shown) == str(value), f"#stat-{name} shows {shown!r}, expected {value}"
    card = page.locator(".card", has=page.locator("#stat-grids"))
    expect(card.locator(f"a[href='/divisions/{STREET}/']")).to_have_text("辽宁路街道")
    expect(page.locator("main")).not_to_contain_text("延安路街道")  # the other street is out of scope


# 3 -------------------------------------------------------------------------------------------------


def test_language_switch_changes_the_language_and_the_choice_sticks(page, district, make_user):
    sign_in(page, make_user("street_admin", STREET))
    html, switch, title = page.locator("html"), page.locator(".lang-switch button"), page.locator("h1")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(title).to_have_text(zh("Home"))

    switch.click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(HOME)  # back on the page where the switch was pressed
    expect(title).to_have_text("Home")
    expect(switch).to_have_text("中文")

    page.locator("nav.nav a[href='/divisions/']").click()
    expect(page).to_have_url(path_is("/divisions/"))
    expect(html).to_have_attribute("lang", "en")
    expect(title).to_have_text("Divisions and grids")
    page.goto("/map/")
    expect(html).to_have_attribute("lang", "en")
    expect(title).to_have_text("Grids in my scope")

    switch.click()
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(path_is("/map/"))
    expect(title).to_have_text(zh("Grids in my scope"))
    expect(switch).to_have_text("English")
    page.locator("nav.nav a[href='/divisions/']").click()
    expect(page).to_have_url(path_is("/divisions/"))
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(title).to_have_text(zh("Divisions and grids"))


# 4 -------------------------------------------------------------------------------------------------


def open_details(page, within, name: str):
    """Open the <details> whose summary links to `name`, by clicking the summary beside the link
    (the link itself goes to the division's page); return the <details>."""
    details = within.locator(f"xpath=.//details[summary/a[normalize-space()='{name}']]")
    expect(details).to_have_count(1)
    details.locator("> summary > span.muted").click()
    expect(details).to_have_attribute("open", "")
    return details


def test_division_tree_opens_level_by_level_down_to_a_grid(page, district, make_user):
    sign_in(page, make_user("district_admin", "370203"))
    page.locator("nav.nav a[href='/divisions/']").click()
    tree = page.locator("#tree")
    # The district's node is open from the start: htmx loads its streets without a click.
    expect(tree.get_by_role("link", name="辽宁路街道", exact=True)).to_be_visible()
    expect(tree.get_by_role("link", name="延安路街道", exact=True)).to_be_visible()

    street = open_details(page, tree, "辽宁路街道")
    expect(street.get_by_role("link", name="贮水山社区居委会", exact=True)).to_be_visible()
    expect(street.get_by_role("link", name="小鲍岛社区居委会", exact=True)).to_be_visible()
    expect(street.get_by_role("link", name="延安路社区居委会")).to_have_count(0)

    community = open_details(page, street, "贮水山社区居委会")
    grid_name = f"网格{OWN_GRID[-5:]}"
    expect(community.get_by_role("link", name=grid_name, exact=True)).to_be_visible()
    expect(community.locator("a[href^='/grids/']")).to_have_count(2)

    community.get_by_role("link", name=grid_name, exact=True).click()
    expect(page).to_have_url(path_is(f"/grids/{OWN_GRID}/"))
    expect(page.locator("#grid-code")).to_have_text(OWN_GRID)


# 5 -------------------------------------------------------------------------------------------------


def centroid(code: str) -> tuple[float, float]:
    """(lat, lng) of the middle of a fixture grid's square."""
    feature = next(f for f in grid_features() if f["properties"]["code"] == code)
    ring = feature["geometry"]["coordinates"][0][:-1]
    return sum(p[1] for p in ring) / len(ring), sum(p[0] for p in ring) / len(ring)


def test_map_of_a_street_draws_its_grids_and_a_click_opens_a_grid(page, district, make_user, tmp_path, js_errors):
    sign_in(page, make_user("street_admin", STREET))
    page.locator("nav.nav a[href='/map/']").click()
    expect(page).to_have_url(path_is("/map/"))
    in_street = [f for f in grid_features() if f["properties"]["code"].startswith(STREET)]
    wait_for_map(page, len(in_street))
    assert len(in_street) == 4
    expect(page.locator("#map .map-legend")).to_contain_text("4")
    # preferCanvas: the grids are drawn on a canvas in the overlay pane, the district outline on
    # one in its own pane; the pane only gets a canvas once a layer has been added to it.
    expect(page.locator("#map .leaflet-overlay-pane canvas")).to_have_count(1)
    expect(page.locator("#map .leaflet-anjuBoundary-pane canvas")).to_have_count(1)
    page.locator("#map").screenshot(path=tmp_path / "map.png")
    assert not js_errors

    target = f"{STREET}014002"  # the north-east grid of the street
    lat, lng = centroid(target)
    point = page.evaluate(
        """([lat, lng]) => {
             const p = window.anjuMap.latLngToContainerPoint([lat, lng]);
             const box = document.getElementById('map').getBoundingClientRect();
             return {x: box.left + p.x, y: box.top + p.y};
           }""",
        [lat, lng],
    )
    page.mouse.click(point["x"], point["y"])
    expect(page).to_have_url(path_is(f"/grids/{target}/"))
    expect(page.locator("#grid-code")).to_have_text(target)


# 6 -------------------------------------------------------------------------------------------------


def test_grid_page_of_a_grid_worker_shows_the_team_with_masked_phones(page, district, make_user, js_errors):
    sign_in(page, make_user("grid_worker", OWN_GRID))
    page.goto(f"/grids/{OWN_GRID}/")
    expect(page.locator("#grid-code")).to_have_text(OWN_GRID)
    expect(page.locator("main table.data")).to_contain_text(COMMUNITIES[OWN_GRID[:12]][1])
    expect(page.locator("#grid-households")).to_have_text("400")
    team = page.locator("#team")
    for name, phone in TEAM.items():
        member = team.locator("li li", has_text=name)
        expect(member).to_have_count(1)
        expect(member).to_contain_text(phone[:3] + "****" + phone[-4:])
    content = page.content()
    for phone in TEAM.values():
        assert phone not in content
    wait_for_map(page, 1)
    assert not js_errors

    response = page.goto(f"/grids/{OTHER_GRID}/")
    assert response is not None and response.status == 404


# 7 -------------------------------------------------------------------------------------------------


def test_audit_log_lists_logins_and_verifies_the_chain(page, district, make_user):
    worker = make_user("grid_worker", OWN_GRID)
    auditor = make_user("auditor", "370203")

    sign_in(page, worker)
    expect(page.locator("nav.nav")).to_be_visible()
    expect(page.locator("nav.nav a[href='/audit/']")).to_have_count(0)
    response = page.goto("/audit/")
    assert response is not None and response.status == 403
    page.goto("/")
    sign_out(page)

    sign_in(page, auditor)
    page.locator("nav.nav a[href='/audit/']").click()
    expect(page).to_have_url(path_is("/audit/"))
    rows = page.locator("main table.data tbody tr")
    logins = rows.filter(has=page.locator("td:nth-child(5) .muted", has_text=re.compile(r"^login$")))
    expect(logins).to_have_count(2)
    users = {logins.nth(i).locator("td:nth-child(3)").inner_text() for i in range(2)}
    assert users == {worker.username, auditor.username}

    page.get_by_role("button", name=zh("Verify the chain")).click()
    expect(page).to_have_url(re.compile(r"[?&]verify=1"))
    result = page.locator("#verify-result")
    expect(result).to_be_visible()
    expect(result).to_have_class(re.compile(r"\balert-ok\b"))
    # Every row before it was checked; the check itself is then recorded as the newest row.
    checked = AuditEvent.objects.count() - 1
    assert AuditEvent.objects.order_by("-id").first().action == "audit.verify"
    expect(result).to_have_text(zh("The chain is intact: %(n)s rows checked.") % {"n": checked})


def test_audit_log_times_are_in_utc_as_the_header_says(page, district, make_user):
    sign_in(page, make_user("auditor", "370203"))
    page.goto("/audit/")
    expect(page.locator("main table.data thead th").nth(1)).to_have_text(zh("Time (UTC)"))
    # The newest row is this reading of the log; the sign-in just before it is the newest login.
    newest = (
        page.locator("main table.data tbody tr")
        .filter(has=page.locator("td:nth-child(5) .muted", has_text=re.compile(r"^login$")))
        .first
    )
    shown = datetime.strptime(newest.locator("td:nth-child(2)").inner_text(), "%Y-%m-%d %H:%M:%S")
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs(shown - now) < timedelta(minutes=5), f"shown {shown}, UTC now {now:%Y-%m-%d %H:%M:%S}"


# 8 -------------------------------------------------------------------------------------------------


def token_row(page, name: str):
    return page.locator("main table.data tbody tr").filter(has=page.locator("td:first-child", has_text=name))


def test_api_token_is_shown_once_and_can_be_revoked(page, live_server, district, make_user):
    sign_in(page, make_user("grid_worker", OWN_GRID))
    page.locator("nav.nav a[href='/account/tokens/']").click()
    expect(page).to_have_url(path_is("/account/tokens/"))

    page.fill("#token-name", "ci-token")
    page.locator("form:has(#token-name) button[type=submit]").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    secret = shown.inner_text().strip()
    assert re.fullmatch(r"anju_[\w-]{40,}", secret), secret
    row = token_row(page, "ci-token")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_class(re.compile(r"\bbadge-green\b"))
    expect(row.locator("code")).to_have_text(secret[5:13] + "…")
    assert api_status(live_server.url, f"/api/v1/grids/{OWN_GRID}", secret) == 200

    page.goto("/account/tokens/")  # the list again: the secret is not in it
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke this token?"
    token_row(page, "ci-token").get_by_role("button").click()
    expect(page).to_have_url(path_is("/account/tokens/"))
    row = token_row(page, "ci-token")
    expect(row.locator(".badge")).to_have_class(re.compile(r"\bbadge-grey\b"))
    expect(row.locator(".badge")).to_have_text(zh("revoked"))
    expect(row.get_by_role("button")).to_have_count(0)
    expect(page.locator(".alert-ok")).to_contain_text(secret[5:13])
    assert api_status(live_server.url, f"/api/v1/grids/{OWN_GRID}", secret) == 401

    page.reload()
    expect(token_row(page, "ci-token").locator(".badge")).to_have_class(re.compile(r"\bbadge-grey\b"))
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()
    assert ApiToken.objects.count() == 1


def test_reloading_the_page_after_creating_a_token_does_not_issue_another(page, district, make_user):
    sign_in(page, make_user("grid_worker", OWN_GRID))
    page.goto("/account/tokens/")
    page.fill("#token-name", "once")
    page.locator("form:has(#token-name) button[type=submit]").click()
    expect(page.locator("#new-token")).to_be_visible()
    assert ApiToken.objects.count() == 1

    page.reload()  # headless Chromium re-posts without asking; a person gets "Confirm Form Resubmission"
    expect(page.locator("main table.data tbody tr").first).to_be_visible()
    assert ApiToken.objects.count() == 1
