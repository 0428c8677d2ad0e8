"""The registry pages in a real browser: an officer finds a person, unmasks them with a reason, and verifies
a pending person from the queue.

Every wait is on a condition of the page (a URL, an element), never on a fixed delay.
"""

import os

import pytest
from django.urls import reverse

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py explains; CI (ANJU_REQUIRE_BROWSER=1) must not skip
    if os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from anju.core import masking
from anju.core.models import AuditEvent
from anju.geo.models import Grid
from anju.registry import actions
from anju.registry.models import Person, Status
from tests.browser.test_pages import path_is, sign_in, zh
from tests.conftest import OWN_GRID
from tests.registry.conftest import OWN_COMMUNITY, id_number

pytestmark = pytest.mark.browser


def test_officer_finds_unmasks_and_verifies_a_person(page, district, make_user, js_errors):
    officer = make_user("officer", OWN_COMMUNITY)
    worker = make_user("grid_worker", OWN_GRID)
    grid = Grid.objects.get(code=OWN_GRID)
    number = id_number("19950610", "331", "510104")
    person = actions.collect_person(
        worker, {"name": "李强", "id_number": number, "phone": "13912345678"}, place=grid.path, grid=grid
    )
    assert person.status == Status.PENDING
    person_url = reverse("registry_person", args=[person.pk])

    sign_in(page, officer)
    page.goto("/registry/")
    page.fill("#id_q", "李强")
    page.locator("form.search-form button[type=submit]").click()
    results = page.locator("#results")
    expect(results).to_contain_text(masking.mask_id_number(number))
    results.get_by_role("link", name="李强").click()

    expect(page).to_have_url(path_is(person_url))
    expect(page.locator("#id-number")).to_have_text(masking.mask_id_number(number))
    expect(page.locator("#phone")).to_have_text("139****5678")
    expect(page.locator("main")).not_to_contain_text(number)
    page.locator("#unmask-form input[name=reason]").fill("上门核查身份")
    page.locator("#unmask-form button[type=submit]").click()
    expect(page.locator("#id-number")).to_have_text(number)
    expect(page.locator("#phone")).to_have_text("13912345678")
    expect(page.locator("#unmask-form")).to_have_count(0)
    assert AuditEvent.objects.get(action="person.unmask").purpose == "上门核查身份"

    page.goto("/registry/queue/")
    verify = reverse("registry_decide", args=["person", person.pk, "verify"])
    row = page.locator("#verify-person tr", has=page.locator(f"a[href='{person_url}']"))
    expect(row).to_contain_text("李强")
    row.locator(f"form[action='{verify}'] button[data-action=verify]").click()
    expect(page).to_have_url(path_is("/registry/queue/"))
    expect(page.locator(".alert-ok")).to_have_text(zh("Verified."))
    expect(page.locator("#verify-person")).to_have_count(0)
    person.refresh_from_db()
    assert (person.status, person.verified_by) == (Status.VERIFIED, officer)
    assert Person.objects.filter(status=Status.PENDING).count() == 0
    assert js_errors == []
