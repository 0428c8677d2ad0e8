"""The case pages through the real HTTP stack, signed in through the login page: the inbox and its tabs,
reporting, a case's page and its steps from report to rating, refusals shown as messages, summonses,
ratings, photos served only to those who may read the case, and the supervision board."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from anju.cases import actions
from anju.cases.models import Case, CasePhoto, State, Summons, SummonsState, Supervision
from anju.cases.sweeper import sweep
from anju.core.roles import Role
from tests.cases.conftest import DISTRICT, OWN_COMMUNITY, OWN_POINT, at, report
from tests.conftest import OTHER_GRID, OWN_GRID, login
from tests.registry.test_pages import element, flashed, html, text, zh

pytestmark = pytest.mark.django_db

OTHER_POINT = {"lng": 120.315, "lat": 36.085}  # inside OTHER_GRID
URBAN = f"urban_management-{DISTRICT}"


def png(rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real one-pixel PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + bytes(rgb)))
        + chunk(b"IEND", b"")
    )


def photo(name: str = "scene.png", rgb=(200, 40, 40)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(rgb), content_type="image/png")


@pytest.fixture
def outsider(make_user):
    """A grid worker of the other street: reads nothing of OWN_GRID's cases."""
    return make_user(Role.GRID_WORKER, OTHER_GRID)


def page_of(case: Case) -> str:
    return reverse("case_detail", args=[case.number])


def act(client: Client, case: Case, action: str, **fields):
    return client.post(reverse("case_act", args=[case.number]), {"action": action, **fields})


def numbers(response) -> list[str]:
    """Case numbers of the list's rows, in order."""
    return [c.number for c in response.context["page"]]


def buttons(response) -> set[str]:
    """The steps offered on a case's page."""
    return {f.step for f in response.context["action_forms"]}


def refreshed(case: Case) -> Case:
    case.refresh_from_db()
    return case


# --- Who may open the pages ------------------------------------------------------------------------


def test_pages_need_a_login_and_a_reader(district, make_user, worker):
    case, _ = report(worker)
    anonymous = Client()
    for url in ("/cases/", "/cases/new/", "/cases/supervision/", page_of(case)):
        r = anonymous.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url
    auditor = login(make_user(Role.AUDITOR, DISTRICT))
    for url in ("/cases/", "/cases/new/", "/cases/supervision/", page_of(case)):
        assert auditor.get(url).status_code == 404, url


def test_nav_links_follow_the_permission(district, make_user, worker):
    home = html(login(worker).get("/"))
    assert 'href="/cases/"' in home and 'href="/cases/supervision/"' in home
    home = html(login(make_user(Role.AUDITOR, DISTRICT)).get("/"))
    assert 'href="/cases/"' not in home and 'href="/cases/supervision/"' not in home


def test_a_case_outside_reach_is_404_everywhere(desks, worker, outsider, department_staff):
    case, _ = report(worker)
    actions.transition(desks["community"], case, "accept")
    client = login(outsider)
    assert client.get(page_of(case)).status_code == 404
    assert act(client, case, "register").status_code == 404
    assert client.post(reverse("case_summon", args=[case.number]), {"units": [URBAN]}).status_code == 404
    assert client.post(reverse("case_rate", args=[case.number]), {"score": "5"}).status_code == 404
    assert refreshed(case).state == State.ACCEPTED
    assert case.number not in numbers(client.get("/cases/", {"tab": "all"}))
    # The district's department staff read the whole district.
    assert login(department_staff).get(page_of(case)).status_code == 200


# --- The list --------------------------------------------------------------------------------------


