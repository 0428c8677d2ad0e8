"""The residents' pages through the HTTP stack: reporting a problem, following it, confirming, rating."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape

from anju.cases import actions, routing
from anju.cases.models import Case, CasePhoto, Channel, Rating, State
from anju.cases.views_public import IP_LIMIT, TOKEN_LIMIT
from anju.core.models import AuditEvent
from anju.geo.models import Division
from tests.cases.conftest import DISTRICT, JPEG, OWN_COMMUNITY, OWN_POINT, advance, report
from tests.conftest import OWN_GRID

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def zh(text: str) -> str:
    """A message as the (default, Chinese) page shows it."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def form(**changes) -> dict:
    data = {
        "category": "0601",
        "description": "小区门口垃圾堆放三天无人清运",
        "lng": str(OWN_POINT["lng"]),
        "lat": str(OWN_POINT["lat"]),
        "address": "",
        "reporter_name": "赵敏",
        "reporter_phone": "13812345678",
    }
    return {**data, **changes}


def photo(content: bytes = JPEG, name: str = "scene.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def post_report(client: Client, data: dict, ip: str = "10.0.0.1", photos=()):
    return client.post("/report/", {**data, "photos": list(photos)}, REMOTE_ADDR=ip)


def page(case: Case) -> str:
    return Client().get(f"/c/{case.public_token}/").content.decode()


def answer(case: Case, **data):
    return Client().post(f"/c/{case.public_token}/", data)


# --- Reporting -------------------------------------------------------------------------------------


def test_the_form_offers_leaf_categories_grouped_under_their_parent(district):
    response = Client().get("/report/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<optgroup label="环境卫生">' in body and '<option value="0601">垃圾堆放或清运不及时</option>' in body
    assert 'value="06"' not in body
    assert 'name="csrfmiddlewaretoken"' in body
    # The district's outline is there for the point picker.
    assert 'id="district-outline"' in body and 'id="pick-map"' in body


def test_a_report_with_a_photo_files_a_case_routed_to_its_grid_and_community(district, desks, media):
    client = Client()
    response = post_report(client, form(), photos=[photo()])
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/report/done/{case.public_token}/"
    assert (case.channel, case.state, case.reporter_id) == (Channel.RESIDENT, State.REPORTED, None)
    assert (case.reporter_name, case.reporter_phone) == ("赵敏", "13812345678")
    assert case.grid.code == OWN_GRID and case.path == case.grid.path
    assert case.level == "community"
    assert case.unit == routing.centre(Division.objects.get(code=OWN_COMMUNITY))
    stored = CasePhoto.objects.get(case=case)
    assert (media / stored.file.name).read_bytes() == JPEG
    assert stored.file.name.endswith(".jpg") and "scene" not in stored.file.name
    event = AuditEvent.objects.get(action="case.report", object_id=case.number)
    assert (event.username, event.ip) == ("public", "10.0.0.1")

    done = client.get(response["Location"]).content.decode()
    assert case.number in done
    assert f"http://testserver/c/{case.public_token}/" in done
    assert zh("Your private link to this case:") in done

    followed = client.get(f"/c/{case.public_token}/")
    assert followed.status_code == 200
    body = followed.content.decode()
    assert case.number in body and "垃圾堆放或清运不及时" in body
    assert zh("Received; waiting to be accepted.") in body


def test_the_follow_link_uses_the_public_address_when_set(district, settings):
    settings.ANJU_PUBLIC_URL = "https://anju.example.gov.cn"
    case, _ = report(None)
    body = Client().get(f"/report/done/{case.public_token}/").content.decode()
    assert f"https://anju.example.gov.cn/c/{case.public_token}/" in body


def test_a_wrong_token_is_not_found(district):
    case, _ = report(None)
    for url in (f"/c/{case.public_token}x/", "/c/nothing/", f"/report/done/{case.public_token[:-1]}/"):
        response = Client().get(url)
        assert response.status_code == 404
        assert zh("Unknown link") in response.content.decode()
    assert Client().get(f"/c/{case.public_token}/").status_code == 200


def test_an_address_alone_places_the_case_at_district_level(district, desks):
    response = post_report(Client(), form(lng="", lat="", address="某某路不存在的地方"))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.grid is None and case.district_id == DISTRICT and case.address == "某某路不存在的地方"
    assert case.level == "district" and case.unit.department == "urban_management"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reporter_phone": "12345"}, "reporter_phone", None),
        ({"category": "9999"}, "category", "No such category."),
        ({"category": "06"}, "category", "Choose one of the category's sub-categories."),
        ({"description": "  "}, "description", None),
        ({"lng": "", "lat": ""}, "place", "Give the place: a point on the map or an address."),
        ({"lng": "200"}, "place", "Longitude must lie between -180 and 180."),
        ({"reporter_name": ""}, "reporter_name", None),
    ],
)
def test_a_wrong_field_is_named_and_nothing_is_filed(district, media, changes, field, message):
    response = post_report(Client(), form(**changes))
    assert response.status_code == 422
    body = response.content.decode()
    assert f'id="error_{field}"' in body
    if message:
        assert escape(zh(message)) in body
    assert Case.objects.count() == 0 and CasePhoto.objects.count() == 0


