"""The tenant's QR self-declaration on a phone-sized screen: a bad ID number is explained, a good one confirmed.

Every wait is on a condition of the page (a URL, an element), never on a fixed delay.
"""

import os
import re

import pytest
from django.utils import timezone

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py explains; CI (ANJU_REQUIRE_BROWSER=1) must not skip
    if os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from anju.registry.actions import records
from anju.registry.models import Channel, Residence, Status
from tests.browser.test_pages import zh
from tests.conftest import OWN_GRID
from tests.registry.test_declaration import make_house, valid_id, validator_message

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_tenant_declares_on_a_phone(page, district, make_user, js_errors):
    worker = make_user("grid_worker", OWN_GRID)
    house = make_house()
    records.set_responsible(None, house.building, worker)
    good = valid_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")

    page.set_viewport_size(PHONE)
    page.goto(f"/d/{house.qr_token}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#address")).to_have_text(house.address.label)
    expect(page.locator("#id_start")).to_have_value(timezone.localdate().isoformat())
    # Made for the phone: the form fits the screen's width, no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.fill("#id_name", "张三")
    page.fill("#id_id_number", bad)
    page.fill("#id_phone", "13812345678")
    page.locator("#declare-form button[type=submit]").click()
    error = page.locator("#error_id_number")
    expect(error).to_have_text(validator_message(bad))
    expect(page.locator("#id_id_number")).to_have_attribute("aria-invalid", "true")
    assert not Residence.objects.exists()

    page.fill("#id_id_number", good)
    page.locator("#declare-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/d/{re.escape(house.qr_token)}/done/[^/]+/$"))
    expect(page.locator("#done h1")).to_have_text(zh("Registration received"))
    residence = Residence.objects.get()
    expect(page.locator("#reference")).to_have_text(f"D{residence.pk:07d}")
    expect(page.locator("#masked-name")).to_have_text("张*")
    expect(page.locator("#done-address")).to_have_text(house.address.label)
    expect(page.locator("#due")).to_have_text(residence.registration_due.isoformat())
    expect(page.locator("main")).not_to_contain_text(good[6:14])
    assert (residence.status, residence.channel) == (Status.PENDING, Channel.SELF)
    assert js_errors == []
