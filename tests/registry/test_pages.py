"""The registry pages through the real HTTP stack: signed in through the login page, as a person would be.

Search and counts, a person (masked, audited, unmasked with a reason, changed and verified or rejected),
a house (check-in, check-out), the queue, overdue tenants, the responsible worker of a building, and the
pages that collect houses and people.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from anju.core import masking
from anju.core.models import AuditEvent, Notification
from anju.geo.models import Grid
from anju.registry import actions
from anju.registry.models import Channel, House, Person, Residence, Status
from tests.conftest import OTHER_GRID, OWN_GRID, login
from tests.registry.conftest import OWN_COMMUNITY, house_data, id_number
from tests.registry.test_declaration import validator_message

pytestmark = pytest.mark.django_db

NEIGHBOUR_GRID = OWN_COMMUNITY + "002"  # the other grid of the officer's community


def zh(message: str) -> str:
    """`message` as the Chinese UI shows it."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


def day(value) -> str:
    """A date as the Chinese pages show it (2026年1月13日)."""
    with translation.override("zh-hans"):
        return date_filter(value)


def html(response) -> str:
    return unescape(response.content.decode())


def element(response, tag: str, element_id: str) -> str:
    """The inner HTML of the page's `<tag id="element_id">` (nested tags of the same name allowed)."""
    raw = response.content.decode()
    opening = re.search(rf'<{tag}\b[^>]*\bid="{element_id}"[^>]*>', raw)
    assert opening, f'no <{tag} id="{element_id}"> in the page'
    depth = 1
    for tag_match in re.finditer(rf"<(/?){tag}\b[^>]*>", raw[opening.end() :]):
        depth += -1 if tag_match.group(1) else 1
        if depth == 0:
            return unescape(raw[opening.end() : opening.end() + tag_match.start()])
    raise AssertionError(f'<{tag} id="{element_id}"> is not closed')


def text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def title(response) -> str:
    """The text of the page's <h1>."""
    match = re.search(r"<h1\b[^>]*>(.*?)</h1>", html(response), re.S)
    assert match, "no <h1> in the page"
    return text(match.group(1))


def flashed(response) -> list[str]:
    """The messages framework's messages shown on a rendered page."""
    return [str(m) for m in response.context["messages"]] if response.context else []


def decide_url(kind: str, record, decision: str) -> str:
    return reverse("registry_decide", args=[kind, record.pk, decision])


def grid(code: str = OWN_GRID) -> Grid:
    return Grid.objects.get(code=code)


def stranger(code: str = OTHER_GRID, name: str = "赵磊") -> Person:
    """A person registered in another street's grid (from the command line)."""
    g = grid(code)
    return actions.collect_person(
        None, {"name": name, "id_number": id_number("19850505", "517"), "phone": "13512345678"}, place=g.path, grid=g
    )


@pytest.fixture
def mediator(make_user):
    return make_user("mediator", OWN_COMMUNITY)


# --- Index: counts and search ----------------------------------------------------------------------