def test_the_list_tabs(desks, worker, outsider):
    late, _ = report(worker, now=at(2026, 11, 2, 10))  # its accept limit passed long ago
    fresh, _ = report(worker, category="0101", description="楼道可疑人员")
    theirs, _ = actions.report_case(outsider, {"category": "0601", "description": "x", **OTHER_POINT}, "field")

    desk = login(desks["community"])
    r = desk.get("/cases/")
    assert r.status_code == 200 and r.context["tab"] == "mine"
    # The desk leads the community centre: unassigned cases of its centre are its work, the most urgent first.
    assert numbers(r) == [late.number, fresh.number]
    assert numbers(desk.get("/cases/", {"tab": "overdue"})) == [late.number]
    assert set(numbers(desk.get("/cases/", {"tab": "all"}))) == {late.number, fresh.number}
    row = element(r, "table", "cases")
    assert "badge-red" in row and "网格11001" in row and late.category.name in row

    # Open excludes what is finished; the state filter overrides the tab's.
    actions.transition(desks["community"], fresh, "reject", note="无效", reason="invalid")
    assert numbers(desk.get("/cases/", {"tab": "open"})) == [late.number]
    assert numbers(desk.get("/cases/", {"tab": "open", "state": "rejected"})) == [fresh.number]
    assert theirs.number not in numbers(desk.get("/cases/", {"tab": "all"}))
    assert numbers(login(outsider).get("/cases/", {"tab": "all"})) == [theirs.number]


def test_the_list_filters(desks, worker):
    litter, _ = report(worker)
    noise, _ = report(worker, category="0401", description="夜间噪声", lng=120.315, lat=36.055)  # the second grid
    client = login(desks["community"])

    def shown(**query):
        return set(numbers(client.get("/cases/", {"tab": "all", **query})))

    assert shown(category="0601") == {litter.number}
    assert shown(category="04") == {noise.number}  # a top category takes its sub-categories
    assert shown(under=OWN_GRID) == {litter.number}
    assert shown(under=OWN_COMMUNITY) == {litter.number, noise.number}
    assert shown(unit=f"community-{OWN_COMMUNITY}") == {litter.number, noise.number}
    assert shown(supervision="red") == set()
    # A place outside the desk's area is refused on the form, and the rest of the list stays.
    r = client.get("/cases/", {"tab": "all", "under": "370203006"})
    assert r.status_code == 200 and set(numbers(r)) == {litter.number, noise.number}
    assert zh("No such street, community or grid in your area.") in html(r)


def test_the_list_pages_by_50(desks, worker):
    for _ in range(51):
        report(worker, now=at(2026, 11, 20, 10))
    client = login(desks["community"])
    first = client.get("/cases/", {"tab": "all"})
    assert len(numbers(first)) == 50 and first.context["page"].paginator.num_pages == 2
    second = client.get("/cases/", {"tab": "all", "page": 2})
    assert len(numbers(second)) == 1 and set(numbers(second)).isdisjoint(numbers(first))


# --- Reporting -------------------------------------------------------------------------------------


def test_a_grid_worker_reports_with_a_point_and_photos(desks, worker):
    client = login(worker)
    r = client.get("/cases/new/")
    assert r.status_code == 200
    form = element(r, "form", "report-form")
    assert "multiple" in form and 'capture="environment"' in form and 'data-mode="pick"' in html(r)
    assert '<optgroup label="环境卫生">' in form  # grouped under their parent
    r = client.post(
        "/cases/new/",
        {
            "category": "0601",
            "description": "小区门口垃圾堆放",
            "lng": str(OWN_POINT["lng"]),
            "lat": str(OWN_POINT["lat"]),
            "channel": "field",
            "photos": [photo("a.png"), photo("b.png", (0, 90, 200))],
        },
    )
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == page_of(case)
    assert (case.channel, case.grid.code, case.reporter) == ("field", OWN_GRID, worker)
    assert case.photos.count() == 2
    page = client.get(page_of(case))
    assert zh("Case %(number)s reported.") % {"number": case.number} in flashed(page)
    assert len(element(page, "div", "photos").split("<img")) == 3