def test_every_wrong_field_is_named_at_once(district, media):
    response = post_report(Client(), form(reporter_phone="12345", category="9999"), photos=[photo(b"GIF89a...")])
    assert response.status_code == 422
    body = response.content.decode()
    for field in ("reporter_phone", "category", "photos"):
        assert f'id="error_{field}"' in body
    assert zh("The photo must be a JPEG or PNG image.") in body
    assert not Case.objects.exists() and not any(media.iterdir())


def test_photos_are_checked(district, media, settings):
    too_many = [photo(PNG, f"p{i}.png") for i in range(7)]
    body = post_report(Client(), form(), photos=too_many).content.decode()
    assert zh("At most 6 photos.") in body
    big = photo(JPEG + b"\0" * (5 * 1024 * 1024))
    body = post_report(Client(), form(), photos=[big]).content.decode()
    assert zh("The photo is larger than 5 MB; take a smaller one.") in body
    assert not Case.objects.exists()
    assert post_report(Client(), form(), photos=[photo(PNG, f"p{i}.png") for i in range(6)]).status_code == 302
    assert CasePhoto.objects.count() == 6


def test_reports_are_limited_per_address(district):
    for _ in range(IP_LIMIT):
        assert post_report(Client(), form(category="9999"), ip="10.0.0.7").status_code == 422
    response = post_report(Client(), form(), ip="10.0.0.7")
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    assert zh("Too many attempts") in response.content.decode()
    assert not Case.objects.exists()
    assert post_report(Client(), form(), ip="10.0.0.8").status_code == 302


