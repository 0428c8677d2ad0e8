"""Registry imports: all or nothing, every fault listed, idempotent, CSV (UTF-8, BOM, GB18030) and XLSX."""

import csv
import io
from datetime import date

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from anju.core.errors import InvalidField
from anju.core.models import AuditEvent
from anju.core.validators import id_number_check_char, org_code_check_char, uscc_check_char
from anju.registry.actions.imports import import_file
from anju.registry.models import Address, Building, Channel, House, Organization, Person, Residence, Revision, Status
from tests.conftest import OTHER_GRID, OWN_GRID, login, token_client

COMMUNITY = OWN_GRID[:12]
OTHER_COMMUNITY = OTHER_GRID[:12]


def id_number(sequence: int, birth: str = "19850615") -> str:
    first17 = f"370203{birth}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HOUSE_HEADER = ["社区编码", "网格编码", "街路巷", "门牌号", "小区", "楼栋", "单元", "户室", "房屋用途", "面积"]


def house_rows(n: int = 3) -> list[list]:
    return [HOUSE_HEADER] + [
        [COMMUNITY, OWN_GRID, "延安三路", "123号", "鲁邦国际", "3号楼", "2", f"{501 + i}", "" if i else "自住", "89.5"]
        for i in range(n)
    ]


PEOPLE_HEADER = ["姓名", "身份证号", "人员类别", "联系电话", "民族", "社区编码", "街路巷", "门牌号", "小区", "楼栋"]
PEOPLE_HEADER += ["单元", "户室", "关系", "入住日期"]


def people_rows(n: int = 3) -> list[list]:
    return [PEOPLE_HEADER] + [
        ["张三" if i == 0 else f"李{'一二三四五六七八九'[i % 9]}", id_number(i + 1), "流动", f"1381234{i:04d}", "汉"]
        + [COMMUNITY, "延安三路", "123号", "鲁邦国际", "3号楼", "2", f"{501 + i}", "租户", "2024-03-01"]
        for i in range(n)
    ]


@pytest.fixture
def officer(district, make_user):
    """Community officer of the own community: may manage and verify there."""
    return make_user("officer", COMMUNITY)


@pytest.fixture
def houses(officer):
    result = import_file(officer, "houses", "houses.csv", csv_bytes(house_rows(6)))
    assert result.accepted, result.errors
    return result


def test_houses_are_created_with_their_building_and_history(houses, officer):
    assert (houses.rows, houses.created, houses.updated, houses.unchanged) == (6, 6, 0, 0)
    house = House.objects.select_related("address", "building__address").get(address__room="501")
    assert house.channel == Channel.IMPORT and house.status == Status.VERIFIED and house.use == "self"
    assert house.grid.code == OWN_GRID and str(house.area_m2) == "89.50"
    assert house.address.building == "3" and house.address.floor == "5"
    assert Building.objects.count() == 1 and house.building.address.room == ""
    assert Revision.objects.filter(record_type="house", action="import").count() == 6
    event = AuditEvent.objects.filter(action="registry.import").get()
    assert '"created": 6' in event.detail and event.username == officer.username