def test_the_report_form_names_what_is_wrong(desks, worker):
    client = login(worker)
    r = client.post("/cases/new/", {"category": "0601", "description": "没有地点", "channel": "field"})
    assert r.status_code == 422 and not Case.objects.exists()
    assert r.context["form"].errors["lng"] == [zh("Give the place: a point on the map or an address.")]
    r = client.post(
        "/cases/new/",
        {"category": "06", "description": "x", "channel": "field", **OWN_POINT},
    )
    assert r.status_code == 422 and "category" in r.context["form"].errors  # a top category is no choice
    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    r = client.post(
        "/cases/new/", {"category": "0601", "description": "x", "channel": "field", "photos": [bad], **OWN_POINT}
    )
    assert r.status_code == 422 and r.context["form"].errors["photos"] == [zh("The photo must be a JPEG or PNG image.")]
    assert not Case.objects.exists()


def test_a_hotline_call_keeps_the_caller_masked_for_others(desks, worker, make_user):
    clerk = make_user(Role.DISPATCHER, DISTRICT)
    client = login(clerk)
    assert client.get("/cases/new/").context["form"]["channel"].value() == "hotline"
    r = client.post(
        "/cases/new/",
        {
            "category": "0601",
            "description": "来电反映垃圾",
            "address": "",
            "channel": "hotline",
            "reporter_name": "刘洋",
            "reporter_phone": "13800001111",
            **OWN_POINT,
        },
    )
    case = Case.objects.get()
    assert r.status_code == 302 and case.channel == "hotline" and case.reporter_phone == "13800001111"
    assert text(element(login(desks["community"]).get(page_of(case)), "dd", "reporter")) == "刘洋 13800001111"
    officer = make_user(Role.OFFICER, OWN_COMMUNITY)
    shown = login(officer).get(page_of(case))
    assert text(element(shown, "dd", "reporter")) == "刘* 138****1111"
    assert "13800001111" not in html(shown)


def test_possible_duplicates_are_shown_and_merged(desks, worker):
    first, _ = report(worker)
    client = login(worker)
    r = client.post("/cases/new/", {"category": "0601", "description": "又是垃圾", "channel": "field", **OWN_POINT})
    second = Case.objects.exclude(pk=first.pk).get()
    page = client.get(r["Location"])
    notice = zh("It may repeat %(count)d open case(s) nearby; see “Possible duplicates”.") % {"count": 1}
    assert notice in flashed(page)
    assert page_of(first) in element(page, "div", "duplicates")
    assert "data-merge" not in html(page)  # the reporter may not reject

    desk = login(desks["community"])
    page = desk.get(page_of(second))
    assert f'data-merge="{first.number}"' in html(page)
    r = act(desk, second, "reject", reason="duplicate", duplicate_of=first.number)
    assert r.status_code == 302
    second = refreshed(second)
    assert (second.state, second.duplicate_of) == (State.REJECTED, first)
    assert second.number in text(element(desk.get(page_of(first)), "div", "case-facts"))


# --- A case's page: the loop -----------------------------------------------------------------------


