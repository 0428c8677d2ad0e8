"""QR self-declaration: the action, the public pages through the HTTP stack, and the staff's QR codes."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape

from anju.core.errors import InvalidField
from anju.core.models import AuditEvent, Notification, RateLimit
from anju.core.validators import id_number_check_char, parse_id_number
from anju.geo.models import Grid
from anju.registry import qr
from anju.registry.actions import declarations, records
from anju.registry.models import Channel, House, Person, Relation, Residence, Revision, Status
from anju.registry.views_public import IP_LIMIT
from tests.conftest import OTHER_GRID, OWN_GRID, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def valid_id(first17: str = "37020319900101123") -> str:
    """A citizen ID number that passes the validator: a real region code and the computed check character."""
    return first17 + id_number_check_char(first17)


def make_house(room: str = "502", unit: str = "2") -> House:
    """A house in 3号楼 of 鲁邦国际, inside OWN_GRID, collected from the command line."""
    return records.collect_house(
        None,
        {
            "community": OWN_GRID[:12],
            "road": "延安三路",
            "door_number": "123",
            "estate": "鲁邦国际",
            "building": "3",
            "unit": unit,
            "room": room,
            "lng": 120.305,
            "lat": 36.055,
        },
    )


def form_data(**changes) -> dict:
    data = {
        "name": "张三",
        "id_number": valid_id(),
        "phone": "13812345678",
        "start": (timezone.localdate() - timedelta(days=1)).isoformat(),
    }
    return {**data, **changes}


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def validator_message(value: str) -> str:
    """What the ID-number validator says about `value`, as the Chinese page shows it."""
    with translation.override("zh-hans"):
        try:
            parse_id_number(value)
        except ValidationError as exc:
            return " ".join(exc.messages)
    raise AssertionError(f"{value} is valid")


@pytest.fixture
def worker(district, make_user):
    return make_user("grid_worker", OWN_GRID)


@pytest.fixture
def house(district, worker):
    house = make_house()
    records.set_responsible(None, house.building, worker)
    house.refresh_from_db()
    return house


def post(client: Client, token: str, data: dict, ip: str = "10.0.0.1", **files):
    return client.post(f"/d/{token}/", {**data, **files}, REMOTE_ADDR=ip)


# --- The action --------------------------------------------------------------------------------------


def test_declare_makes_a_pending_person_and_a_pending_tenancy_due_in_three_days(
    house, django_capture_on_commit_callbacks
):
    start = timezone.localdate() - timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        residence = declarations.declare(house.qr_token, form_data(start=start.isoformat()))
    person = residence.person
    assert (person.status, person.channel, person.collected_by) == (Status.PENDING, Channel.SELF, None)
    assert person.path == house.path and person.sex == "male"
    assert residence.house == house and residence.relation == Relation.TENANT
    assert (residence.status, residence.channel, residence.collected_by) == (Status.PENDING, Channel.SELF, None)
    assert residence.registration_due == start + timedelta(days=3)
    assert Notification.objects.filter(user=house.building.responsible, link="/registry/queue/").count() == 1


def test_the_declaration_is_audited_without_the_id_number(house):
    residence = declarations.declare(house.qr_token, form_data())
    event = AuditEvent.objects.get(action="residence.declare")
    assert event.object_id == str(residence.pk) and event.username == "public"
    assert json.loads(event.detail)["person"] == "new"
    assert not AuditEvent.objects.filter(detail__contains=valid_id()[6:14]).exists()
    assert Revision.objects.filter(record_type="residence", record_id=residence.pk, action="declare").exists()


def test_a_registered_person_is_not_changed_by_a_declaration(house, worker):
    grid = Grid.objects.get(code=OWN_GRID)
    person = records.collect_person(
        worker, {"name": "张三", "id_number": valid_id(), "phone": "13812345678"}, place=grid.path, grid=grid
    )
    before = {f: getattr(person, f) for f in ("name", "phone", "status", "channel", "kind", "collected_by_id")}

    residence = declarations.declare(house.qr_token, form_data(name="张四", phone="13998765432"))

    person.refresh_from_db()
    assert residence.person == person
    assert {f: getattr(person, f) for f in before} == before and person.pending == {}
    note = Revision.objects.get(record_type="residence", record_id=residence.pk, action="declare").note
    assert "139****5432" in note and "13998765432" not in note and "张四" not in note
    assert json.loads(AuditEvent.objects.get(action="residence.declare").detail)["person"] == "registered"


def test_a_second_declaration_is_already_received(house):
    first = declarations.declare(house.qr_token, form_data())
    with pytest.raises(declarations.AlreadyDeclared) as caught:
        declarations.declare(house.qr_token, form_data())
    assert caught.value.residence == first
    assert Residence.objects.count() == 1 and Person.objects.count() == 1


def test_a_building_code_finds_the_room(house):
    other = make_house(room="502", unit="1")
    make_house(room="601", unit="2")
    token = house.building.qr_token
    assert declarations.find_room(house.building, "2-502") == house
    assert declarations.find_room(house.building, "1单元502室") == other
    assert declarations.find_room(house.building, "２单元 601").address.room == "601"
    for typed, message in (("502", "Several units"), ("999", "not on record"), ("", "room number")):
        with translation.override("en"), pytest.raises(InvalidField) as caught:
            declarations.declare(token, form_data(room=typed))
        assert caught.value.field == "room" and message in str(caught.value)
    residence = declarations.declare(token, form_data(room="1-502"))
    assert residence.house == other


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (timedelta(days=-1), "The date may not lie in the future."),
        (timedelta(days=400), "more than a year back"),
    ],
)
def test_move_in_dates_outside_the_last_year_are_refused(house, start, message):
    with translation.override("en"), pytest.raises(InvalidField) as caught:
        declarations.declare(house.qr_token, form_data(start=(timezone.localdate() - start).isoformat()))
    assert caught.value.field == "start" and message in str(caught.value)
    assert not Residence.objects.exists()


def test_without_a_responsible_worker_the_grid_workers_hear_of_it(
    district, worker, make_user, django_capture_on_commit_callbacks
):
    other = make_user("grid_worker", OTHER_GRID)
    house = make_house()
    with django_capture_on_commit_callbacks(execute=True):
        declarations.declare(house.qr_token, form_data())
    assert Notification.objects.filter(user=worker, link="/registry/queue/").count() == 1
    assert not Notification.objects.filter(user=other).exists()


# --- The public pages ----------------------------------------------------------------------------------


def test_a_good_declaration_through_the_page(house, worker, django_capture_on_commit_callbacks):
    client = Client()
    page = client.get(f"/d/{house.qr_token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert house.address.label in body and 'name="csrfmiddlewaretoken"' in body
    assert f'value="{timezone.localdate().isoformat()}"' in body  # moved in today, unless changed
    assert '<html lang="zh-hans">' in body and "<nav" not in body

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, house.qr_token, form_data())
    assert response.status_code == 302
    residence = Residence.objects.get()
    assert residence.channel == Channel.SELF and residence.person.status == Status.PENDING
    assert Notification.objects.filter(user=worker, link="/registry/queue/").exists()

    done = client.get(response["Location"])
    assert done.status_code == 200
    text = done.content.decode()
    assert declarations.reference(residence) in text
    assert "张*" in text and "张三" not in text
    assert house.address.label in text
    assert residence.registration_due.isoformat() in text
    assert valid_id() not in text and valid_id()[6:14] not in text


def test_a_bad_id_number_gets_the_validators_message_and_nothing_is_written(house):
    bad = valid_id()[:17] + ("0" if valid_id()[17] != "0" else "1")
    response = post(Client(), house.qr_token, form_data(id_number=bad))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="error_id_number"' in body
    assert escape(validator_message(bad)) in body
    assert not Person.objects.exists() and not Residence.objects.exists()
    assert not AuditEvent.objects.filter(action="residence.declare").exists()


def test_every_wrong_field_gets_its_own_message(house):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = post(Client(), house.qr_token, form_data(name="", phone="123", start=tomorrow))
    body = response.content.decode()
    assert response.status_code == 200
    for field in ("name", "phone", "start"):
        assert f'id="error_{field}"' in body
    assert escape(zh("The date may not lie in the future.")) in body
    assert not Residence.objects.exists()


def test_a_second_declaration_through_the_page_is_friendly(house):
    client = Client()
    post(client, house.qr_token, form_data())
    response = post(client, house.qr_token, form_data())
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert done.status_code == 200 and zh("Already received") in done.content.decode()
    assert Residence.objects.count() == 1


def test_a_building_code_asks_for_the_room(house):
    client = Client()
    page = client.get(f"/d/{house.building.qr_token}/")
    body = page.content.decode()
    assert page.status_code == 200 and house.building.address.label in body
    assert 'name="room"' in body and '<option value="2单元502室">' in body
    missing = post(client, house.building.qr_token, form_data(room="999"))
    assert missing.status_code == 200 and 'id="error_room"' in missing.content.decode()
    assert post(client, house.building.qr_token, form_data(room="2单元502室")).status_code == 302
    assert Residence.objects.get().house == house


def test_the_rate_limit_answers_429(house, monkeypatch):
    client = Client()
    # Wrong submissions count too, so the form cannot be used to try ID numbers.
    for _ in range(IP_LIMIT):
        assert post(client, house.qr_token, form_data(name=""), ip="10.9.9.9").status_code == 200
    limited = post(client, house.qr_token, form_data(), ip="10.9.9.9")
    assert limited.status_code == 429 and limited["Retry-After"]
    assert zh("Too many attempts") in limited.content.decode()
    assert not Residence.objects.exists()
    # Another sender is not held up by this one.
    assert post(client, house.qr_token, form_data(), ip="10.9.9.10").status_code == 302

    monkeypatch.setattr(
        "anju.registry.views_public.TOKEN_LIMIT", RateLimit.objects.get(key__startswith="declare:token").hits
    )
    assert post(client, house.qr_token, form_data(), ip="10.9.9.11").status_code == 429


def test_a_photo_that_is_not_an_image_is_refused(house, media):
    client = Client()
    fake = SimpleUploadedFile("contract.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = post(client, house.qr_token, form_data(), contract_photo=fake)
    assert response.status_code == 200 and 'id="error_contract_photo"' in response.content.decode()
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (5 * 1024 * 1024), content_type="image/png")
    response = post(client, house.qr_token, form_data(), contract_photo=big)
    assert response.status_code == 200 and 'id="error_contract_photo"' in response.content.decode()
    assert not Residence.objects.exists() and not any(media.rglob("*.*"))


def test_a_png_or_jpeg_contract_photo_is_kept_under_a_new_name(house, media):
    photo = SimpleUploadedFile("../../我的合同.png", PNG, content_type="application/octet-stream")
    assert post(Client(), house.qr_token, form_data(), contract_photo=photo).status_code == 302
    stored = Residence.objects.get().contract_photo
    assert stored.name.startswith("contracts/") and stored.name.endswith(".png") and "合同" not in stored.name
    assert (media / stored.name).read_bytes() == PNG
    residence = declarations.declare(
        house.qr_token, form_data(id_number=valid_id("37020319851203456")), SimpleUploadedFile("c.jpg", JPEG)
    )
    assert residence.contract_photo.name.endswith(".jpg")


def test_an_unknown_code_is_404(district):
    client = Client()
    for response in (client.get("/d/no-such-token/"), client.post("/d/no-such-token/", form_data())):
        assert response.status_code == 404
        assert zh("Unknown QR code") in response.content.decode()


def test_the_confirmation_link_cannot_be_forged(house):
    client = Client()
    location = post(client, house.qr_token, form_data())["Location"]
    assert client.get(location).status_code == 200
    assert client.get(location.replace("/done/", "/done/x")).status_code == 404
    other = make_house(room="601")
    assert client.get(location.replace(house.qr_token, other.qr_token)).status_code == 404


# --- The staff's QR codes ----------------------------------------------------------------------------------


def test_qr_codes_are_svg_and_png_for_staff_in_scope(house, worker, make_user):
    client = login(worker)
    for kind, pk in (("houses", house.pk), ("buildings", house.building.pk)):
        svg = client.get(f"/registry/{kind}/{pk}/qr.svg")
        assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
        assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
        png = client.get(f"/registry/{kind}/{pk}/qr.png")
        assert png.status_code == 200 and png["Content-Type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
    outsider = login(make_user("grid_worker", OTHER_GRID))
    for url in (
        f"/registry/houses/{house.pk}/qr.svg",
        f"/registry/buildings/{house.building.pk}/qr.png",
        f"/registry/buildings/{house.building.pk}/qr-sheet/",
    ):
        assert outsider.get(url).status_code == 404
        assert Client().get(url).status_code == 302  # to the sign-in page


def test_the_code_carries_the_public_address(house, settings, rf):
    request = rf.get("/")
    assert qr.declaration_url(house, request) == f"http://testserver/d/{house.qr_token}/"
    settings.ANJU_PUBLIC_URL = "https://anju.example.gov.cn"
    url = qr.declaration_url(house.building, request)
    assert url == f"https://anju.example.gov.cn/d/{house.building.qr_token}/"
    code = qr.make(url)
    assert code.error == "Q" and code.designator.endswith("Q")


def test_the_sheet_lists_every_house_of_the_building(house, worker):
    others = [make_house(room="601"), make_house(room="101", unit="1")]
    response = login(worker).get(f"/registry/buildings/{house.building.pk}/qr-sheet/")
    assert response.status_code == 200
    body = response.content.decode()
    for h in [house, *others]:
        assert declarations.room_label(h) in body and h.address.label in body
    assert body.count('class="qr-card qr-house"') == 3
    assert body.count("<svg") == 4  # three houses and the building
    assert "@page" in body and "size: A4" in body


def test_a_foreign_tenant_declares_with_a_passport_and_is_due_next_day(house):
    client = Client()
    start = timezone.localdate() - timedelta(days=1)
    passport = {"name": "Kim Minsu", "id_number": "", "passport_number": "M1234 5678", "nationality": "kor"}
    r = post(client, house.qr_token, form_data(**passport, start=start.isoformat()))
    assert r.status_code == 200 and not Residence.objects.exists()  # sex and birth date are missing
    assert "sex" in r.context["form"].errors or "birth_date" in r.context["form"].errors
    full = {**passport, "sex": "male", "birth_date": "1990-05-06", "start": start.isoformat()}
    r = post(client, house.qr_token, form_data(**full))
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    person = Person.objects.get()
    assert (person.kind, person.passport_number, person.nationality, person.id_number) == (
        "foreign",
        "M12345678",
        "KOR",
        None,
    )
    residence = Residence.objects.get()
    assert residence.registration_due == start + timedelta(days=1)
    # Neither an ID number nor a passport: the ID field says what is missing.
    r = post(client, house.qr_token, form_data(id_number="", start=start.isoformat()), ip="10.0.0.2")
    assert r.status_code == 200 and "id_number" in r.context["form"].errors