def test_the_form_needs_its_csrf_token(district):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/report/", form(), REMOTE_ADDR="10.0.0.1").status_code == 403
    token = client.get("/report/").cookies["csrftoken"].value
    response = client.post("/report/", {**form(), "csrfmiddlewaretoken": token}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302 and Case.objects.count() == 1


# --- Following, confirming, rating -------------------------------------------------------------------


def test_the_reporter_confirms_the_result_or_sends_it_back(desks, worker, django_capture_on_commit_callbacks):
    case, _ = report(None)
    advance(case, State.REPORTED_BACK, timezone.now())
    body = page(case)
    assert zh("Handled. Please tell us whether the problem is solved.") in body
    assert 'id="confirm-form"' in body and "已清运" in body  # the result note

    response = answer(case, step="confirm", solved="no", note="")
    assert response.status_code == 422 and zh("Say what is still wrong.") in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.REPORTED_BACK

    with django_capture_on_commit_callbacks(execute=True):
        response = answer(case, step="confirm", solved="no", note="门口还有两袋没清走")
    assert response.status_code == 302 and response["Location"] == f"/c/{case.public_token}/"
    case.refresh_from_db()
    assert (case.state, case.rework_count, case.flagged) == (State.HANDLING, 1, True)
    assert case.events.filter(action="rework", username="public").exists()
    assert "已清运" not in page(case)  # the old result is no longer the result

    actions.transition(None, case, "report_back", note="已全部清运")
    response = answer(case, step="confirm", solved="yes")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CHECKED
    assert AuditEvent.objects.filter(action="case.check", object_id=case.number, username="public").exists()
    assert 'id="confirm-form"' not in page(case)
    assert answer(case, step="confirm", solved="yes").status_code == 422  # not waiting any more


def test_the_reporter_rates_a_closed_case_once(desks, worker):
    case, _ = report(None)
    advance(case, State.CLOSED, timezone.now())
    body = page(case)
    assert 'id="rating-form"' in body
    response = answer(case, step="rate", score="9")
    assert response.status_code == 422 and zh("Give a score from 1 to 5.") in response.content.decode()

    response = Client().post(
        f"/c/{case.public_token}/", {"step": "rate", "score": "4", "comment": "还算及时"}, follow=True
    )
    body = response.content.decode()
    assert zh("Thank you for your rating.") in body and 'id="rated"' in body and 'id="rating-form"' not in body
    case.refresh_from_db()
    assert (case.rating, case.score, case.rating_comment) == (Rating.RATED, 4, "还算及时")
    assert AuditEvent.objects.filter(action="case.rate", object_id=case.number).count() == 1
    assert answer(case, step="rate", score="1").status_code == 422
    case.refresh_from_db()
    assert case.score == 4


def test_after_three_days_the_rating_window_is_over(desks, worker):
    case, _ = report(None, now=timezone.now() - timedelta(days=5))
    advance(case, State.CLOSED, timezone.now() - timedelta(days=4))
    body = page(case)
    assert 'id="rating-over"' in body and 'id="rating-form"' not in body
    response = answer(case, step="rate", score="5")
    assert response.status_code == 422
    assert zh("Ratings are taken within 3 days of closing.") in response.content.decode()
    case.refresh_from_db()
    assert case.rating == Rating.PENDING


def test_answers_are_limited_per_case(desks, worker):
    case, _ = report(None)
    other, _ = report(None)
    for _ in range(TOKEN_LIMIT):
        assert answer(case, step="rate", score="5").status_code == 422
    assert answer(case, step="rate", score="5").status_code == 429
    assert answer(other, step="rate", score="5").status_code == 422


def test_the_public_page_shows_no_staff_names_notes_or_contacts(desks, worker, make_user):
    case, _ = report(None, reporter_name="赵敏", reporter_phone="13812345678")
    desk = desks["community"]
    now = timezone.now()
    actions.transition(desk, case, "accept", now=now, note="内部备注：请联系王科长")
    actions.transition(desk, case, "register", now=now)
    actions.transition(desk, case, "dispatch", now=now, assignee=worker.username, note="派给网格员处理")
    actions.transition(worker, case, "handle", now=now)
    actions.transition(worker, case, "extend", now=now, limit="1d", note="需要协调物业")
    actions.transition(worker, case, "report_back", now=now, note="已清运完毕")
    body = page(case)
    staff = [desk, worker, *desks.values()]
    for text in [u.username for u in staff] + ["测试用户", "内部备注", "王科长", "派给网格员处理", "需要协调物业"]:
        assert text not in body, text
    assert "13812345678" not in body and "赵敏" not in body
    # Dates and neutral labels only: the extension step is internal.
    assert zh("Sent to the unit responsible") in body and zh("Work started") in body
    assert "已清运完毕" in body  # the result is the reporter's to read
    assert body.count("<li><time") == 6  # report, accept, register, dispatch, handle, report back


def test_a_duplicate_shows_the_progress_of_the_case_it_repeats(desks, worker):
    original, _ = report(None, description="原始上报：楼下垃圾")
    advance(original, State.HANDLING, timezone.now())
    repeat, dups = report(None)
    assert dups == [original]
    actions.transition(desks["community"], repeat, "reject", reason="duplicate", duplicate_of=original.number)
    body = page(repeat)
    assert zh("Not taken up.") in body
    assert zh("The same problem had been reported already: its progress is shown below.") in body
    assert 'id="original"' in body and original.number in body and zh("Being handled.") in body
    assert "原始上报" not in body  # the other reporter's words stay theirs