def test_index_shows_the_counts_of_the_scope(household, officer):
    r = login(officer).get("/registry/")
    assert r.status_code == 200
    nums = [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', html(r))]
    # People, people pending, houses, overdue tenants (the tenant moved in on 2026-01-10, due 3 days later).
    assert nums == [2, 1, 1, 1]
    assert r.context["counts"] == {"people": 2, "pending": 1, "houses": 1, "overdue": 1}


@pytest.mark.parametrize("how", ["id_number", "phone", "name", "address"])
def test_search_finds_the_person_in_scope_masked(household, worker, how):
    tenant = household["tenant"]
    q = {
        "id_number": tenant.id_number,
        "phone": tenant.phone,
        "name": "李强",
        "address": "延安三路123号鲁邦国际3号楼2单元502室",
    }[how]
    r = login(worker).get("/registry/", {"q": q})
    assert r.status_code == 200 and r.context["kind"] == how
    results = element(r, "table", "results")
    assert reverse("registry_person", args=[tenant.pk]) in results
    assert masking.mask_id_number(tenant.id_number) in results
    assert masking.mask_phone(tenant.phone) in results
    assert tenant.id_number not in results and tenant.phone not in results
    assert "李强" in results  # a grid worker meets the people: names in full
    if how != "id_number":  # (searching by the number echoes it in the search box, nowhere else)
        assert tenant.id_number not in html(r)
    if how != "phone":
        assert tenant.phone not in html(r)


def test_search_masks_names_for_a_mediator(household, mediator):
    tenant = household["tenant"]
    r = login(mediator).get("/registry/", {"q": tenant.id_number})
    results = element(r, "table", "results")
    assert reverse("registry_person", args=[tenant.pk]) in results
    assert "李*" in text(results) and "李强" not in results
    assert tenant.id_number not in results and masking.mask_id_number(tenant.id_number) in results
    r = login(mediator).get("/registry/", {"q": "王芳"})  # echoed in the search box only
    assert r.context["kind"] == "name"
    results = element(r, "table", "results")
    assert "王*" in text(results) and "王芳" not in results


def test_search_does_not_find_a_person_outside_the_scope(household, worker):
    other = stranger()
    client = login(worker)
    for q in (other.id_number, other.phone, other.name):
        r = client.get("/registry/", {"q": q})
        results = element(r, "table", "results")
        assert r.context["results"] == []
        assert zh("Nobody found in your area.") in results
        assert reverse("registry_person", args=[other.pk]) not in html(r)
    assert client.get(reverse("registry_person", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("role", [None, "department_staff", "volunteer", "auditor"])
def test_registry_is_404_without_a_registry_role(district, make_user, household, role):
    node = {None: None, "auditor": "370203"}.get(role, OWN_GRID)
    client = login(make_user(role, node))
    for url in (
        "/registry/",
        "/registry/?q=李强",
        "/registry/queue/",
        "/registry/overdue/",
        reverse("registry_person", args=[household["tenant"].pk]),
        reverse("registry_house", args=[household["house"].pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_registry_needs_a_login(household):
    r = Client().get("/registry/")
    assert r.status_code == 302 and "/login/" in r["Location"]


# --- Person page: masked, audited, unmasked with a reason ------------------------------------------


def test_opening_a_person_is_audited_and_masked(household, officer):
    tenant = household["tenant"]
    r = login(officer).get(reverse("registry_person", args=[tenant.pk]))
    assert r.status_code == 200
    assert text(element(r, "code", "id-number")) == masking.mask_id_number(tenant.id_number)
    assert text(element(r, "td", "phone")) == masking.mask_phone(tenant.phone)
    assert tenant.id_number not in html(r)
    assert 'id="unmask-form"' in html(r)
    event = AuditEvent.objects.filter(action="person.view").last()
    assert event.object_id == str(tenant.pk) and event.username == officer.username


def test_officer_unmasks_with_a_reason(household, officer):
    tenant = household["tenant"]
    url = reverse("registry_person", args=[tenant.pk])
    r = login(officer).post(url, {"reason": "上门核查身份"})
    assert r.status_code == 200
    assert text(element(r, "code", "id-number")) == tenant.id_number
    assert text(element(r, "td", "phone")) == tenant.phone
    assert 'id="unmask-form"' not in html(r)
    assert zh("Shown in full; this reading is in the audit log.") in html(r)
    event = AuditEvent.objects.get(action="person.unmask")
    assert (event.purpose, event.object_id, event.username) == ("上门核查身份", str(tenant.pk), officer.username)


@pytest.mark.parametrize("reason", ["", "   ", "查"])
def test_unmask_without_a_reason_is_422_and_stays_masked(household, officer, reason):
    tenant = household["tenant"]
    r = login(officer).post(reverse("registry_person", args=[tenant.pk]), {"reason": reason})
    assert r.status_code == 422
    assert text(element(r, "code", "id-number")) == masking.mask_id_number(tenant.id_number)
    assert text(element(r, "td", "phone")) == masking.mask_phone(tenant.phone)
    assert tenant.id_number not in html(r)
    assert 'class="errorlist' in element(r, "form", "unmask-form")
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


def test_a_mediator_has_no_unmask_form_and_may_not_unmask(household, mediator):
    tenant = household["tenant"]
    url = reverse("registry_person", args=[tenant.pk])
    client = login(mediator)
    r = client.get(url)
    assert r.status_code == 200
    assert 'id="unmask-form"' not in html(r) and 'id="change-form"' not in html(r)
    assert title(r).startswith("李*") and "李强" not in html(r)
    r = client.post(url, {"reason": "调解需要"})
    assert r.status_code == 403
    assert tenant.id_number not in html(r)
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


# --- Person page: change, verify, reject -----------------------------------------------------------


def change_data(person: Person, **changes) -> dict:
    """The change form as the page fills it in, with `changes` typed over."""
    data = {
        "name": person.name,
        "phone": person.phone,
        "kind": person.kind,
        "ethnicity": person.ethnicity,
        "hukou_place": person.hukou_place,
        "residence_permit": person.residence_permit,
        "note": "",
    }
    return {**data, **changes}


def test_a_workers_change_waits_and_the_officer_verifies_it_from_the_queue(household, worker, officer):
    owner = household["owner"]
    before = owner.hukou_place  # filled in from the ID number's region when collected
    url = reverse("registry_person", args=[owner.pk])
    worker_client = login(worker)
    r = worker_client.post(
        reverse("registry_person_change", args=[owner.pk]),
        change_data(owner, hukou_place="山东省青岛市", note="户籍本"),
        follow=True,
    )
    assert r.redirect_chain == [(url, 302)]
    assert zh("Change sent for verification.") in flashed(r)
    owner.refresh_from_db()
    assert owner.pending == {"hukou_place": "山东省青岛市"} and owner.hukou_place == before != "山东省青岛市"
    assert zh("change pending") in html(r)
    assert "山东省青岛市" in text(element(r, "ul", "pending"))
    # The officer's queue lists the person with the change and a verify button.
    officer_client = login(officer)
    r = officer_client.get("/registry/queue/")
    people = element(r, "div", "verify-person")
    assert owner.get_absolute_url() in people and "hukou_place" in people and "山东省青岛市" in people
    assert decide_url("person", owner, "verify") in people
    r = officer_client.post(decide_url("person", owner, "verify"), {"next": "/registry/queue/"}, follow=True)
    assert r.redirect_chain == [("/registry/queue/", 302)]
    assert zh("Verified.") in flashed(r)
    owner.refresh_from_db()
    assert owner.hukou_place == "山东省青岛市" and owner.pending == {} and owner.status == Status.VERIFIED
    assert decide_url("person", owner, "verify") not in html(r)
    r = worker_client.get(url)
    assert zh("change pending") not in html(r) and 'id="pending"' not in html(r)
    assert "山东省青岛市" in text(element(r, "table", "person"))


def test_a_change_by_the_officer_applies_at_once(household, officer):
    owner = household["owner"]
    r = login(officer).post(
        reverse("registry_person_change", args=[owner.pk]), change_data(owner, ethnicity="汉族"), follow=True
    )
    assert zh("Saved.") in flashed(r)
    owner.refresh_from_db()
    assert owner.ethnicity == "汉族" and owner.pending == {}


def test_a_bad_change_is_422_next_to_the_field(household, worker):
    owner = household["owner"]
    r = login(worker).post(reverse("registry_person_change", args=[owner.pk]), change_data(owner, phone="12345"))
    assert r.status_code == 422
    assert 'class="errorlist' in element(r, "form", "change-form")
    owner.refresh_from_db()
    assert owner.pending == {} and owner.phone == "13812345678"


def test_a_mediator_may_not_post_a_change(household, mediator):
    owner = household["owner"]
    r = login(mediator).post(reverse("registry_person_change", args=[owner.pk]), change_data(owner, ethnicity="回族"))
    assert r.status_code == 403
    owner.refresh_from_db()
    assert owner.pending == {} and owner.ethnicity == ""


def test_rejection_reaches_the_collector_inbox(household, worker, officer, django_capture_on_commit_callbacks):
    tenant = household["tenant"]
    officer_client = login(officer)
    # No reason: nothing happens, the officer is told.
    r = officer_client.post(decide_url("person", tenant, "reject"), {"reason": " "}, follow=True)
    assert any(zh("Say why the record is rejected, so the collector can put it right.") in m for m in flashed(r))
    assert Person.objects.get(pk=tenant.pk).status == Status.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        r = officer_client.post(
            decide_url("person", tenant, "reject"),
            {"reason": "身份证号与本人不符", "next": tenant.get_absolute_url()},
            follow=True,
        )
    assert r.redirect_chain == [(tenant.get_absolute_url(), 302)]
    assert zh("Returned to the collector.") in flashed(r)
    tenant.refresh_from_db()
    assert tenant.status == Status.REJECTED and tenant.reject_reason == "身份证号与本人不符"
    message = Notification.objects.get(user=worker)
    assert message.read_at is None and message.link == tenant.get_absolute_url()
    worker_client = login(worker)
    r = worker_client.get("/inbox/")
    inbox = element(r, "table", "inbox")
    assert "身份证号与本人不符" in inbox and 'class="unread"' in inbox
    assert f'name="open" value="{message.pk}"' in inbox
    r = worker_client.post("/inbox/", {"open": message.pk}, follow=True)
    assert r.redirect_chain == [(tenant.get_absolute_url(), 302)]
    assert "身份证号与本人不符" in html(r)  # the person page says why it was returned
    message.refresh_from_db()
    assert message.read_at is not None
    assert 'class="unread"' not in element(worker_client.get("/inbox/"), "table", "inbox")


# --- House page: check in, check out ---------------------------------------------------------------


def checkin_data(**fields) -> dict:
    data = {"id_number": "", "relation": "tenant", "start": (timezone.localdate() - timedelta(days=1)).isoformat()}
    return {**data, **fields}


def test_check_in_a_registered_person_by_id_number(household, worker):
    house = household["house"]
    g = grid()
    person = actions.collect_person(
        worker, {"name": "陈静", "id_number": id_number("19920202", "448")}, place=g.path, grid=g
    )
    url = reverse("registry_house", args=[house.pk])
    r = login(worker).post(
        reverse("registry_house_check_in", args=[house.pk]),
        checkin_data(id_number=person.id_number, relation="family"),
        follow=True,
    )
    assert r.redirect_chain == [(url, 302)]
    assert zh("%(name)s checked in.") % {"name": "陈静"} in flashed(r)
    residence = Residence.objects.get(person=person, house=house)
    assert residence.end is None and residence.relation == "family"
    assert f'id="residence-{residence.pk}"' in element(r, "table", "residents")
    assert "陈静" in text(element(r, "table", "residents"))


def test_check_in_by_an_unknown_id_number_is_422(household, worker):
    house = household["house"]
    number = id_number("19920202", "448")
    r = login(worker).post(reverse("registry_house_check_in", args=[house.pk]), checkin_data(id_number=number))
    assert r.status_code == 422
    assert zh("Nobody with this ID number is registered in your area.") in element(r, "form", "check-in-form")
    assert house.residences.count() == 2


def test_check_in_a_new_person_through_the_sub_form(household, worker):
    house = household["house"]
    number = id_number("19880808", "456", "320102")
    data = checkin_data(**{"p-name": "赵敏", "p-kind": "floating", "p-id_number": number, "p-phone": "13712345678"})
    r = login(worker).post(reverse("registry_house_check_in", args=[house.pk]), data, follow=True)
    assert r.redirect_chain == [(reverse("registry_house", args=[house.pk]), 302)]
    person = Person.objects.get(id_number=number)
    assert (person.name, person.kind, person.status, person.collected_by) == ("赵敏", "floating", "pending", worker)
    residence = Residence.objects.get(person=person, house=house)
    assert residence.relation == "tenant" and residence.grid.code == OWN_GRID
    assert residence.registration_due == residence.start + timedelta(days=3)
    assert "赵敏" in text(element(r, "table", "residents"))
    assert number not in html(r)


def test_a_bad_id_number_in_the_sub_form_shows_the_validator_message_and_writes_nothing(household, worker):
    house = household["house"]
    good = id_number("19880808", "456", "320102")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = (Person.objects.count(), Residence.objects.count(), AuditEvent.objects.count())
    data = checkin_data(**{"p-name": "赵敏", "p-kind": "floating", "p-id_number": bad})
    r = login(worker).post(reverse("registry_house_check_in", args=[house.pk]), data)
    assert r.status_code == 422
    form = element(r, "form", "check-in-form")
    assert validator_message(bad) in form
    assert "<details open>" in form  # the new-person part stays open to show its error
    assert (Person.objects.count(), Residence.objects.count()) == before[:2]
    assert not Person.objects.filter(name="赵敏").exists()


def test_a_new_person_whose_check_in_fails_is_not_left_behind(household, worker):
    house = household["house"]
    number = id_number("19880808", "456", "320102")
    future = (timezone.localdate() + timedelta(days=5)).isoformat()
    data = checkin_data(**{"p-name": "赵敏", "p-kind": "floating", "p-id_number": number, "start": future})
    client = login(worker)
    r = client.post(reverse("registry_house_check_in", args=[house.pk]), data)
    assert r.status_code == 422
    assert not Residence.objects.filter(house=house, person__id_number=number).exists()
    # Corrected and sent again, the same form checks the person in.
    data["start"] = timezone.localdate().isoformat()
    r = client.post(reverse("registry_house_check_in", args=[house.pk]), data)
    assert r.status_code == 302
    assert Residence.objects.filter(house=house, person__id_number=number).exists()


def test_check_out_before_moving_in_is_refused(household, worker):
    house, residence = household["house"], household["residence"]
    r = login(worker).post(
        reverse("registry_check_out", args=[residence.pk]), {"end": "2026-01-05", "reason": "x"}, follow=True
    )
    assert r.redirect_chain == [(reverse("registry_house", args=[house.pk]), 302)]
    assert flashed(r) == [zh("Moving out cannot come before moving in (%(day)s).") % {"day": residence.start}]
    residence.refresh_from_db()
    assert residence.end is None and residence.end_reason == ""
    assert f'id="residence-{residence.pk}"' in element(r, "table", "residents")


def test_check_out_retires_the_residence(household, worker):
    house, residence, tenant = household["house"], household["residence"], household["tenant"]
    r = login(worker).post(
        reverse("registry_check_out", args=[residence.pk]), {"end": "2026-11-01", "reason": "合同到期"}, follow=True
    )
    assert r.redirect_chain == [(reverse("registry_house", args=[house.pk]), 302)]
    assert zh("%(name)s checked out.") % {"name": "李强"} in flashed(r)
    residence.refresh_from_db()
    assert residence.end.isoformat() == "2026-11-01" and residence.end_reason == "合同到期"
    assert Residence.objects.filter(pk=residence.pk).exists()
    assert f'id="residence-{residence.pk}"' not in element(r, "table", "residents")
    moved_out = re.search(r"<details><summary>(.*?)</summary>(.*?)</details>", html(r), re.S)
    assert moved_out and zh("Moved out") in moved_out.group(1) and "(1)" in moved_out.group(1)
    assert day(residence.end) in moved_out.group(2) and "合同到期" in moved_out.group(2)
    # The person page lists the residence with its end; the tenant no longer lives there.
    page = login(worker).get(tenant.get_absolute_url())
    assert day(residence.end) in element(page, "table", "residences")
    assert not tenant.residences.filter(end=None).exists()


def test_a_mediator_may_not_check_in_or_out(household, mediator):
    house, residence = household["house"], household["residence"]
    client = login(mediator)
    r = client.get(reverse("registry_house", args=[house.pk]))
    assert 'id="check-in-form"' not in html(r) and reverse("registry_check_out", args=[residence.pk]) not in html(r)
    assert "李*" in text(element(r, "table", "residents")) and "李强" not in html(r)
    assert client.post(reverse("registry_check_out", args=[residence.pk]), {"end": "2026-11-01"}).status_code == 403
    residence.refresh_from_db()
    assert residence.end is None


# --- Queue ------------------------------------------------------------------------------------------


@pytest.fixture
def declared(household):
    """A tenant's QR self-declaration in the household's house (nobody collected it yet)."""
    g = grid()
    person = actions.collect_person(
        None,
        {"name": "孙丽", "id_number": id_number("19960303", "662")},
        place=g.path,
        grid=g,
        channel=Channel.SELF,
    )
    person.collected_by = None
    person.save(update_fields=["collected_by"])
    start = timezone.localdate() - timedelta(days=1)
    return actions.check_in(None, household["house"], person, start=start, relation="tenant", channel=Channel.SELF)


def test_worker_sees_declarations_only_when_there_are_some(household, worker):
    r = login(worker).get("/registry/queue/")
    assert r.status_code == 200
    assert 'id="declarations"' not in html(r)
    assert 'id="verify-' not in html(r)  # a grid worker verifies nothing
    assert zh("Nothing waits for you.") in html(r)


def test_worker_takes_up_a_declaration(declared, worker, officer):
    confirm = decide_url("residence", declared, "confirm")
    client = login(worker)
    r = client.get("/registry/queue/")
    box = element(r, "div", "declarations")
    assert "孙丽" in box and confirm in box
    # The officer does not see it among the records to verify before it is taken up.
    assert decide_url("residence", declared, "verify") not in html(login(officer).get("/registry/queue/"))
    r = client.post(confirm, follow=True)
    assert r.redirect_chain == [("/registry/queue/", 302)]
    assert zh("Declaration taken up; it now waits for the officer's verification.") in flashed(r)
    declared.refresh_from_db()
    assert declared.collected_by == worker and declared.status == Status.PENDING
    assert declared.person.collected_by == worker
    assert 'id="declarations"' not in html(r)
    # Taken up twice: a conflict, told as a message.
    r = client.post(confirm, follow=True)
    assert flashed(r) == [zh("This declaration has been taken up already.")]
    # Now the officer verifies it (and with it the person).
    r = login(officer).get("/registry/queue/")
    assert decide_url("residence", declared, "verify") in element(r, "div", "verify-residence")


def test_officer_sees_records_to_verify_and_verifies(household, officer):
    tenant, residence = household["tenant"], household["residence"]
    client = login(officer)
    r = client.get("/registry/queue/")
    assert decide_url("person", tenant, "verify") in element(r, "div", "verify-person")
    assert decide_url("residence", residence, "verify") in element(r, "div", "verify-residence")
    assert 'id="verify-house"' not in html(r)  # the officer's own house was verified when collected
    r = client.post(decide_url("residence", residence, "verify"), {"next": "/registry/queue/"}, follow=True)
    assert zh("Verified.") in flashed(r)
    residence.refresh_from_db()
    tenant.refresh_from_db()
    # Verifying the residence verifies its pending person too (one visit checks both).
    assert residence.status == Status.VERIFIED and tenant.status == Status.VERIFIED
    assert 'id="verify-person"' not in html(r) and 'id="verify-residence"' not in html(r)


def test_officer_with_nothing_waiting_is_told_so(household, officer):
    client = login(officer)
    client.post(decide_url("residence", household["residence"], "verify"))
    r = client.get("/registry/queue/")
    assert 'id="verify-' not in html(r)
    assert zh("Nothing waits for you.") in html(r)


def test_grid_worker_may_not_verify(household, worker):
    tenant = household["tenant"]
    r = login(worker).post(decide_url("person", tenant, "verify"), {"next": "/registry/queue/"})
    assert r.status_code == 403
    tenant.refresh_from_db()
    assert tenant.status == Status.PENDING and tenant.verified_by is None


def test_decide_unknown_kind_or_decision_is_404(household, officer):
    client = login(officer)
    tenant = household["tenant"]
    assert client.post(f"/registry/decide/martian/{tenant.pk}/verify/").status_code == 404
    assert client.post(decide_url("person", tenant, "confirm")).status_code == 404
    assert client.get(decide_url("person", tenant, "verify")).status_code == 405
    assert Person.objects.get(pk=tenant.pk).status == Status.PENDING


def test_decide_does_not_redirect_off_the_site(household, officer):
    r = login(officer).post(decide_url("person", household["tenant"], "verify"), {"next": "https://evil.example/phish"})
    assert r.status_code == 302
    assert not r["Location"].startswith(("http://", "https://", "//")), r["Location"]


# --- Overdue ----------------------------------------------------------------------------------------


def test_overdue_lists_the_tenant_by_grid_until_verified(household, officer, worker):
    residence = household["residence"]
    r = login(worker).get("/registry/overdue/")
    assert r.status_code == 200
    headings = [text(h) for h in re.findall(r"<h2>(.*?)</h2>", html(r), re.S)]
    assert headings == [f"{grid().name} (1)"]
    assert reverse("registry_person", args=[household["tenant"].pk]) in html(r)
    assert "李强" in html(r) and day(residence.registration_due) in html(r)
    login(officer).post(decide_url("residence", residence, "verify"))
    r = login(worker).get("/registry/overdue/")
    assert zh("No overdue registrations in your area.") in html(r)
    assert "李强" not in html(r)


def test_overdue_masks_names_for_a_mediator(household, mediator):
    r = login(mediator).get("/registry/overdue/")
    assert "李*" in html(r) and "李强" not in html(r)


def test_overdue_groups_each_grid_once(household, officer):
    """Tenants of two grids, interleaved by due date: each grid is one heading with all its tenants."""
    neighbour = grid(NEIGHBOUR_GRID)
    other_house = actions.collect_house(officer, house_data(room="101", building="9", lng=120.315, lat=36.055))
    assert other_house.grid == neighbour
    for n, (house, start) in enumerate([(other_house, "2026-01-11"), (household["house"], "2026-01-12")]):
        p = actions.collect_person(
            None, {"name": f"租客{'一二'[n]}", "id_number": id_number("19900101", f"{70 + n}1")}, place=house.path
        )
        r = actions.check_in(None, house, p, start=start, relation="tenant")
        Residence.objects.filter(pk=r.pk).update(status=Status.PENDING)
    r = login(officer).get("/registry/overdue/")
    headings = [text(h) for h in re.findall(r"<h2>(.*?)</h2>", html(r), re.S)]
    assert sorted(headings) == sorted([f"{grid().name} (2)", f"{neighbour.name} (1)"]), headings


# --- Building: the responsible worker ---------------------------------------------------------------


def test_officer_sets_the_responsible_worker(household, officer, worker, make_user, django_capture_on_commit_callbacks):
    building = household["house"].building
    url = reverse("registry_building", args=[building.pk])
    other_grid_worker = make_user("grid_worker", NEIGHBOUR_GRID)
    auxiliary = make_user("auxiliary", OWN_COMMUNITY)
    client = login(officer)
    r = client.get(url)
    select = element(r, "select", "id_worker")
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select))
    assert set(options) == {"", str(worker.pk), str(auxiliary.pk)}
    assert str(other_grid_worker.pk) not in options and str(officer.pk) not in options
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"worker": worker.pk}, follow=True)
    assert r.redirect_chain == [(url, 302)]
    assert zh("Responsible worker saved.") in flashed(r)
    building.refresh_from_db()
    assert building.responsible == worker
    assert text(element(r, "td", "responsible")) == str(worker)
    assert re.search(rf'<option value="{worker.pk}" selected>', html(r))
    assert worker.notifications.filter(link=building.get_absolute_url()).exists()
    assert AuditEvent.objects.filter(action="building.set_responsible", object_id=str(building.pk)).exists()


def test_a_worker_of_another_grid_cannot_be_chosen(household, officer, make_user):
    building = household["house"].building
    other_grid_worker = make_user("grid_worker", NEIGHBOUR_GRID)
    r = login(officer).post(reverse("registry_building", args=[building.pk]), {"worker": other_grid_worker.pk})
    assert r.status_code == 422
    assert 'class="errorlist' in html(r)
    building.refresh_from_db()
    assert building.responsible is None


def test_the_grid_worker_sees_no_form_and_may_not_post(household, worker):
    building = household["house"].building
    url = reverse("registry_building", args=[building.pk])
    client = login(worker)
    r = client.get(url)
    assert r.status_code == 200 and "<select" not in html(r) and 'name="worker"' not in html(r)
    assert household["house"].address.label in element(r, "table", "houses")
    assert client.post(url, {"worker": worker.pk}).status_code == 403
    building.refresh_from_db()
    assert building.responsible is None


# --- Collecting houses and people -------------------------------------------------------------------


def house_form(**fields) -> dict:
    """The page's form: a grid picked from the list, no point, no community code."""
    data = {k: v for k, v in house_data(**fields).items() if k not in ("lng", "lat", "community")}
    return {"grid": OWN_GRID, "use": "unknown", "area_m2": "", "hazards": "", **data}


def test_officer_collects_a_house_and_a_duplicate_is_refused(household, officer):
    client = login(officer)
    assert client.get("/registry/houses/new/").status_code == 200
    r = client.post("/registry/houses/new/", house_form(room="601", use="rented", area_m2="88.5"), follow=True)
    house = House.objects.get(address__room="601")
    assert r.redirect_chain == [(reverse("registry_house", args=[house.pk]), 302)]
    assert zh("House collected.") in flashed(r)
    assert (house.use, str(house.area_m2), house.status) == ("rented", "88.50", Status.VERIFIED)
    assert house.building == household["house"].building
    r = client.post("/registry/houses/new/", house_form(room="502"))
    assert r.status_code == 200
    assert zh("This house is registered already.") in html(r)
    assert House.objects.filter(address__room="502").count() == 1


def test_a_grid_worker_collects_a_house_from_the_page(household, worker):
    """The index offers grid workers "Collect a house"; the page must let them do it in their grid."""
    client = login(worker)
    assert reverse("registry_house_new") in html(client.get("/registry/"))
    r = client.post("/registry/houses/new/", house_form(room="602"))
    assert r.status_code == 302, r.status_code
    assert House.objects.filter(address__room="602").exists()


def test_a_house_collected_on_the_page_lies_in_its_buildings_grid(household, officer, worker):
    login(officer).post("/registry/houses/new/", house_form(room="601"))
    house = House.objects.get(address__room="601")
    assert house.building == household["house"].building and house.building.grid == grid()
    assert house.grid == grid()
    assert login(worker).get(reverse("registry_house", args=[house.pk])).status_code == 200


def test_house_new_is_refused_to_a_mediator(household, mediator):
    client = login(mediator)
    assert reverse("registry_house_new") not in html(client.get("/registry/"))
    assert client.get("/registry/houses/new/").status_code == 403


def test_person_new_in_the_own_grid(household, worker):
    client = login(worker)
    url = f"/registry/people/new/?grid={OWN_GRID}"
    r = client.get(url)
    assert r.status_code == 200 and grid().name in html(r)
    number = id_number("19930909", "771")
    r = client.post(url, {"name": "周杰", "kind": "registered", "id_number": number}, follow=True)
    person = Person.objects.get(id_number=number)
    assert r.redirect_chain == [(reverse("registry_person", args=[person.pk]), 302)]
    assert zh("Collected: %(name)s.") % {"name": "周杰"} in flashed(r)
    assert (person.grid.code, person.status, person.collected_by) == (OWN_GRID, Status.PENDING, worker)
    assert text(element(r, "code", "id-number")) == masking.mask_id_number(number)
    # The same ID number again is a conflict, shown on the form.
    r = client.post(url, {"name": "周杰", "kind": "registered", "id_number": number})
    assert r.status_code == 200
    assert zh("This person is registered already; record a move instead of a new person.") in html(r)
    assert Person.objects.filter(id_number=number).count() == 1


def test_person_new_outside_the_scope_or_without_a_place(household, worker, mediator):
    client = login(worker)
    assert client.get(f"/registry/people/new/?grid={OTHER_GRID}").status_code == 404
    number = id_number("19930909", "771")
    data = {"name": "周杰", "kind": "registered", "id_number": number}
    assert client.post(f"/registry/people/new/?grid={OTHER_GRID}", data).status_code == 404
    assert client.get("/registry/people/new/").status_code == 404
    assert client.get(f"/registry/people/new/?grid={NEIGHBOUR_GRID}").status_code == 404
    assert login(mediator).get(f"/registry/people/new/?grid={OWN_GRID}").status_code == 403
    assert not Person.objects.filter(id_number=number).exists()


def test_person_new_in_a_house(household, worker):
    house = household["house"]
    url = f"/registry/people/new/?house={house.pk}"
    client = login(worker)
    r = client.get(url)
    assert r.status_code == 200 and house.address.label in html(r)
    number = id_number("19930909", "771")
    client.post(url, {"name": "周杰", "kind": "registered", "id_number": number})
    person = Person.objects.get(id_number=number)
    assert person.path == house.path and person.grid == house.grid


# --- Masking on the person page ---------------------------------------------------------------------


def test_person_page_never_shows_the_full_phone(household, worker, mediator):
    """Phones are masked unless unmasked with a reason: not in the change form, not in pending changes or history."""
    owner = household["owner"]
    login(worker).post(reverse("registry_person_change", args=[owner.pk]), change_data(owner, phone="13612345678"))
    owner.refresh_from_db()
    assert owner.pending == {"phone": "13612345678"}
    # A mediator may never unmask: the pending change and the history show the numbers all the same.
    page = html(login(mediator).get(owner.get_absolute_url()))
    assert "13812345678" not in page and "13612345678" not in page, "full phone shown to a mediator"
    # The grid worker has not unmasked either: the change form is filled in with the full phone.
    page = html(login(worker).get(owner.get_absolute_url()))
    assert "13812345678" not in page and "13612345678" not in page, "full phone shown to a grid worker"


def test_worker_collects_an_organization_and_it_is_listed(household, worker, mediator):
    from anju.registry.models import Organization
    from tests.registry.conftest import uscc

    client = login(worker)
    form = {
        "grid": OWN_GRID,
        "road": "延安三路",
        "door_number": "125",
        "name": "鲁邦便利店",
        "uscc": uscc(),
        "kind": "shop",
        "legal_representative": "孙丽",
        "phone": "053285551234",
        "key_unit": "on",
    }
    r = client.post(
        reverse("registry_organization_new"),
        {**form, "uscc": uscc()[:17] + "0" if uscc()[-1] != "0" else uscc()[:17] + "1"},
    )
    assert r.status_code == 422 and not Organization.objects.exists()
    r = client.post(reverse("registry_organization_new"), form, follow=True)
    org = Organization.objects.get()
    assert r.redirect_chain == [(reverse("registry_organization", args=[org.pk]), 302)]
    assert (org.key_unit, org.status, org.grid.code, org.address.door_number) == (True, Status.PENDING, OWN_GRID, "125")
    listed = html(login(mediator).get(reverse("registry_organizations")))
    assert "鲁邦便利店" in listed and "孙丽" not in listed
    assert login(mediator).get(reverse("registry_organization_new")).status_code == 403


def test_vehicle_added_from_the_person_page(household, worker):
    owner = household["owner"]
    client = login(worker)
    url = reverse("registry_person_vehicle", args=[owner.pk])
    r = client.post(url, {"vehicle-plate": "鲁BI2345"}, follow=True)
    assert not owner.vehicles.exists() and flashed(r)
    form = {"vehicle-plate": "鲁B 12345", "vehicle-kind": "", "vehicle-brand": "大众", "vehicle-color": "白"}
    r = client.post(url, form, follow=True)
    vehicle = owner.vehicles.get()
    assert (vehicle.plate, vehicle.kind, vehicle.status) == ("鲁B12345", "car", Status.PENDING)
    assert "鲁B12345" in html(r)


def test_buildings_list_in_scope(household, other_house, worker, make_user):
    client = login(worker)
    r = client.get(reverse("registry_buildings"))
    page = html(r)
    assert household["house"].building.address.label in page
    assert other_house.building.address.label not in page
    r = client.get(reverse("registry_buildings"), {"grid": OWN_GRID})
    assert household["house"].building.address.label in html(r)
    assert client.get(reverse("registry_buildings"), {"grid": OTHER_GRID}).status_code == 404
    assert login(make_user("volunteer", OWN_GRID)).get(reverse("registry_buildings")).status_code == 404