def test_the_loop_through_the_pages(desks, worker):
    case, _ = report(worker)
    desk, field = login(desks["community"]), login(worker)

    page = field.get(page_of(case))
    assert page.status_code == 200 and buttons(page) == set()  # the reporter waits for the desk
    assert zh("The desk of %(place)s (%(level)s level)") % {"place": "贮水山社区居委会", "level": zh("Community")} in (
        text(element(page, "dd", "who-acts"))
    )
    page = desk.get(page_of(case))
    assert {"accept", "reject", "escalate"} <= buttons(page)
    assert '<details class="act" id="act-accept" open>' in html(page)  # the next step is open

    for step, fields in [
        ("accept", {}),
        ("register", {}),
        ("dispatch", {"unit": f"community-{OWN_COMMUNITY}", "assignee": worker.username, "note": "请尽快处理"}),
    ]:
        r = act(desk, case, step, **fields)
        assert r.status_code == 302 and r["Location"] == page_of(case), (step, flashed(desk.get(page_of(case))))
    case = refreshed(case)
    assert (case.state, case.assignee) == (State.DISPATCHED, worker)

    page = field.get(page_of(case))
    assert "handle" in buttons(page) and text(element(page, "dd", "who-acts")).endswith(str(worker))
    assert act(field, case, "handle").status_code == 302
    r = field.post(
        reverse("case_act", args=[case.number]),
        {"action": "report_back", "note": "已清运完毕", "photos": [photo("after.png", (20, 160, 60))]},
    )
    assert r.status_code == 302
    assert act(field, case, "check", note="现场已核实").status_code == 302
    page = desk.get(page_of(case))
    assert buttons(page) >= {"close"}
    assert act(desk, case, "close").status_code == 302
    case = refreshed(case)
    assert (case.state, case.rating) == (State.CLOSED, "pending")

    # The desk may record a rating taken by phone; the reporter rates it themselves.
    assert zh("Record the reporter's rating (taken by phone)") in element(desk.get(page_of(case)), "div", "actions")
    page = field.get(page_of(case))
    assert zh("Rate the handling") in element(page, "div", "actions")
    r = field.post(reverse("case_rate", args=[case.number]), {"score": "5", "comment": "很及时"})
    assert r.status_code == 302
    case = refreshed(case)
    assert (case.rating, case.score) == ("rated", 5)

    page = field.get(page_of(case))
    timeline = element(page, "ol", "timeline")
    assert [row["event"].action for row in page.context["timeline"]] == [
        "report",
        "accept",
        "register",
        "dispatch",
        "handle",
        "report_back",
        "check",
        "close",
        "rate",
    ]
    for label in ("Accept", "Register", "Dispatch", "Start handling", "Report back", "Check: done", "Close"):
        assert zh(label) in timeline
    assert zh("Rated") in timeline and "已清运完毕" in timeline and "很及时" in timeline
    assert "贮水山社区网格服务站" in timeline  # the dispatch names the unit
    assert CasePhoto.objects.get(case=case).event.action == "report_back"
    assert "<img" in timeline
    assert zh("Nobody: the case is finished") == text(element(page, "dd", "who-acts"))


def test_refusals_are_shown_as_messages(desks, worker):
    case, _ = report(worker)
    desk, field = login(desks["community"]), login(worker)

    r = act(desk, case, "close")
    assert r.status_code == 409
    assert flashed(r) == [
        zh("“%(action)s” is not possible while the case is “%(state)s”.")
        % {"action": zh("Close"), "state": zh("Reported")}
    ]
    assert 'id="case-facts"' in html(r)  # the case's page, not an error page

    r = act(field, case, "accept")
    assert r.status_code == 403 and flashed(r) == [zh("You may not take this step on this case.")]

    r = act(desk, case, "reject", reason="duplicate", duplicate_of="20000101000000")
    assert r.status_code == 422 and flashed(r) == [zh("Name the case this one repeats.")]

    r = act(desk, case, "fly")
    assert r.status_code == 422 and flashed(r) == [zh("Unknown action.")]

    for step in ("accept", "register"):
        act(desk, case, step)
    act(desk, case, "dispatch", unit=f"community-{OWN_COMMUNITY}", assignee=worker.username)
    r = act(field, case, "extend", limit="soon", note="材料未到")
    assert r.status_code == 422
    assert flashed(r)[-1] == zh("Give the extra time as working hours or days, e.g. 8h or 2d.")
    # A required note left empty: refused by the form, its input kept on the page.
    act(field, case, "handle")
    r = act(field, case, "report_back")
    assert r.status_code == 422 and zh("Note") in flashed(r)[-1]
    assert r.context["action_forms"][0].is_bound
    bad = SimpleUploadedFile("x.png", b"GIF89a....", content_type="image/png")
    r = field.post(reverse("case_act", args=[case.number]), {"action": "report_back", "note": "好了", "photos": [bad]})
    assert r.status_code == 422 and zh("The photo must be a JPEG or PNG image.") in flashed(r)[-1]
    assert not CasePhoto.objects.filter(case=case).exists()
    r = field.post(reverse("case_rate", args=[case.number]), {"score": "4"})
    assert r.status_code == 409 and flashed(r)[-1] == zh("This case is not waiting for a rating.")
    assert refreshed(case).state == State.HANDLING