def test_people_with_their_residence_and_idempotent_reimport(houses, officer):
    content = csv_bytes(people_rows())
    first = import_file(officer, "people", "people.csv", content)
    assert first.accepted, first.errors
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    person = Person.objects.get(id_number=id_number(1))
    assert person.kind == "floating" and person.sex == "male" and person.birth_date == date(1985, 6, 15)
    assert person.grid.code == OWN_GRID and person.channel == Channel.IMPORT
    residence = Residence.objects.get(person=person)
    assert (
        residence.relation == "tenant" and residence.start == date(2024, 3, 1) and residence.house.address.room == "501"
    )
    assert residence.house.use == "self", "a tenant does not change a house's known use"
    assert House.objects.get(address__room="502").use == "rented", "a tenant makes an unknown-use house rented"
    counts = (Person.objects.count(), Residence.objects.count(), Revision.objects.count(), Address.objects.count())

    again = import_file(officer, "people", "people.csv", content)
    assert again.accepted and (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert (
        Person.objects.count(),
        Residence.objects.count(),
        Revision.objects.count(),
        Address.objects.count(),
    ) == counts


def test_a_changed_cell_updates_and_an_empty_one_keeps(houses, officer):
    import_file(officer, "people", "people.csv", csv_bytes(people_rows()))
    rows = people_rows()
    rows[1][3] = "13999999999"  # new phone for row 2
    rows[2][4] = ""  # no ethnicity for row 3: kept
    result = import_file(officer, "people", "people.csv", csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Person.objects.get(id_number=id_number(1)).phone == "13999999999"
    assert Person.objects.get(id_number=id_number(2)).ethnicity == "汉"
    revision = Revision.objects.filter(record_type="person").order_by("-id").first()
    assert revision.changes == {"phone": ["13812340000", "13999999999"]}


def test_a_change_from_a_non_verifier_waits_for_verification(houses, officer, make_user):
    import_file(officer, "people", "people.csv", csv_bytes(people_rows(1)))
    street_admin = make_user("street_admin", COMMUNITY[:9])
    rows = people_rows(1)
    rows[1][3] = "13999999999"
    result = import_file(street_admin, "people", "people.csv", csv_bytes(rows))
    assert result.updated == 1
    person = Person.objects.get(id_number=id_number(1))
    assert person.phone == "13812340000" and person.pending == {"phone": "13999999999"}
    again = import_file(street_admin, "people", "people.csv", csv_bytes(rows))
    assert again.unchanged == 1, "the same proposal twice is no change"


def test_new_records_of_a_non_verifier_are_pending(district, make_user):
    street_admin = make_user("street_admin", COMMUNITY[:9])
    result = import_file(street_admin, "houses", "houses.csv", csv_bytes(house_rows(1)))
    assert result.accepted
    assert House.objects.get().status == Status.PENDING


def test_one_bad_row_refuses_the_file_with_every_fault_listed(houses, officer):
    rows = people_rows(5)
    rows[2][1] = bad_check_digit(rows[2][1])  # row 3
    rows[3][3] = "12345"  # row 4
    rows[4][2] = "外星人"  # row 5
    rows[5][5] = OTHER_COMMUNITY  # row 6
    before = (Person.objects.count(), Residence.objects.count(), Revision.objects.count())
    with translation.override("en"):
        result = import_file(officer, "people", "people.csv", csv_bytes(rows))
    assert not result.accepted
    assert [(e["row"], e["field"]) for e in result.errors] == [
        (3, "id_number"),
        (4, "phone"),
        (5, "kind"),
        (6, "community"),
    ]
    assert "check character" in result.errors[0]["message"]
    assert "outside your area" in result.errors[3]["message"]
    assert (Person.objects.count(), Residence.objects.count(), Revision.objects.count()) == before
    assert AuditEvent.objects.filter(action="registry.import", result="refused").count() == 1


def test_the_same_record_twice_in_a_file_is_a_fault(houses, officer):
    rows = people_rows(2)
    rows.append(list(rows[1]))
    result = import_file(officer, "people", "people.csv", csv_bytes(rows))
    assert [(e["row"], e["field"]) for e in result.errors] == [(4, "id_number")]
    assert "第 2 行" in result.errors[0]["message"]  # messages are in the site's language


def test_a_person_needs_a_registered_house(district, officer):
    result = import_file(officer, "people", "people.csv", csv_bytes(people_rows(1)))
    assert result.errors == [{"row": 2, "field": "room", "message": result.errors[0]["message"]}]
    assert Person.objects.count() == 0


def test_a_person_without_a_house_is_filed_in_the_grid(district, officer):
    rows = [["姓名", "身份证号", "社区编码", "网格编码"], ["王五", id_number(7), COMMUNITY, OWN_GRID]]
    result = import_file(officer, "people", "p.csv", csv_bytes(rows))
    assert result.accepted, result.errors
    person = Person.objects.get()
    assert person.grid.code == OWN_GRID and person.kind == "registered" and person.hukou_place


def test_unknown_and_missing_columns_are_named(district, officer):
    rows = [["姓名", "身份证号", "爱好"], ["张三", id_number(1), "钓鱼"]]
    result = import_file(officer, "people", "p.csv", csv_bytes(rows))
    assert {(e["row"], e["field"]) for e in result.errors} == {(1, "爱好"), (1, "community")}
    assert "爱好" in result.errors[0]["message"] or "爱好" in result.errors[1]["message"]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_encodings(houses, officer, encoding):
    result = import_file(officer, "people", "people.csv", csv_bytes(people_rows(), encoding))
    assert result.accepted and result.created == 3, result.errors
    assert Person.objects.filter(name="张三").exists()


def test_xlsx_with_english_headers_dates_and_empty_rows(houses, officer):
    rows = [
        ["name", "id_number", "kind", "phone", "community", "road", "door_number", "estate", "building", "unit"]
        + ["room", "relation", "start"],
        ["张三", id_number(1), "floating", 13812340000, COMMUNITY, "延安三路", "123", "鲁邦国际", "3", "2", 501]
        + ["tenant", date(2024, 3, 1)],
        [None] * 13,
        ["李四", id_number(2), "registered", None, COMMUNITY, "延安三路", "123", "鲁邦国际", "3", "2", 502]
        + ["family", "2024-03-02"],
    ]
    result = import_file(officer, "people", "people.xlsx", xlsx_bytes(rows))
    assert result.accepted and result.rows == 2, result.errors
    assert Person.objects.get(name="张三").phone == "13812340000"
    assert Residence.objects.get(person__name="李四").relation == "family"


def test_an_id_number_stored_as_an_excel_number_is_a_fault(district, officer):
    rows = [["姓名", "身份证号", "社区编码"], ["张三", int(id_number(1)[:17] + "1"), COMMUNITY]]
    result = import_file(officer, "people", "p.xlsx", xlsx_bytes(rows))
    assert result.errors[0]["row"] == 2 and result.errors[0]["field"] == "id_number"
    assert "文本" in result.errors[0]["message"]


def test_unreadable_files_and_kinds(district, officer):
    with pytest.raises(InvalidField) as exc:
        import_file(officer, "people", "p.xlsx", b"not a zip")
    assert exc.value.field == "file"
    with pytest.raises(InvalidField) as exc:
        import_file(officer, "people", "p.pdf", b"%PDF")
    assert exc.value.field == "file"
    with pytest.raises(InvalidField) as exc:
        import_file(officer, "aliens", "p.csv", b"a,b")
    assert exc.value.field == "kind"


def test_residences_match_by_person_house_and_start(houses, officer):
    import_file(
        officer, "people", "p.csv", csv_bytes([["姓名", "身份证号", "社区编码"], ["张三", id_number(1), COMMUNITY]])
    )
    header = [
        "身份证号",
        "社区编码",
        "街路巷",
        "门牌号",
        "小区",
        "楼栋",
        "单元",
        "户室",
        "关系",
        "入住日期",
        "迁出日期",
    ]
    row = [id_number(1), COMMUNITY, "延安三路", "123", "鲁邦国际", "3", "2", "502", "房主", "2020-01-01", ""]
    first = import_file(officer, "residences", "r.csv", csv_bytes([header, row]))
    assert first.accepted and first.created == 1, first.errors
    person = Person.objects.get()
    assert person.grid.code == OWN_GRID, "the person is filed where they live"
    assert import_file(officer, "residences", "r.csv", csv_bytes([header, row])).unchanged == 1
    moved_out = import_file(officer, "residences", "r.csv", csv_bytes([header, [*row[:10], "2024-01-01"]]))
    assert moved_out.updated == 1 and Residence.objects.get().end == date(2024, 1, 1)
    unknown = import_file(officer, "residences", "r.csv", csv_bytes([header, [id_number(9), *row[1:]]]))
    assert unknown.errors[0]["field"] == "id_number"


def test_organizations_match_by_credit_code_else_name_and_address(district, officer):
    header = ["单位名称", "统一社会信用代码", "单位类型", "法定代表人", "联系电话", "社区编码", "街路巷", "门牌号"]
    uscc = "91370203" + "MA3C4XJ8" + org_code_check_char("MA3C4XJ8")
    uscc += uscc_check_char(uscc)
    rows = [header, ["鲁邦超市", uscc, "商铺", "王伟", "0532-88886666", COMMUNITY, "延安三路", "125"]]
    rows.append(["老王饭店", "", "餐馆", "", "", COMMUNITY, "延安三路", "127"])
    first = import_file(officer, "organizations", "o.csv", csv_bytes(rows))
    assert first.accepted and first.created == 2, first.errors
    assert Organization.objects.get(name="老王饭店").kind == "restaurant"
    again = import_file(officer, "organizations", "o.csv", csv_bytes(rows))
    assert (again.created, again.unchanged) == (0, 2)
    # The restaurant's credit code, found later: matched by name and address.
    rows[2][1] = "91370203" + "MA3C4XJ9" + org_code_check_char("MA3C4XJ9")
    rows[2][1] += uscc_check_char(rows[2][1])
    coded = import_file(officer, "organizations", "o.csv", csv_bytes(rows))
    assert (coded.created, coded.updated, coded.unchanged) == (0, 1, 1), coded.errors
    assert Organization.objects.get(name="老王饭店").uscc == rows[2][1]
    assert Organization.objects.count() == 2


# --- Through HTTP -------------------------------------------------------------------------------------


def upload(client, headers, kind, name, content):
    return client.post("/api/v1/imports", {"kind": kind, "file": _named(name, content)}, **headers)


def _named(name: str, content: bytes):
    f = io.BytesIO(content)
    f.name = name
    return f


def test_api_accepts_and_refuses(houses, officer):
    client, headers = token_client(officer)
    ok = upload(client, headers, "people", "people.csv", csv_bytes(people_rows()))
    assert ok.status_code == 200, ok.content
    assert ok.json() | {"errors": []} == {
        "accepted": True,
        "kind": "people",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }
    rows = people_rows(2)
    rows[2][1] = bad_check_digit(rows[2][1])
    refused = upload(client, headers, "people", "people.csv", csv_bytes(rows))
    assert refused.status_code == 422
    assert refused.json()["accepted"] is False and refused.json()["errors"][0]["row"] == 3
    bad_kind = upload(client, headers, "aliens", "people.csv", csv_bytes(rows))
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "kind"


def test_api_permissions(district, make_user):
    worker = make_user("grid_worker", OWN_GRID)
    client, headers = token_client(worker)
    assert upload(client, headers, "houses", "h.csv", csv_bytes(house_rows(1))).status_code == 403
    nobody = make_user("volunteer", OWN_GRID)
    client, headers = token_client(nobody)
    assert upload(client, headers, "houses", "h.csv", csv_bytes(house_rows(1))).status_code == 404
    assert House.objects.count() == 0


def test_import_page_shows_the_fault_table_and_the_csv_link(houses, officer):
    client = login(officer)
    assert client.get("/registry/import/").status_code == 200
    rows = people_rows(2)
    rows[2][3] = "12345"
    page = client.post("/registry/import/", {"kind": "people", "file": _named("p.csv", csv_bytes(rows))})
    body = page.content.decode()
    assert page.status_code == 200 and 'id="import-errors"' in body and "联系电话" in body
    assert "data:text/csv;charset=utf-8;base64," in body
    page = client.post("/registry/import/", {"kind": "people", "file": _named("p.csv", csv_bytes(people_rows(2)))})
    assert 'id="import-result"' in page.content.decode() and Person.objects.count() == 2


def test_import_template_has_the_chinese_headers(district, officer):
    response = login(officer).get("/registry/import/template/people.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    headers = [c.value for c in next(sheet.iter_rows())]
    assert headers[:3] == ["姓名", "身份证号", "人员类别"] and "入住日期" in headers
    # The template reads back as a file with no rows.
    result = import_file(
        officer,
        "people",
        "t.xlsx",
        b"".join(login(officer).get("/registry/import/template/people.xlsx").streaming_content),
    )
    assert result.accepted and result.rows == 0


def test_import_pages_permissions(district, make_user):
    assert login(make_user("grid_worker", OWN_GRID)).get("/registry/import/").status_code == 403
    assert login(make_user("volunteer", OWN_GRID)).get("/registry/import/").status_code == 404


def test_every_faulty_cell_of_a_row_is_listed(houses, officer):
    rows = people_rows(2)
    bad_id = rows[1][1][:17] + ("0" if rows[1][1][-1] != "0" else "1")
    rows[1][1], rows[1][3], rows[1][2] = bad_id, "1381234", "火星人"
    result = import_file(officer, "people", "people.csv", csv_bytes(rows))
    assert not result.accepted
    assert sorted((e["row"], e["field"]) for e in result.errors) == [(2, "id_number"), (2, "kind"), (2, "phone")]
    assert Person.objects.count() == 0