def test_dispatch_to_another_unit_and_an_assignee_from_it(desks, worker, department_staff):
    case, _ = report(worker)
    desk = login(desks["community"])
    act(desk, case, "accept")
    act(desk, case, "register")
    page = desk.get(page_of(case))
    dispatch = next(f for f in page.context["action_forms"] if f.step == "dispatch")
    assert URBAN in dict(dispatch.fields["unit"].choices)
    assert worker.username in dict(dispatch.fields["assignee"].choices)
    # The assignee must belong to the unit the case goes to.
    r = act(desk, case, "dispatch", unit=URBAN, assignee=worker.username)
    assert r.status_code == 422 and flashed(r)[-1] == zh("The assignee must be a member of the unit.")
    assert act(desk, case, "dispatch", unit=URBAN).status_code == 302
    case = refreshed(case)
    assert (case.state, case.unit.code, case.assignee) == (State.DISPATCHED, URBAN, None)
    staff = login(department_staff)
    assert case.number in numbers(staff.get("/cases/"))  # "my work" of the department
    assert act(staff, case, "handle").status_code == 302
    assert refreshed(case).assignee == department_staff


def test_more_time_is_asked_for_and_decided(desks, worker):
    case, _ = report(worker)
    desk, field = login(desks["community"]), login(worker)
    for step in ("accept", "register"):
        act(desk, case, step)
    act(desk, case, "dispatch", assignee=worker.username)
    act(field, case, "handle")
    due = refreshed(case).due_at
    assert act(field, case, "extend", limit="2d", note="等待物业配合").status_code == 302
    page = desk.get(page_of(case))
    assert "approve_extension" in buttons(page) and "extend" not in buttons(page)
    assert "2d · 等待物业配合" in text(element(page, "div", "case-facts"))
    assert act(desk, case, "approve_extension", approve="no", note="请按期完成").status_code == 302
    case = refreshed(case)
    assert (case.extension_requested, case.due_at, case.extension_count) == ("", due, 0)
    act(field, case, "extend", limit="1d", note="材料未到")
    assert act(desk, case, "approve_extension", approve="yes").status_code == 302
    case = refreshed(case)
    assert case.due_at > due and case.extension_count == 1
    timeline = element(field.get(page_of(case)), "ol", "timeline")
    assert zh("refused") in timeline and zh("approved") in timeline


# --- Summonses ---------------------------------------------------------------------------------------


def test_summonses_through_the_pages(desks, worker, department_staff):
    case, _ = report(worker)
    desk, staff = login(desks["community"]), login(department_staff)
    r = desk.post(reverse("case_summon", args=[case.number]), {"units": [URBAN], "within": "2h", "note": "清运车辆"})
    assert r.status_code == 302
    summons = Summons.objects.get(case=case)
    assert summons.unit.code == URBAN

    r = desk.post(reverse("case_summon", args=[case.number]), {"units": [URBAN], "within": "2h"})
    assert r.status_code == 409 and flashed(r)[-1] == zh("That department is already summoned on this case.")
    r = desk.post(reverse("case_summon", args=[case.number]), {"units": [URBAN], "within": "soon"})
    assert r.status_code == 422

    waiting = element(staff.get("/cases/"), "div", "my-summonses")
    assert page_of(case) in waiting
    page = staff.get(page_of(case))
    row = element(page, "tr", f"summons-{summons.pk}")
    assert 'data-summons="report-in"' in row and 'data-summons="done"' not in row
    assert "data-summons" not in element(desk.get(page_of(case)), "div", "summonses")  # only for the department

    base = f"/cases/{case.number}/summons/{summons.pk}"
    assert staff.post(f"{base}/report-in/").status_code == 302
    summons.refresh_from_db()
    assert summons.state == SummonsState.REPORTED_IN and summons.reported_in_by == department_staff
    r = staff.post(f"{base}/done/", {"note": ""})
    assert r.status_code == 422 and flashed(r)[-1] == zh("Say what was done.")
    assert staff.post(f"{base}/done/", {"note": "已派车清运"}).status_code == 302
    summons.refresh_from_db()
    assert summons.state == SummonsState.DONE
    timeline = element(staff.get(page_of(case)), "ol", "timeline")
    assert zh("Departments summoned") in timeline and zh("Department reported in") in timeline
    assert zh("Department finished its part") in timeline and "已派车清运" in timeline
    assert reverse("summons_done", args=[case.number, summons.pk]) == f"{base}/done/"


# --- Photos ----------------------------------------------------------------------------------------


def test_photos_are_served_only_to_those_who_may_read_the_case(desks, worker, outsider):
    case, _ = report(worker)
    image = png((10, 20, 30))
    actions.transition(desks["community"], case, "accept")
    other, _ = report(worker, category="0101", description="另一件")
    CasePhoto.objects.create(case=case, file=SimpleUploadedFile("p.png", image))
    elsewhere = CasePhoto.objects.create(case=other, file=SimpleUploadedFile("q.png", png()))
    mine = CasePhoto.objects.get(case=case)
    url = reverse("case_photo", args=[case.number, mine.pk])
    assert url == f"/cases/{case.number}/photos/{mine.pk}/"

    for reader in (worker, desks["community"], desks["district"]):
        r = login(reader).get(url)
        assert r.status_code == 200 and r["Content-Type"] == "image/png"
        assert b"".join(r.streaming_content) == image
        assert r["Cache-Control"].startswith("private")
    assert login(outsider).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    # A photo is reached only under its own case's number.
    assert login(worker).get(reverse("case_photo", args=[case.number, elsewhere.pk])).status_code == 404


def test_a_steps_photos_show_on_its_line_of_the_timeline(desks, worker):
    case, _ = report(worker)
    event = actions.transition(desks["community"], case, "accept")
    photo = CasePhoto.objects.create(case=case, event=event, file=SimpleUploadedFile("p.png", png()))
    page = login(desks["community"]).get(f"/cases/{case.number}/").content.decode()
    line = page[page.index('data-action="accept"') :]
    line = line[: line.index("</li>")]
    url = reverse("case_photo", args=[case.number, photo.pk])
    assert f'href="{url}"' in line and f'src="{url}"' in line


# --- Supervision -----------------------------------------------------------------------------------


def test_the_supervision_board(desks, worker, outsider, department_staff):
    monday = at(2026, 11, 16, 10)
    red, _ = report(worker, now=monday)
    actions.transition(desks["community"], red, "escalate", now=monday, note="需要街道协调")
    actions.transition(desks["street"], red, "escalate", now=monday, note="需要区级协调")
    # Accept within 2 working hours: yellow from 13:36 (after the lunch break), red at 14:00.
    yellow, _ = report(worker, description="垃圾桶满溢", now=at(2026, 11, 16, 10, 30), lng=120.315, lat=36.055)
    actions.summon(desks["community"], yellow, [URBAN], within="1h", now=at(2026, 11, 16, 10, 30))
    done = sweep(at(2026, 11, 16, 13, 45))
    assert (done["red"], done["yellow"], done["escalated"], done["summons_red"]) == (1, 1, 0, 1)
    assert (refreshed(red).supervision, refreshed(yellow).supervision) == (Supervision.RED, Supervision.YELLOW)

    r = login(desks["district"]).get("/cases/supervision/")
    assert r.status_code == 200
    assert [c.number for c in r.context["red"]] == [red.number]
    assert [c.number for c in r.context["yellow"]] == [yellow.number]
    assert red.number in element(r, "div", "red") and yellow.number in element(r, "div", "yellow")
    assert html(r).index('id="red"') < html(r).index('id="yellow"')
    assert zh("District") in element(r, "div", "red")
    missed = element(r, "div", "missed")
    assert yellow.number in missed and "市北区综合行政执法局" in missed

    assert "badge-red" in element(login(worker).get("/cases/", {"tab": "all"}), "table", "cases")
    empty = login(outsider).get("/cases/supervision/")
    assert empty.context["red"] == [] and empty.context["yellow"] == [] and list(empty.context["missed"]) == []
